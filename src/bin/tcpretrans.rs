fn main() {
    ironscope::runtime::tool_main(&ironscope::tools::tcpretrans::TOOL)
}
