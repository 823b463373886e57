//! opensnoop: trace open(), openat(), openat2() and creat() with path,
//! result and flags. Kernel side: src/bpf/opensnoop.bpf.c (record:
//! src/bpf/opensnoop.h).

use std::fmt::Write as _;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;

use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::error::usage;
use crate::runtime::{errno, escape, record, syscalls, Ctx};
use crate::set_filter;
use crate::skel::opensnoop::{types, OpensnoopSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "opensnoop",
    about: "Trace open() family syscalls: path, fd or error, flags",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  opensnoop                  # trace all open() family syscalls
  opensnoop -T               # include a timestamp column (seconds)
  opensnoop -U               # include a UID column
  opensnoop -x               # only failed opens
  opensnoop -p 181           # only PID 181
  opensnoop -t 123           # only thread 123
  opensnoop -u 1000          # only UID 1000
  opensnoop -d 10            # trace for 10 seconds only
  opensnoop -n main          # only commands whose name contains \"main\"
  opensnoop -e               # show the open flags (octal)
  opensnoop -f O_WRONLY -f O_RDWR   # only opens for writing
  opensnoop -f O_CREAT       # only opens that may create
  opensnoop -F               # full paths for relative ones
  opensnoop --cgroup /sys/fs/cgroup/app   # only this cgroup
  opensnoop --json           # one JSON object per open

ERR is the errno of a failed open (2 is ENOENT); FD is -1 then. -f takes
O_* names (with or without O_) and keeps opens with any of them; O_RDONLY,
O_WRONLY and O_RDWR match the access mode. -F prefixes a relative path with
its directory (the cwd, or openat's dirfd) as the process sees it, read when
the call returns; a \".../\" prefix means the directory was too deep to read
whole. Paths longer than 511 bytes end in \"...\".";

/// Trace open() family syscalls
#[derive(Parser, Debug)]
#[command(name = "opensnoop", version, after_help = EXAMPLES)]
struct Args {
    /// Include a timestamp column (seconds since tracing started)
    #[arg(short = 'T', long = "timestamp")]
    timestamp: bool,
    /// Include a UID column
    #[arg(short = 'U', long = "print-uid")]
    print_uid: bool,
    /// Only failed opens
    #[arg(short = 'x', long = "failed")]
    failed: bool,
    /// Only commands whose name contains NAME
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    name: Option<String>,
    /// Show the open flags (octal)
    #[arg(short = 'e', long = "extended-fields", alias = "extended_fields")]
    extended: bool,
    /// Only opens with this flag (O_WRONLY, O_CREAT, ...); repeatable
    #[arg(short = 'f', long = "flag-filter", alias = "flag_filter", value_name = "FLAG",
          value_parser = parse_flag)]
    flag_filter: Vec<FlagWant>,
    /// Full path for relative paths (resolved against the cwd or dirfd)
    #[arg(short = 'F', long = "full-path")]
    full_path: bool,
    /// Ring buffer size in pages (a power of two, 16 to 1024)
    #[arg(short = 'b', long = "buffer-pages", value_name = "PAGES",
          value_parser = parse_pages)]
    buffer_pages: Option<u32>,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[
    Alt {
        label: "fexit on do_sys_openat2",
        progs: &["fexit_do_sys_openat2"],
    },
    Alt {
        label: "syscalls:sys_exit_{open,openat,openat2,creat} tracepoints",
        progs: &["tp_exit_open", "tp_exit_openat", "tp_exit_openat2", "tp_exit_creat"],
    },
];

/// With -F: the exit programs that also walk the directory names.
const PLAN_FULL: &[Alt] = &[
    PLAN[0],
    Alt {
        label: "syscalls:sys_exit_{open,openat,openat2,creat} tracepoints",
        progs: &[
            "tp_exit_open_full",
            "tp_exit_openat_full",
            "tp_exit_openat2_full",
            "tp_exit_creat_full",
        ],
    },
];

const STATUS_PATH_CUT: u8 = 1;
const STATUS_DIRS: u8 = 2;
const STATUS_DIRS_CUT: u8 = 4;
const FLAG_WANTS: usize = 8;

/// One -f entry: a call matches when `flags & mask == value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlagWant {
    mask: u32,
    value: u32,
}

/// Open flags by name, as (name, mask, value); multi-bit flags (O_SYNC,
/// O_TMPFILE) come before the flags they contain.
static FLAG_TABLE: [(&str, u32, u32); 21] = {
    const fn f(v: i32) -> u32 {
        v as u32
    }
    const fn bit(name: &'static str, v: i32) -> (&'static str, u32, u32) {
        (name, f(v), f(v))
    }
    let acc = f(libc::O_ACCMODE);
    [
        ("O_RDONLY", acc, f(libc::O_RDONLY)),
        ("O_WRONLY", acc, f(libc::O_WRONLY)),
        ("O_RDWR", acc, f(libc::O_RDWR)),
        bit("O_CREAT", libc::O_CREAT),
        bit("O_EXCL", libc::O_EXCL),
        bit("O_NOCTTY", libc::O_NOCTTY),
        bit("O_TRUNC", libc::O_TRUNC),
        bit("O_APPEND", libc::O_APPEND),
        bit("O_NONBLOCK", libc::O_NONBLOCK),
        bit("O_SYNC", libc::O_SYNC),
        bit("O_DSYNC", libc::O_DSYNC),
        bit("O_ASYNC", libc::O_ASYNC),
        bit("O_DIRECT", libc::O_DIRECT),
        bit("O_LARGEFILE", libc::O_LARGEFILE),
        bit("O_TMPFILE", libc::O_TMPFILE),
        bit("O_DIRECTORY", libc::O_DIRECTORY),
        bit("O_NOFOLLOW", libc::O_NOFOLLOW),
        bit("O_NOATIME", libc::O_NOATIME),
        bit("O_CLOEXEC", libc::O_CLOEXEC),
        bit("O_PATH", libc::O_PATH),
        // glibc's other name for O_NONBLOCK, for -f only
        bit("O_NDELAY", libc::O_NDELAY),
    ]
};

fn parse_flag(s: &str) -> Result<FlagWant, String> {
    let up = s.trim().to_ascii_uppercase();
    let want = if up.starts_with("O_") {
        up
    } else {
        format!("O_{up}")
    };
    let want = if want == "O_FASYNC" {
        "O_ASYNC".to_string()
    } else {
        want
    };
    FLAG_TABLE
        .iter()
        .find(|(n, _, _)| *n == want)
        .map(|&(_, mask, value)| FlagWant { mask, value })
        .ok_or_else(|| format!("'{s}' is not an open flag (O_RDONLY, O_WRONLY, O_CREAT, ...)"))
}

fn parse_pages(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n.is_power_of_two() && (16..=1024).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' is not a power of two from 16 to 1024")),
    }
}

/// The flags as names, e.g. "O_WRONLY|O_CREAT|O_TRUNC"; unknown bits in hex.
fn flag_names(flags: u32) -> Vec<String> {
    let table = &FLAG_TABLE;
    let mut names = Vec::new();
    let acc = flags & libc::O_ACCMODE as u32;
    if let Some((n, _, _)) = table[..3].iter().find(|(_, _, v)| *v == acc) {
        names.push(n.to_string());
    }
    let mut left = flags & !(libc::O_ACCMODE as u32);
    for &(n, mask, value) in &table[3..table.len() - 1] {
        if left & mask == value && value != 0 {
            names.push(n.to_string());
            left &= !mask;
        }
    }
    if left != 0 {
        names.push(format!("{left:#x}"));
    }
    if acc == libc::O_ACCMODE as u32 {
        names.insert(0, "O_ACCMODE".into());
    }
    names
}

unsafe impl plain::Plain for types::opensnoop_event {}

/// One open as read from the ring (the path borrowed from the record).
#[derive(Debug)]
struct Open<'a> {
    ts_ns: u64,
    pid: u32,
    tid: u32,
    uid: u32,
    ret: i32,
    flags: u32,
    mode: u32,
    dirfd: i32,
    nr: u16,
    comm: [u8; 16],
    /// The path as the caller gave it.
    path: &'a [u8],
    path_cut: bool,
    /// -F on a relative path: the full path, when the directory was read.
    full: Option<Vec<u8>>,
}

const HEAD: usize = std::mem::offset_of!(types::opensnoop_event, buf);

fn decode(data: &[u8]) -> Option<Open<'_>> {
    let ev: types::opensnoop_event = record::read(data, HEAD)?;
    let buf = &data[HEAD..];
    let path_len = (ev.path_len as usize).min(buf.len());
    let path = escape::cstr(&buf[..path_len]);
    let full = (ev.status & STATUS_DIRS != 0).then(|| {
        let end = (path_len + ev.dir_len as usize).min(buf.len());
        full_path(&buf[path_len..end], path, ev.status & STATUS_DIRS_CUT != 0)
    });
    Some(Open {
        ts_ns: ev.ts_ns,
        pid: ev.pid,
        tid: ev.tid,
        uid: ev.uid,
        ret: ev.ret,
        flags: ev.flags,
        mode: ev.mode,
        dirfd: ev.dirfd,
        nr: ev.nr,
        comm: ev.comm.map(|c| c as u8),
        path,
        path_cut: ev.status & STATUS_PATH_CUT != 0,
        full,
    })
}

/// Directory names (leaf first, NUL-separated) and a relative path as one
/// absolute path; "./" prefixes are dropped, ".." is kept (it may cross a
/// symlink, so it is not folded).
fn full_path(dirs: &[u8], rel: &[u8], cut: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(dirs.len() + rel.len() + 2);
    if cut {
        out.extend_from_slice(b"...");
    }
    for name in dirs.split(|&b| b == 0).filter(|n| !n.is_empty()).rev() {
        out.push(b'/');
        out.extend_from_slice(name);
    }
    let mut rel = rel;
    while let Some(r) = rel.strip_prefix(b"./") {
        rel = r;
    }
    if rel != b"." {
        out.push(b'/');
        out.extend_from_slice(rel);
    } else if out.is_empty() {
        out.push(b'/');
    }
    out
}

impl Open<'_> {
    fn comm(&self) -> &[u8] {
        escape::cstr(&self.comm)
    }

    fn fd(&self) -> i32 {
        if self.ret >= 0 {
            self.ret
        } else {
            -1
        }
    }

    fn errno(&self) -> i32 {
        if self.ret < 0 {
            -self.ret
        } else {
            0
        }
    }

    fn shown_path(&self) -> &[u8] {
        self.full.as_deref().unwrap_or(self.path)
    }

    fn creates(&self) -> bool {
        self.flags & (libc::O_CREAT as u32) != 0
            || self.flags & (libc::O_TMPFILE as u32) == libc::O_TMPFILE as u32
    }
}

struct Printer<'a> {
    args: &'a Args,
    /// CLOCK_MONOTONIC at start, the kernel timestamps' clock.
    start_ns: u64,
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Printer<'_> {
    fn seconds(&self, o: &Open) -> f64 {
        o.ts_ns.saturating_sub(self.start_ns) as f64 / 1e9
    }

    fn header(&self) -> String {
        let a = self.args;
        let mut h = String::new();
        if a.timestamp {
            h.push_str(&format!("{:<14}", "TIME(s)"));
        }
        if a.print_uid {
            h.push_str(&format!("{:<6} ", "UID"));
        }
        let id = if a.common.tid.is_some() { "TID" } else { "PID" };
        h.push_str(&format!("{id:<6} {:<16} {:>4} {:>3} ", "COMM", "FD", "ERR"));
        if a.extended {
            h.push_str(&format!("{:<8} ", "FLAGS"));
        }
        h.push_str("PATH");
        h
    }

    /// The table row, written into `r` (reused across events: no
    /// allocation per open in the common case).
    fn row(&self, o: &Open, r: &mut String) {
        let a = self.args;
        r.clear();
        if a.timestamp {
            let _ = write!(r, "{:<14.9}", self.seconds(o));
        }
        if a.print_uid {
            let _ = write!(r, "{:<6} ", o.uid);
        }
        let id = if a.common.tid.is_some() { o.tid } else { o.pid };
        let _ = write!(r, "{id:<6} ");
        let start = r.len();
        escape::push_printable(r, o.comm());
        let width = r[start..].chars().count();
        r.extend(std::iter::repeat_n(' ', 16usize.saturating_sub(width)));
        let _ = write!(r, " {:>4} {:>3} ", o.fd(), o.errno());
        if a.extended {
            let _ = write!(r, "{:08o} ", o.flags);
        }
        escape::push_printable(r, o.shown_path());
        if o.path_cut {
            r.push_str("...");
        }
    }

    /// The JSON line, written into `r` by hand (a serde_json::Value per
    /// open costs more than the rest of the tool).
    fn json(&self, o: &Open, r: &mut String) {
        r.clear();
        let err = o.errno();
        let _ = write!(
            r,
            "{{\"timestamp\":{:.9},\"pid\":{},\"tid\":{},\"uid\":{},\"comm\":",
            self.seconds(o),
            o.pid,
            o.tid,
            o.uid
        );
        escape::push_json_str(r, o.comm());
        r.push_str(",\"syscall\":");
        match syscalls::name(u32::from(o.nr)) {
            Some(n) => escape::push_json_str(r, n.as_bytes()),
            None => r.push_str("null"),
        }
        let _ = write!(r, ",\"fd\":{},\"errno\":{},\"error\":", o.fd(), err);
        if err != 0 {
            escape::push_json_str(r, errno::display(err).as_bytes());
        } else {
            r.push_str("null");
        }
        let _ = write!(r, ",\"flags\":{},\"flag_names\":[", o.flags);
        for (i, n) in flag_names(o.flags).iter().enumerate() {
            if i > 0 {
                r.push(',');
            }
            escape::push_json_str(r, n.as_bytes());
        }
        r.push(']');
        if o.creates() {
            let _ = write!(r, ",\"mode\":{}", o.mode);
        }
        let _ = write!(r, ",\"dirfd\":{},\"path\":", o.dirfd);
        escape::push_json_str(r, o.shown_path());
        if o.path_cut {
            r.push_str(",\"path_truncated\":true");
        }
        if o.full.is_some() {
            r.push_str(",\"given_path\":");
            escape::push_json_str(r, o.path);
        }
        r.push('}');
    }
}

/// Hardening hook (tests/hardening.rs): decode one ring record, however
/// hostile, and render it every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let Some(o) = decode(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for flags in [&["-T", "-U", "-e"][..], &["--tid", "1"][..]] {
        let Ok(args) = Args::try_parse_from(std::iter::once("opensnoop").chain(flags.iter().copied())) else {
            continue;
        };
        let p = Printer { args: &args, start_ns: 0 };
        let mut r = String::new();
        out.push(p.header());
        p.row(&o, &mut r);
        out.push(r.clone());
        p.json(&o, &mut r);
        out.push(r);
    }
    out
}

fn check_args(a: &Args) -> Result<()> {
    if let Some(n) = &a.name {
        if n.is_empty() || n.len() > 15 {
            return Err(usage(
                "-n NAME must be 1 to 15 bytes (a command name is at most 15)",
            ));
        }
    }
    if a.flag_filter.len() > FLAG_WANTS {
        return Err(usage(format!("at most {FLAG_WANTS} -f flags")));
    }
    Ok(())
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(
        inv,
        &[("pid", 'p'), ("tid", 't'), ("uid", 'u'), ("duration", 'd')],
    )?;
    check_args(&args)?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let plan = if args.full_path { PLAN_FULL } else { PLAN };
    let (skel, _alt) = ctx.load::<OpensnoopSkelBuilder>(plan, |open, _alt| {
        if let Some(pages) = args.buffer_pages {
            open.maps
                .events
                .set_max_entries(pages * 4096)
                .context("cannot size the ring buffer")?;
        }
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("opensnoop's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.self_tgid = std::process::id();
        ro.only_failed = args.failed;
        ro.want_ts = args.timestamp || args.common.json;
        ro.full_path = args.full_path;
        ro.n_flag_wants = args.flag_filter.len() as u32;
        for (d, w) in ro.flag_wants.iter_mut().zip(&args.flag_filter) {
            d.mask = w.mask;
            d.value = w.value;
        }
        if let Some(n) = &args.name {
            ro.name_len = n.len() as u32;
            for (d, s) in ro.name.iter_mut().zip(n.bytes()) {
                *d = s as _;
            }
        }
        Ok(())
    })?;

    let printer = Printer {
        args: &args,
        start_ns: monotonic_ns(),
    };
    if !ctx.common.json {
        ctx.out().line(&printer.header())?;
        ctx.out().flush()?;
    }
    let mut row = String::with_capacity(256);
    ctx.run_ring(skel.object(), |data| {
        let Some(o) = decode(data) else {
            return Ok(());
        };
        if ctx.common.json {
            printer.json(&o, &mut row);
        } else {
            printer.row(&o, &mut row);
        }
        ctx.out().line(&row)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AT_FDCWD: i32 = -100;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec!["opensnoop".to_string()];
        v.extend(extra.iter().map(|s| s.to_string()));
        Args::try_parse_from(v).unwrap()
    }

    fn record(path: &[u8], dirs: &[u8], ret: i32, status: u8) -> Vec<u8> {
        let mut ev = types::opensnoop_event {
            ts_ns: 2_500_000_000,
            pid: 42,
            tid: 43,
            uid: 1000,
            ret,
            flags: (libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC) as u32,
            mode: 0o644,
            dirfd: AT_FDCWD,
            path_len: path.len() as u16 + 1,
            dir_len: dirs.len() as u16,
            nr: 257,
            status,
            ..Default::default()
        };
        for (d, s) in ev.comm.iter_mut().zip(b"cat\x1b") {
            *d = *s as _;
        }
        // SAFETY: a plain repr(C) struct viewed as bytes.
        let bytes = unsafe { plain::as_bytes(&ev) };
        let head = std::mem::offset_of!(types::opensnoop_event, buf);
        let mut v = bytes[..head].to_vec();
        v.extend_from_slice(path);
        v.push(0);
        v.extend_from_slice(dirs);
        v
    }

    fn row_of(p: &Printer, o: &Open) -> String {
        let mut r = String::new();
        p.row(o, &mut r);
        r
    }

    fn json_of(p: &Printer, o: &Open) -> serde_json::Value {
        let mut r = String::new();
        p.json(o, &mut r);
        serde_json::from_str(&r).unwrap_or_else(|e| panic!("{e}: {r}"))
    }

    #[test]
    fn decodes_success_and_failure() {
        let rec = record(b"/etc/passwd", b"", 3, 0);
        let o = decode(&rec).unwrap();
        assert_eq!(
            (o.pid, o.tid, o.uid, o.fd(), o.errno()),
            (42, 43, 1000, 3, 0)
        );
        assert_eq!(o.path, b"/etc/passwd");
        assert_eq!(o.comm(), b"cat\x1b");
        let rec = record(b"/nope", b"", -2, 0);
        let o = decode(&rec).unwrap();
        assert_eq!((o.fd(), o.errno()), (-1, 2));
        assert!(decode(&[0u8; 8]).is_none());
    }

    #[test]
    fn table_and_json() {
        let a = args(&["-T", "-U", "-e"]);
        let p = Printer {
            args: &a,
            start_ns: 500_000_000,
        };
        assert_eq!(
            p.header(),
            "TIME(s)       UID    PID    COMM               FD ERR FLAGS    PATH"
        );
        let rec = record(b"/nope", b"", -2, 0);
        let o = decode(&rec).unwrap();
        assert_eq!(
            row_of(&p, &o),
            "2.000000000   1000   42     cat\\x1b            -1   2 02000101 /nope"
        );
        let v = json_of(&p, &o);
        assert_eq!(v["errno"], 2);
        assert_eq!(v["error"], "ENOENT");
        assert_eq!(v["fd"], -1);
        assert_eq!(v["syscall"], "openat");
        assert_eq!(v["mode"], 0o644);
        assert_eq!(v["flag_names"], json!(["O_WRONLY", "O_CREAT", "O_CLOEXEC"]));
        let rec = record(b"/ok", b"", 5, STATUS_PATH_CUT);
        let o = decode(&rec).unwrap();
        let v = json_of(&p, &o);
        assert_eq!(v["error"], serde_json::Value::Null);
        assert_eq!(v["path_truncated"], true);
        assert!(row_of(&p, &o).ends_with("/ok..."));
        let a = args(&["--tid", "1"]);
        let p = Printer {
            args: &a,
            start_ns: 0,
        };
        assert!(p.header().starts_with("TID "));
        assert!(row_of(&p, &o).starts_with("43 "));
    }

    #[test]
    fn full_paths() {
        let rec = record(b"./f.txt", b"c\0b\0a\0", 3, STATUS_DIRS);
        let o = decode(&rec).unwrap();
        assert_eq!(o.shown_path(), b"/a/b/c/f.txt");
        assert_eq!(o.path, b"./f.txt");
        let rec = record(b"f", b"", 3, STATUS_DIRS);
        let o = decode(&rec).unwrap();
        assert_eq!(o.shown_path(), b"/f");
        let rec = record(b"f", b"y\0", 3, STATUS_DIRS | STATUS_DIRS_CUT);
        let o = decode(&rec).unwrap();
        assert_eq!(o.shown_path(), b".../y/f");
        assert_eq!(full_path(b"", b".", false), b"/");
        assert_eq!(full_path(b"d\0", b"../x", false), b"/d/../x");
    }

    #[test]
    fn flags_by_name() {
        let w = |s| parse_flag(s).unwrap();
        assert_eq!(
            w("O_CREAT"),
            FlagWant {
                mask: 0o100,
                value: 0o100
            }
        );
        assert_eq!(w("creat"), w("O_CREAT"));
        assert_eq!(w("O_RDONLY"), FlagWant { mask: 3, value: 0 });
        assert_eq!(w("O_SYNC").value, 0o4010000);
        assert!(parse_flag("O_BOGUS").is_err());
        assert_eq!(flag_names(0), vec!["O_RDONLY"]);
        assert_eq!(flag_names(0o4010002), vec!["O_RDWR", "O_SYNC"]);
        assert_eq!(flag_names(0o10000), vec!["O_RDONLY", "O_DSYNC"]);
        assert_eq!(flag_names(0o20200000), vec!["O_RDONLY", "O_TMPFILE"]);
        assert_eq!(flag_names(0o200000), vec!["O_RDONLY", "O_DIRECTORY"]);
        assert_eq!(flag_names(0x8000_0001), vec!["O_WRONLY", "0x80000000"]);
    }

    #[test]
    fn bad_args() {
        assert!(Args::try_parse_from(["opensnoop", "-f", "O_NOPE"]).is_err());
        assert!(Args::try_parse_from(["opensnoop", "-b", "3"]).is_err());
        assert!(check_args(&args(&["-n", "0123456789abcdef"])).is_err());
        let a = args(&[
            "-x", "-e", "-F", "-f", "O_WRONLY", "-f", "rdwr", "-n", "cat",
        ]);
        assert!(a.failed && a.extended && a.full_path);
        assert_eq!(a.flag_filter.len(), 2);
        assert!(check_args(&a).is_ok());
        let a = args(&["--extended_fields", "--flag_filter", "O_CREAT"]);
        assert!(a.extended);
    }
}
