//! The multicall binary: `ironscope <tool> ARGS`, or a symlink named after a tool.
fn main() {
    ironscope::runtime::multicall_main()
}
