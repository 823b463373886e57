//! The tool registry. Every `src/tools/<tool>.rs` is picked up by build.rs
//! and must export `pub const TOOL: Tool`; nothing here lists them by hand.

use std::ffi::OsString;

/// One tool as the multicall binary and `--list` see it.
pub struct Tool {
    pub name: &'static str,
    /// One line for `ironscope --list`.
    pub about: &'static str,
    /// Other names the tool answers to (symlinks such as ext4slower).
    pub aliases: &'static [&'static str],
    pub run: fn(&Invocation) -> anyhow::Result<()>,
}

/// How a tool was called: `called_as` is the name it was run under (an alias
/// picks a mode), `args` its arguments with `args[0]` that name.
pub struct Invocation {
    pub called_as: String,
    pub args: Vec<OsString>,
}

include!(concat!(env!("OUT_DIR"), "/tools_registry.rs"));

/// The tool a name (or alias) refers to.
pub fn find(name: &str) -> Option<&'static Tool> {
    ALL.iter()
        .copied()
        .find(|t| t.name == name || t.aliases.contains(&name))
}
