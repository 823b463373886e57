fn main() {
    ironscope::runtime::tool_main(&ironscope::tools::cachestat::TOOL)
}
