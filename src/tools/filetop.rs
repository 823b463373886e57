//! filetop: files by reads and writes, per thread, refreshed every interval.
//! Kernel side: src/bpf/filetop.bpf.c (entries: src/bpf/filetop.h).

use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use libbpf_rs::skel::Skel;
use libbpf_rs::{MapCore, MapFlags, Object};
use serde_json::json;

use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::ctx::find_map;
use crate::runtime::{escape, hist, output, record, Ctx};
use crate::set_filter;
use crate::skel::filetop::{types, FiletopSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "filetop",
    about: "Top files by reads and writes, per thread, every interval",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  filetop                   # top 20 files every second
  filetop -C 5 10           # no screen clearing, 5 s intervals, 10 times
  filetop -a                # all files, sockets and devices too
  filetop -r 50 -s wbytes   # 50 rows, sorted by bytes written
  filetop -p 181            # only PID 181
  filetop --json 1 3        # one JSON object per row

T is the file type: R regular, S socket, O other (pipes, ttys, devices;
with -a). READS and WRITES count calls that moved data; R_Kb and W_Kb are
the bytes they moved. With fentry or kprobes, vfs_read and vfs_write are
hooked (as bcc); elsewhere the read, readv, pread64, preadv, write, writev,
pwrite64 and pwritev syscalls, with the file found from the fd.";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SortBy {
    /// reads + writes + read bytes + written bytes
    All,
    Reads,
    Writes,
    Rbytes,
    Wbytes,
}

/// File reads and writes by process
#[derive(Parser, Debug)]
#[command(name = "filetop", version, after_help = EXAMPLES)]
struct Args {
    /// Include non-regular files (sockets, pipes, devices)
    #[arg(short = 'a', long = "all-files")]
    all_files: bool,
    /// Do not clear the screen between intervals
    #[arg(short = 'C', long = "noclear")]
    noclear: bool,
    /// Rows to print per interval
    #[arg(short = 'r', long = "maxrows", value_name = "MAXROWS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    maxrows: u32,
    /// Sort rows by this column
    #[arg(short = 's', long = "sort", value_enum, default_value_t = SortBy::All)]
    sort: SortBy,
    /// Seconds between outputs
    #[arg(value_name = "INTERVAL", value_parser = cli::parse_interval, default_value = "1")]
    interval: Duration,
    /// Number of outputs
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    count: Option<u64>,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[
    Alt {
        label: "fexit on vfs_read, vfs_write",
        progs: &["fexit_vfs_read", "fexit_vfs_write"],
    },
    Alt {
        label: "kprobe/kretprobe on vfs_read, vfs_write",
        progs: &["kprobe_vfs_read", "kretprobe_vfs_read", "kprobe_vfs_write", "kretprobe_vfs_write"],
    },
    Alt {
        label: "syscall tracepoints (read, readv, pread64, preadv, write, writev, pwrite64, pwritev), \
                file from the fd",
        progs: &[
            "tp_enter_read",
            "tp_exit_read",
            "tp_enter_readv",
            "tp_exit_readv",
            "tp_enter_pread64",
            "tp_exit_pread64",
            "tp_enter_preadv",
            "tp_exit_preadv",
            "tp_enter_write",
            "tp_exit_write",
            "tp_enter_writev",
            "tp_exit_writev",
            "tp_enter_pwrite64",
            "tp_exit_pwrite64",
            "tp_enter_pwritev",
            "tp_exit_pwritev",
        ],
    },
];

unsafe impl plain::Plain for types::filetop_key {}
unsafe impl plain::Plain for types::filetop_value {}

#[derive(Debug, Clone)]
struct Row {
    tid: u32,
    pid: u32,
    comm: Vec<u8>,
    reads: u64,
    writes: u64,
    rbytes: u64,
    wbytes: u64,
    kind: char,
    file: Vec<u8>,
}

/// Take every entry out of the map (each read and removed at once, so
/// nothing counted in between is lost).
fn drain(obj: &Object) -> Result<Vec<Row>> {
    let map = find_map(obj, "entries")?;
    let keys: Vec<Vec<u8>> = map.keys().collect();
    let mut rows = Vec::with_capacity(keys.len());
    for k in keys {
        let Some(val) = map
            .lookup_and_delete(&k)
            .context("reading filetop's counts")?
        else {
            continue;
        };
        rows.extend(decode_entry(&k, &val));
    }
    Ok(rows)
}

fn decode_entry(k: &[u8], val: &[u8]) -> Option<Row> {
    let key = record::read::<types::filetop_key>(k, std::mem::size_of::<types::filetop_key>())?;
    let v = record::read::<types::filetop_value>(val, std::mem::size_of::<types::filetop_value>())?;
    let kind = (v.r#type as u8) as char;
    Some(Row {
        tid: key.tid,
        pid: v.pid,
        comm: escape::cchars(&v.comm),
        reads: v.reads,
        writes: v.writes,
        rbytes: v.rbytes,
        wbytes: v.wbytes,
        // R, S or O from the BPF side; anything else must not reach a terminal.
        kind: if kind.is_ascii_graphic() { kind } else { '?' },
        file: escape::cchars(&v.name),
    })
}

/// Hardening hook (tests/hardening.rs): one map entry (key bytes, then
/// value bytes), however hostile, rendered every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let k = std::mem::size_of::<types::filetop_key>().min(data.len());
    let Some(r) = decode_entry(&data[..k], &data[k..]) else {
        return Vec::new();
    };
    vec![header(), row(&r), output::json_string(&to_json("12:34:56", &r))]
}

fn sort_rows(rows: &mut [Row], by: SortBy) {
    let key = |r: &Row| -> u64 {
        match by {
            SortBy::All => r.reads + r.writes + r.rbytes + r.wbytes,
            SortBy::Reads => r.reads,
            SortBy::Writes => r.writes,
            SortBy::Rbytes => r.rbytes,
            SortBy::Wbytes => r.wbytes,
        }
    };
    // Ties in a stable order, so equal rows do not jump around.
    rows.sort_by(|a, b| key(b).cmp(&key(a)).then(a.tid.cmp(&b.tid)).then(a.file.cmp(&b.file)));
}

fn header() -> String {
    format!(
        "{:<7} {:<16} {:<6} {:<6} {:<7} {:<7} {} FILE",
        "TID", "COMM", "READS", "WRITES", "R_Kb", "W_Kb", "T"
    )
}

fn row(r: &Row) -> String {
    format!(
        "{:<7} {:<16} {:<6} {:<6} {:<7} {:<7} {} {}",
        r.tid,
        escape::printable(&r.comm),
        r.reads,
        r.writes,
        r.rbytes / 1024,
        r.wbytes / 1024,
        r.kind,
        escape::printable(&r.file)
    )
}

fn to_json(time: &str, r: &Row) -> serde_json::Value {
    json!({
        "time": time,
        "tid": r.tid,
        "pid": r.pid,
        "comm": escape::json_text(&r.comm),
        "reads": r.reads,
        "writes": r.writes,
        "rbytes": r.rbytes,
        "wbytes": r.wbytes,
        "type": r.kind.to_string(),
        "file": escape::json_text(&r.file),
    })
}

fn full_count(obj: &Object) -> u64 {
    let Ok(map) = find_map(obj, "full") else {
        return 0;
    };
    match map.lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY) {
        Ok(Some(v)) => hist::sum_percpu_u64(&v),
        _ => 0,
    }
}

fn tick(ctx: &Ctx, a: &Args, obj: &Object, full_seen: &mut u64) -> Result<()> {
    let mut rows = drain(obj)?;
    sort_rows(&mut rows, a.sort);
    rows.truncate(a.maxrows as usize);
    let time = ctx.clock.hms();
    if ctx.common.json {
        for r in &rows {
            ctx.out().json_line(&to_json(&time, r))?;
        }
    } else {
        let mut out = ctx.out();
        if !a.noclear {
            // Home and clear, as `clear` would.
            out.line("\x1b[H\x1b[2J")?;
        }
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        out.line(&format!("{time} loadavg: {}", load.trim()))?;
        out.line("")?;
        out.line(&header())?;
        for r in &rows {
            out.line(&row(r))?;
        }
        if a.noclear {
            out.line("")?;
        }
    }
    let full = full_count(obj);
    if full > *full_seen {
        eprintln!(
            "{}: {} reads/writes not counted (more than 10240 thread-file pairs in an interval)",
            ctx.tool,
            full - *full_seen
        );
        *full_seen = full;
    }
    Ok(())
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p')])?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<FiletopSkelBuilder>(PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("filetop's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.all_files = args.all_files;
        Ok(())
    })?;
    if !ctx.common.json {
        ctx.out()
            .line(&format!("Tracing... Output every {} secs. Hit Ctrl-C to end", args.interval.as_secs_f64()))?;
        ctx.out().flush()?;
    }
    let mut full_seen = 0;
    ctx.run_interval(Some(args.interval), args.count, |ctx| {
        tick(ctx, &args, skel.object(), &mut full_seen)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(tid: u32, reads: u64, writes: u64, rbytes: u64, wbytes: u64) -> Row {
        Row {
            tid,
            pid: tid,
            comm: b"w".to_vec(),
            reads,
            writes,
            rbytes,
            wbytes,
            kind: 'R',
            file: format!("f{tid}").into_bytes(),
        }
    }

    #[test]
    fn sorting_and_rows() {
        let mut rows = vec![r(1, 1, 0, 10, 0), r(2, 0, 5, 0, 100), r(3, 9, 0, 50, 0)];
        sort_rows(&mut rows, SortBy::All);
        assert_eq!(rows.iter().map(|r| r.tid).collect::<Vec<_>>(), [2, 3, 1]);
        sort_rows(&mut rows, SortBy::Reads);
        assert_eq!(rows[0].tid, 3);
        sort_rows(&mut rows, SortBy::Wbytes);
        assert_eq!(rows[0].tid, 2);
        let x = r(7, 2, 3, 6000, 15000);
        assert_eq!(row(&x), format!("{:<7} {:<16} {:<6} {:<6} {:<7} {:<7} R f7", 7, "w", 2, 3, 5, 14));
        assert_eq!(header(), "TID     COMM             READS  WRITES R_Kb    W_Kb    T FILE");
        assert_eq!(to_json("t", &x)["wbytes"], 15000);
    }

    #[test]
    fn flags_parse() {
        let a = Args::try_parse_from(["filetop", "-a", "-C", "-r", "5", "-s", "rbytes", "2", "3"]).unwrap();
        assert!(a.all_files && a.noclear);
        assert_eq!((a.maxrows, a.sort, a.count), (5, SortBy::Rbytes, Some(3)));
        assert_eq!(a.interval, Duration::from_secs(2));
        assert!(Args::try_parse_from(["filetop", "-s", "size"]).is_err());
        assert!(Args::try_parse_from(["filetop", "-r", "0"]).is_err());
    }
}
