//! fsslower (ext4slower, xfsslower, btrfsslower, nfsslower): file reads,
//! writes, opens and fsyncs on one filesystem slower than a threshold.
//! Kernel side: src/bpf/fsslower.bpf.c and src/bpf/fsops.bpf.h.

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use serde_json::json;

use crate::runtime::cli::{self, Common};
use crate::runtime::fsops::{self, Fs};
use crate::runtime::{error::usage, escape, output, record, Ctx};
use crate::set_filter;
use crate::skel::fsslower::{types, FsslowerSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "fsslower",
    about: "Trace slow file reads, writes, opens and fsyncs on one filesystem",
    aliases: &["ext4slower", "xfsslower", "btrfsslower", "nfsslower"],
    run,
};

const EXAMPLES: &str = "\
Examples:
  ext4slower                # ext4 operations slower than 10 ms
  ext4slower 1              # slower than 1 ms (bcc's positional form)
  ext4slower 0              # every operation
  fsslower -t xfs -m 5      # xfs operations slower than 5 ms
  fsslower -t btrfs -p 181  # only PID 181
  ext4slower -j 1           # CSV (also -c)
  ext4slower --json 0       # one JSON object per operation
  nfsslower -d 10           # trace for 10 seconds

Where the kernel has fentry or kprobes, the filesystem's own file
operations are timed (ext4_file_read_iter, ext4_file_write_iter,
ext4_file_open, ext4_sync_file, and their xfs, btrfs and nfs equivalents).
Elsewhere the read, write, pread64, pwrite64, readv, writev, preadv,
pwritev, open, openat, openat2, fsync and fdatasync syscalls are timed and
kept when their file is on the filesystem: the latency then includes the
syscall's own overhead, and I/O through mmap, sendfile or io_uring is not
seen. --verbose says which. OFF_KB is the file position at the start, in KiB.";

/// Trace file system operations slower than a threshold
#[derive(Parser, Debug)]
#[command(name = "fsslower", version, after_help = EXAMPLES)]
struct Args {
    /// Filesystem: ext4, xfs, btrfs or nfs (set by the name ext4slower etc.)
    #[arg(short = 't', long = "type", value_name = "FS")]
    fs: Option<String>,
    /// Trace operations slower than this many milliseconds (0: all; default 10)
    #[arg(short = 'm', long = "min", value_name = "MS", value_parser = parse_ms)]
    min_ms: Option<f64>,
    /// Comma-separated values instead of columns (bcc's -j, libbpf-tools' -c)
    #[arg(short = 'c', short_alias = 'j', long = "csv")]
    csv: bool,
    /// Milliseconds, as bcc's positional threshold (same as -m)
    #[arg(value_name = "MIN_MS", value_parser = parse_ms)]
    min_pos: Option<f64>,
    #[command(flatten)]
    common: Common,
}

fn parse_ms(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400_000.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a number of milliseconds (0 or more)")),
    }
}

unsafe impl plain::Plain for types::fsslower_event {}

struct Op {
    end_ns: u64,
    delta_ns: u64,
    offset: u64,
    bytes: i64,
    pid: u32,
    tid: u32,
    op: u32,
    comm: Vec<u8>,
    file: Vec<u8>,
}

fn decode(data: &[u8]) -> Option<Op> {
    let e: types::fsslower_event = record::read(data, std::mem::size_of::<types::fsslower_event>())?;
    Some(Op {
        end_ns: e.end_ns,
        delta_ns: e.delta_ns,
        offset: e.offset,
        bytes: e.bytes,
        pid: e.pid,
        tid: e.tid,
        op: e.op,
        comm: escape::cchars(&e.comm),
        file: escape::cchars(&e.file),
    })
}

const CSV_HEADER: &str = "ENDTIME_us,TASK,PID,TYPE,BYTES,OFFSET_b,LATENCY_us,FILE";

fn header() -> String {
    format!(
        "{:<8} {:<16} {:<7} {} {:<7} {:<8} {:>7} FILENAME",
        "TIME", "COMM", "PID", "T", "BYTES", "OFF_KB", "LAT(ms)"
    )
}

fn row(time: &str, o: &Op) -> String {
    format!(
        "{:<8} {:<16} {:<7} {} {:<7} {:<8} {:>7.2} {}",
        time,
        escape::printable(&o.comm),
        o.pid,
        fsops::op_letter(o.op),
        o.bytes,
        o.offset / 1024,
        o.delta_ns as f64 / 1e6,
        escape::printable(&o.file)
    )
}

/// A CSV field: quoted when it holds a comma, quote or space-like break.
fn csv_field(bytes: &[u8]) -> String {
    let p = escape::printable(bytes);
    if p.contains([',', '"']) {
        format!("\"{}\"", p.replace('"', "\"\""))
    } else {
        p
    }
}

fn csv_row(o: &Op) -> String {
    format!(
        "{},{},{},{},{},{},{},{}",
        o.end_ns / 1000,
        csv_field(&o.comm),
        o.pid,
        fsops::op_letter(o.op),
        o.bytes,
        o.offset,
        o.delta_ns / 1000,
        csv_field(&o.file)
    )
}

fn to_json(time: &str, fs: &Fs, o: &Op) -> serde_json::Value {
    json!({
        "time": time,
        "fs": fs.name,
        "comm": escape::json_text(&o.comm),
        "pid": o.pid,
        "tid": o.tid,
        "op": fsops::op_name(o.op),
        "type": fsops::op_letter(o.op).to_string(),
        "bytes": o.bytes,
        "offset": o.offset,
        "latency_us": (o.delta_ns as f64 / 1e3 * 1000.0).round() / 1000.0,
        "end_ns": o.end_ns,
        "file": escape::json_text(&o.file),
    })
}

/// Hardening hook (tests/hardening.rs): decode one ring record, however
/// hostile, and render it every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let (Some(o), Some(fs)) = (decode(data), fsops::find("ext4")) else {
        return Vec::new();
    };
    vec![
        header(),
        row("12:34:56", &o),
        CSV_HEADER.to_string(),
        csv_row(&o),
        output::json_string(&to_json("12:34:56", fs, &o)),
    ]
}

fn threshold_ms(args: &Args) -> Result<f64> {
    match (args.min_ms, args.min_pos) {
        (Some(a), Some(b)) if a != b => Err(usage(format!(
            "two thresholds given (-m {a} and {b}): use one"
        ))),
        (Some(v), _) | (None, Some(v)) => Ok(v),
        (None, None) => Ok(10.0),
    }
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p'), ("duration", 'd')])?;
    let fs = fsops::choose(&inv.called_as, TOOL.name, args.fs.as_deref())?;
    let min_ms = threshold_ms(&args)?;
    if args.csv && args.common.json {
        return Err(usage("--csv and --json exclude each other"));
    }
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<FsslowerSkelBuilder>(fs.plan, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("fsslower's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.min_ns = (min_ms * 1e6) as u64;
        ro.fs_magic = fs.magic;
        ro.self_tgid = std::process::id();
        for (d, s) in ro.fs_name.iter_mut().zip(fsops::type_name_bytes(fs)) {
            *d = s as _;
        }
        Ok(())
    })?;

    if args.csv {
        ctx.out().line(CSV_HEADER)?;
    } else if !ctx.common.json {
        if min_ms == 0.0 {
            ctx.out().line(&format!("Tracing {} operations", fs.name))?;
        } else {
            ctx.out()
                .line(&format!("Tracing {} operations slower than {min_ms} ms", fs.name))?;
        }
        ctx.out().line(&header())?;
    }
    ctx.out().flush()?;
    ctx.run_ring(skel.object(), |data| {
        let Some(o) = decode(data) else {
            return Ok(());
        };
        if args.csv {
            ctx.out().line(&csv_row(&o))
        } else if ctx.common.json {
            let v = to_json(&ctx.clock.hms(), fs, &o);
            ctx.out().json_line(&v)
        } else {
            let r = row(&ctx.clock.hms(), &o);
            ctx.out().line(&r)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op() -> Op {
        Op {
            end_ns: 5_000_123_456,
            delta_ns: 12_345_678,
            offset: 8192,
            bytes: 4096,
            pid: 42,
            tid: 43,
            op: 1,
            comm: b"dd".to_vec(),
            file: b"a,\"b\x1b".to_vec(),
        }
    }

    #[test]
    fn rows() {
        let o = op();
        assert_eq!(
            row("01:02:03", &o),
            format!("01:02:03 {:<16} {:<7} W {:<7} {:<8} {:>7} a,\"b\\x1b", "dd", 42, 4096, 8, "12.35")
        );
        assert_eq!(csv_row(&o), "5000123,dd,42,W,4096,8192,12345,\"a,\"\"b\\x1b\"");
        let v = to_json("01:02:03", fsops::find("ext4").unwrap(), &o);
        assert_eq!(v["op"], "write");
        assert_eq!(v["latency_us"], 12345.678);
        assert_eq!(v["file"], "a,\"b\x1b");
        assert!(header().starts_with("TIME     COMM             PID     T BYTES   OFF_KB   LAT(ms) FILENAME"));
    }

    #[test]
    fn thresholds() {
        let p = |v: &[&str]| Args::try_parse_from(v).unwrap();
        assert_eq!(threshold_ms(&p(&["ext4slower"])).unwrap(), 10.0);
        assert_eq!(threshold_ms(&p(&["ext4slower", "1"])).unwrap(), 1.0);
        assert_eq!(threshold_ms(&p(&["fsslower", "-m", "0"])).unwrap(), 0.0);
        assert_eq!(threshold_ms(&p(&["fsslower", "-m", "2", "2"])).unwrap(), 2.0);
        assert!(threshold_ms(&p(&["fsslower", "-m", "2", "3"])).is_err());
        assert!(Args::try_parse_from(["fsslower", "-m", "-1"]).is_err());
        assert!(Args::try_parse_from(["fsslower", "x"]).is_err());
        assert!(p(&["ext4slower", "-j"]).csv && p(&["ext4slower", "-c"]).csv);
    }
}
