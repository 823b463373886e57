//! bashreadline: commands typed at interactive bash shells.
//! Kernel side: src/bpf/bashreadline.bpf.c (record: src/bpf/bashreadline.h).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use libbpf_rs::UprobeOpts;
use serde_json::json;

use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::error::usage;
use crate::runtime::uprobes::{self, UFunc};
use crate::runtime::{escape, record, Ctx};
use crate::set_filter;
use crate::skel::bashreadline::{types, BashreadlineSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "bashreadline",
    about: "Print commands typed at interactive bash shells",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  bashreadline                  # every command typed at any bash
  bashreadline -p 4242          # only the bash with PID 4242
  bashreadline -s /usr/lib/libreadline.so.8  # bash linked to a shared libreadline
  bashreadline -s readline      # the same, found in the linker's directories
  bashreadline --json           # one JSON object per command

The probe is a uretprobe on readline(): in /bin/bash when bash carries its
own readline (Debian, Ubuntu), else in the shared libreadline. With a shared
library, only processes named bash are reported unless --comm, -p or --tid
names the process. A shell already waiting at its prompt when bashreadline
starts is seen from its next command on: a return probe catches calls that
begin after it.";

/// Print entered bash commands system wide
#[derive(Parser, Debug)]
#[command(name = "bashreadline", version, after_help = EXAMPLES)]
struct Args {
    /// The libreadline to probe (path or library name) when bash links it dynamically
    #[arg(short = 's', long = "shared", value_name = "PATH")]
    shared: Option<String>,
    #[command(flatten)]
    common: Common,
}

const BASH: &str = "/bin/bash";

const PLAN: &[Alt] = &[Alt {
    label: "uretprobe on readline()",
    progs: &["uretprobe_readline"],
}];

unsafe impl plain::Plain for types::bashreadline_event {}

/// Where readline lives, and whether the probe is shared with other programs.
struct Target {
    path: PathBuf,
    func: UFunc,
    only_bash: bool,
}

fn readline_in(path: &Path) -> Result<Option<UFunc>> {
    uprobes::find_function(path, "readline")
}

/// A shared libreadline serves other programs too: report bash only,
/// unless the user named the process (--comm, --pid, --tid) themselves.
fn only_bash(args: &Args) -> bool {
    let c = &args.common;
    c.comm.is_none() && c.pid.is_none() && c.tid.is_none()
}

fn find_target(args: &Args) -> Result<Target> {
    let pid = args.common.pid;
    if let Some(lib) = &args.shared {
        let path = uprobes::find_binary(lib, pid)?;
        let func = readline_in(&path)?
            .ok_or_else(|| usage(format!("{} has no readline function", path.display())))?;
        return Ok(Target { path, func, only_bash: only_bash(args) });
    }
    let bash = Path::new(BASH);
    if !bash.exists() {
        return Err(usage(format!("{BASH} does not exist; give the readline library with -s")));
    }
    if let Some(func) = readline_in(bash)? {
        return Ok(Target { path: bash.to_path_buf(), func, only_bash: false });
    }
    // bash linked to a shared libreadline: the one that bash maps, if a
    // bash runs (the -p one first), else the linker's.
    let path = uprobes::find_binary("readline", pid).map_err(|_| {
        usage(format!("{BASH} has no readline function and no libreadline was found; give it with -s"))
    })?;
    let func = readline_in(&path)?
        .ok_or_else(|| usage(format!("{} has no readline function", path.display())))?;
    Ok(Target { path, func, only_bash: only_bash(args) })
}

/// One typed line.
struct Line {
    pid: u32,
    uid: u32,
    comm: Vec<u8>,
    text: Vec<u8>,
    /// The line filled the buffer: it may have been longer.
    truncated: bool,
}

fn decode(data: &[u8]) -> Option<Line> {
    let ev: types::bashreadline_event = record::read(data, std::mem::size_of::<types::bashreadline_event>())?;
    let text = if ev.line_len > 0 { escape::cchars(&ev.line) } else { Vec::new() };
    Some(Line {
        pid: ev.pid,
        uid: ev.uid,
        comm: escape::cchars(&ev.comm),
        text,
        truncated: ev.line_len as usize >= ev.line.len(),
    })
}

fn header() -> String {
    format!("{:<9} {:<6} {}", "TIME", "PID", "COMMAND")
}

fn row(time: &str, l: &Line) -> String {
    format!("{:<9} {:<6} {}", time, l.pid, escape::printable(&l.text))
}

fn to_json(time: &str, l: &Line) -> serde_json::Value {
    json!({
        "time": time,
        "pid": l.pid,
        "uid": l.uid,
        "comm": escape::json_text(&l.comm),
        "command": escape::json_text(&l.text),
        "truncated": l.truncated,
    })
}

/// Hardening hook (tests/hardening.rs): decode one ring record, however
/// hostile, and render it every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let Some(l) = decode(data) else {
        return Vec::new();
    };
    vec![
        header(),
        row("12:34:56", &l),
        crate::runtime::output::json_string(&to_json("12:34:56", &l)),
    ]
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p'), ("verbose", 'v')])?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let target = find_target(&args)?;
    ctx.verbose(format!(
        "readline at offset {:#x} of {}{}",
        target.func.offset,
        target.path.display(),
        if target.only_bash { " (processes named bash only)" } else { "" }
    ));
    ctx.hold_ready();
    let (skel, _alt) = ctx.load::<BashreadlineSkelBuilder>(PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("bashreadline's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.only_bash = target.only_bash;
        Ok(())
    })?;
    let pid = args.common.pid.map_or(-1, |p| p as i32);
    let opts = UprobeOpts { retprobe: true, ..Default::default() };
    let link = skel
        .progs
        .uretprobe_readline
        .attach_uprobe_with_opts(pid, &target.path, target.func.offset as usize, opts)
        .with_context(|| format!("cannot attach a uretprobe to readline in {}", target.path.display()))?;
    ctx.keep(link);
    ctx.ready();

    if !ctx.common.json {
        ctx.out().line(&header())?;
        ctx.out().flush()?;
    }
    ctx.run_ring(skel.object(), |data| {
        let Some(l) = decode(data) else {
            return Ok(());
        };
        let time = ctx.clock.hms();
        if ctx.common.json {
            ctx.out().json_line(&to_json(&time, &l))
        } else {
            ctx.out().line(&row(&time, &l))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(line: &[u8], len: i32) -> Vec<u8> {
        let mut ev = types::bashreadline_event { pid: 7, uid: 1000, line_len: len, ..Default::default() };
        for (d, s) in ev.comm.iter_mut().zip(b"bash") {
            *d = *s as _;
        }
        for (d, s) in ev.line.iter_mut().zip(line) {
            *d = *s as _;
        }
        // SAFETY: a plain repr(C) struct viewed as bytes.
        unsafe { plain::as_bytes(&ev) }.to_vec()
    }

    #[test]
    fn rows() {
        let l = decode(&event(b"ls -l\x1b[2J", 11)).unwrap();
        assert_eq!(header(), "TIME      PID    COMMAND");
        assert_eq!(row("12:00:01", &l), "12:00:01  7      ls -l\\x1b[2J");
        let v = to_json("12:00:01", &l);
        assert_eq!(v["command"], "ls -l\x1b[2J");
        assert_eq!(v["comm"], "bash");
        assert_eq!(v["truncated"], false);
        let l = decode(&event(b"x", -14)).unwrap();
        assert!(l.text.is_empty());
        assert!(decode(&[0u8; 8]).is_none());
    }
}
