//! execsnoop: trace exec() calls with their arguments.
//! Kernel side: src/bpf/execsnoop.bpf.c (record: src/bpf/execsnoop.h).

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use serde_json::json;

use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::output::{self, Clock};
use crate::runtime::{escape, record};
use crate::runtime::Ctx;
use crate::set_filter;
use crate::skel::execsnoop::{types, ExecsnoopSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "execsnoop",
    about: "Trace new processes: exec() calls with arguments",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  execsnoop                 # trace all exec() calls
  execsnoop -x              # only failed execs
  execsnoop -T -U           # with time (HH:MM:SS) and UID columns
  execsnoop -t              # with seconds since start
  execsnoop -u 1000         # only UID 1000
  execsnoop -P 181          # only children of PID 181
  execsnoop -n main         # only commands whose name contains \"main\"
  execsnoop -l tpkg         # only command lines containing \"tpkg\"
  execsnoop -q              # quote arguments
  execsnoop -c /sys/fs/cgroup/unified/app  # only this cgroup
  execsnoop --json          # one JSON object per exec
  execsnoop --max-args 5    # at most 5 arguments, then \"...\"

Arguments are read from the new program's argument area, so they are
complete even for a child that execs right after fork. For a script, ARGS
is the interpreter line the kernel ran (e.g. /bin/sh ./x.sh).";

/// Trace new processes via exec() syscalls
#[derive(Parser, Debug)]
#[command(name = "execsnoop", version, after_help = EXAMPLES)]
struct Args {
    /// Include a time column (HH:MM:SS)
    #[arg(short = 'T', long = "time")]
    time: bool,
    /// Include a timestamp column (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    timestamp: bool,
    /// Include failed exec()s only
    #[arg(short = 'x', long = "fails")]
    fails: bool,
    /// Quote each argument
    #[arg(short = 'q', long = "quote")]
    quote: bool,
    /// Only commands whose name contains NAME
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    name: Option<String>,
    /// Only command lines containing LINE
    #[arg(short = 'l', long = "line", value_name = "LINE")]
    line: Option<String>,
    /// Include a UID column
    #[arg(short = 'U', long = "print-uid")]
    print_uid: bool,
    /// Only children of this parent PID
    #[arg(short = 'P', long = "ppid", value_name = "PPID", value_parser = cli::parse_pid)]
    ppid: Option<u32>,
    /// Maximum number of arguments shown (then "...")
    #[arg(long = "max-args", value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=128))]
    max_args: u32,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[Alt {
    label: "syscalls:sys_{enter,exit}_execve{,at} tracepoints",
    progs: &[
        "tp_enter_execve",
        "tp_enter_execveat",
        "tp_exit_execve",
        "tp_exit_execveat",
    ],
}];

const FLAG_ARGS_TRUNCATED: u32 = 1;

unsafe impl plain::Plain for types::execsnoop_event {}

/// One exec as read from the ring.
struct Exec {
    pid: u32,
    ppid: u32,
    uid: u32,
    ret: i32,
    comm: Vec<u8>,
    args: Vec<Vec<u8>>,
    /// More arguments (or bytes) than shown.
    truncated: bool,
}

fn decode(data: &[u8], max_args: usize) -> Option<Exec> {
    // Records are sent with only the used part of `args`.
    let head = std::mem::offset_of!(types::execsnoop_event, args);
    let ev: types::execsnoop_event = record::read(data, head)?;
    let size = (ev.args_size as usize).min(data.len() - head);
    let block = &data[head..head + size];
    let mut args: Vec<Vec<u8>> = block
        .split(|&b| b == 0)
        .map(<[u8]>::to_vec)
        .collect();
    // A NUL-terminated block splits into a trailing empty piece.
    if block.last() == Some(&0) {
        args.pop();
    }
    let mut truncated = ev.flags & FLAG_ARGS_TRUNCATED != 0;
    if args.len() > max_args {
        args.truncate(max_args);
        truncated = true;
    }
    Some(Exec {
        pid: ev.pid,
        ppid: ev.ppid,
        uid: ev.uid,
        ret: ev.ret,
        comm: escape::cchars(&ev.comm),
        args,
        truncated,
    })
}

fn args_line(e: &Exec, quote: bool) -> String {
    let mut parts: Vec<String> = e
        .args
        .iter()
        .map(|a| if quote { escape::quoted(a) } else { escape::printable(a) })
        .collect();
    if e.truncated {
        parts.push("...".into());
    }
    parts.join(" ")
}

fn header(a: &Args) -> String {
    let mut h = String::new();
    if a.time {
        h.push_str(&format!("{:<9}", "TIME"));
    }
    if a.timestamp {
        h.push_str(&format!("{:<9}", "TIME(s)"));
    }
    if a.print_uid {
        h.push_str(&format!("{:<6} ", "UID"));
    }
    h.push_str(&format!("{:<16} {:<7} {:<7} {:>3} ARGS", "PCOMM", "PID", "PPID", "RET"));
    h
}

fn row(clock: &Clock, a: &Args, e: &Exec) -> String {
    let mut r = String::new();
    if a.time {
        r.push_str(&format!("{:<9}", clock.hms()));
    }
    if a.timestamp {
        r.push_str(&format!("{:<9.3}", clock.elapsed()));
    }
    if a.print_uid {
        r.push_str(&format!("{:<6} ", e.uid));
    }
    r.push_str(&format!(
        "{:<16} {:<7} {:<7} {:>3} {}",
        escape::printable(&e.comm),
        e.pid,
        e.ppid,
        e.ret,
        args_line(e, a.quote)
    ));
    r
}

fn to_json(clock: &Clock, a: &Args, e: &Exec) -> serde_json::Value {
    let mut v = json!({
        "pid": e.pid,
        "ppid": e.ppid,
        "uid": e.uid,
        "ret": e.ret,
        "comm": escape::json_text(&e.comm),
        "args": e.args.iter().map(|x| escape::json_text(x)).collect::<Vec<_>>(),
        "args_truncated": e.truncated,
    });
    if a.time {
        v["time"] = json!(clock.hms());
    }
    if a.timestamp {
        v["timestamp"] = json!((clock.elapsed() * 1000.0).round() / 1000.0);
    }
    v
}

/// bcc's -n and -l are user-space filters on the name and the line.
fn wanted(a: &Args, e: &Exec) -> bool {
    if let Some(n) = &a.name {
        if !String::from_utf8_lossy(&e.comm).contains(n.as_str()) {
            return false;
        }
    }
    if let Some(l) = &a.line {
        let line: Vec<u8> = e.args.join(&b' ');
        if !String::from_utf8_lossy(&line).contains(l.as_str()) {
            return false;
        }
    }
    true
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("uid", 'u'), ("cgroup", 'c')])?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<ExecsnoopSkelBuilder>(PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("execsnoop's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.max_args = args.max_args;
        ro.only_failed = args.fails;
        ro.filter_ppid = args.ppid.unwrap_or(0);
        Ok(())
    })?;

    if !ctx.common.json {
        ctx.out().line(&header(&args))?;
        ctx.out().flush()?;
    }
    let max_args = args.max_args as usize;
    ctx.run_ring(skel.object(), |data| {
        let Some(e) = decode(data, max_args) else {
            return Ok(());
        };
        if !wanted(&args, &e) {
            return Ok(());
        }
        if ctx.common.json {
            let v = to_json(&ctx.clock, &args, &e);
            ctx.out().json_line(&v)
        } else {
            let r = row(&ctx.clock, &args, &e);
            ctx.out().line(&r)
        }
    })
}

/// Hardening hook (tests/hardening.rs): decode one ring record, however
/// hostile, and render it every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    static CLOCK: std::sync::OnceLock<Clock> = std::sync::OnceLock::new();
    let clock = CLOCK.get_or_init(Clock::new);
    let mut out = Vec::new();
    for flags in [&["-T", "-t", "-U"][..], &["-q"][..]] {
        let Ok(a) = Args::try_parse_from(std::iter::once("execsnoop").chain(flags.iter().copied())) else {
            continue;
        };
        if let Some(e) = decode(data, a.max_args as usize) {
            out.push(header(&a));
            out.push(row(clock, &a, &e));
            out.push(output::json_string(&to_json(clock, &a, &e)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(args: &[u8], flags: u32) -> Vec<u8> {
        let mut ev = types::execsnoop_event {
            pid: 42,
            ppid: 7,
            uid: 1000,
            ret: -2,
            args_size: args.len() as u32,
            flags,
            ..Default::default()
        };
        for (d, s) in ev.comm.iter_mut().zip(b"sh\x1b") {
            *d = *s as _;
        }
        // SAFETY: a plain repr(C) struct viewed as bytes.
        let bytes = unsafe { plain::as_bytes(&ev) };
        let head = std::mem::offset_of!(types::execsnoop_event, args);
        let mut v = bytes[..head].to_vec();
        v.extend_from_slice(args);
        v
    }

    fn args(max_args: u32, extra: &[&str]) -> Args {
        let mut v = vec!["execsnoop".to_string(), "--max-args".into(), max_args.to_string()];
        v.extend(extra.iter().map(|s| s.to_string()));
        Args::try_parse_from(v).unwrap()
    }

    #[test]
    fn decodes_and_truncates() {
        let e = decode(&record(b"/bin/echo\0a b\0\xff\0", 0), 20).unwrap();
        assert_eq!((e.pid, e.ppid, e.uid, e.ret), (42, 7, 1000, -2));
        assert_eq!(e.comm, b"sh\x1b");
        assert_eq!(e.args, vec![b"/bin/echo".to_vec(), b"a b".to_vec(), b"\xff".to_vec()]);
        assert_eq!(args_line(&e, false), "/bin/echo a b \\xff");
        assert_eq!(args_line(&e, true), "\"/bin/echo\" \"a b\" \"\\xff\"");
        let e = decode(&record(b"a\0b\0c\0", 0), 2).unwrap();
        assert_eq!(args_line(&e, false), "a b ...");
        let e = decode(&record(b"a\0bc", FLAG_ARGS_TRUNCATED), 20).unwrap();
        assert_eq!(args_line(&e, false), "a bc ...");
        assert!(decode(&[0u8; 3], 20).is_none());
    }

    #[test]
    fn rows_and_json() {
        let a = args(20, &["-U"]);
        let clock_ctx_free = decode(&record(b"/bin/true\0", 0), 20).unwrap();
        assert_eq!(header(&a), "UID    PCOMM            PID     PPID    RET ARGS");
        let v = serde_json::json!({
            "pid": clock_ctx_free.pid, "comm": escape::json_text(&clock_ctx_free.comm)
        });
        assert_eq!(v["comm"], "sh\x1b");
        let a = args(20, &["-n", "sh", "-l", "true"]);
        assert!(wanted(&a, &clock_ctx_free));
        let a = args(20, &["-l", "false"]);
        assert!(!wanted(&a, &clock_ctx_free));
    }

    #[test]
    fn flags_parse() {
        let a = args(5, &["-x", "-q", "-T", "-t", "-P", "1"]);
        assert!(a.fails && a.quote && a.time && a.timestamp);
        assert_eq!(a.ppid, Some(1));
        assert_eq!(a.max_args, 5);
        assert!(Args::try_parse_from(["execsnoop", "--max-args", "0"]).is_err());
        assert!(Args::try_parse_from(["execsnoop", "-P", "abc"]).is_err());
    }
}
