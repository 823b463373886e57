fn main() {
    ironscope::runtime::tool_main("profile")
}
