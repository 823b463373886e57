//! The user side every tool shares. A tool's flow:
//! `cli::parse` its Args (with `cli::Common` flattened in) -> `Ctx::new`
//! (privileges, BTF, signals, output) -> `Ctx::load` (hook plan, rodata,
//! load, attach) -> `Ctx::run_ring` or `Ctx::run_interval` -> exit.

pub mod attach;
pub mod blk;
pub mod cli;
pub mod ctx;
pub mod errno;
pub mod error;
pub mod escape;
pub mod events;
pub mod fentry;
pub mod fsops;
pub mod hist;
pub mod kernel;
pub mod ktime;
pub mod maps;
pub mod missed;
pub mod net;
pub mod output;
pub mod pattern;
pub mod perf;
pub mod record;
pub mod summary;
pub mod syms;
pub mod syscalls;
pub mod uprobes;
pub mod users;

pub use ctx::Ctx;

use std::ffi::OsString;
use std::path::Path;

use crate::tools::{self, Invocation, Tool};

/// Entry point of `src/bin/<tool>.rs`. It names the tool itself rather
/// than looking it up, so a per-tool binary links that tool alone.
pub fn tool_main(tool: &'static Tool) -> ! {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // An alias symlink to a tool's binary (ext4slower -> fsslower) keeps its name.
    let called_as = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .filter(|n| *n == tool.name || tool.aliases.contains(n))
        .unwrap_or(tool.name)
        .to_string();
    if args.is_empty() {
        args.push(OsString::from(&called_as));
    }
    run(tool, called_as, args)
}

/// Entry point of the multicall `ironscope` binary.
pub fn multicall_main() -> ! {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("ironscope")
        .to_string();
    if let Some(tool) = tools::find(&argv0) {
        run(tool, argv0, args)
    }
    args.remove(0);
    let first = args.first().and_then(|a| a.to_str()).map(str::to_string);
    match first.as_deref() {
        None | Some("-h") | Some("--help") | Some("help") => {
            print_usage();
            std::process::exit(if first.is_none() { 2 } else { 0 })
        }
        Some("--list") | Some("-l") | Some("list") => {
            for t in tools::ALL {
                println!("{:<14} {}", t.name, t.about);
                for a in t.aliases {
                    println!("{a:<14} alias of {}", t.name);
                }
            }
            std::process::exit(0)
        }
        Some("-V") | Some("--version") => {
            println!("ironscope {}", env!("CARGO_PKG_VERSION"));
            std::process::exit(0)
        }
        Some(name) => match tools::find(name) {
            Some(tool) => run(tool, name.to_string(), args),
            None => {
                eprintln!("ironscope: no tool named '{name}' (ironscope --list shows them)");
                std::process::exit(2)
            }
        },
    }
}

fn print_usage() {
    println!(
        "ironscope {}: bcc's tracing tools as one static binary\n\n\
         Usage: ironscope <TOOL> [ARGS...]   (or call it through a symlink named TOOL)\n       \
         ironscope --list\n\nTools:",
        env!("CARGO_PKG_VERSION")
    );
    for t in tools::ALL {
        println!("  {:<14} {}", t.name, t.about);
    }
}

fn run(tool: &'static Tool, called_as: String, args: Vec<OsString>) -> ! {
    let inv = Invocation { called_as, args };
    let code = match (tool.run)(&inv) {
        Ok(()) => 0,
        Err(e) => error::report(&inv.called_as, &e),
    };
    std::process::exit(code)
}
