//! biosnoop: trace block I/O requests with their issuer, disk, size and latency.
//! Kernel side: src/bpf/biosnoop.bpf.c (record: src/bpf/biosnoop.h).

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use serde_json::json;

use crate::runtime::blk::{self, Disks};
use crate::runtime::cli::{self, Common};
use crate::runtime::{escape, missed, output, record, Ctx};
use crate::skel::biosnoop::{types, BiosnoopSkelBuilder};
use crate::tools::{Invocation, Tool};
use crate::{set_disk_filter, set_filter};

pub const TOOL: Tool = Tool {
    name: "biosnoop",
    about: "Trace block I/O: issuer, disk, op, sector, size and latency per request",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  biosnoop                  # trace all block I/O
  biosnoop -Q               # include OS queued time (QUE column)
  biosnoop -d sdc           # trace sdc only (a partition name works too)
  biosnoop -p 181           # only I/O issued by PID 181
  biosnoop -m 10            # only I/O with a device latency of 10 ms or more
  biosnoop 10               # trace for 10 seconds only
  biosnoop -c /sys/fs/cgroup/app  # only I/O issued from this cgroup
  biosnoop --json           # one JSON object per request

COMM and PID are the task that made the request (recorded when the kernel
first sees it: block_io_start on 6.5+, else queue insert or issue), not the
interrupt that completed it. T is the kernel's rwbs: R read, W write, F flush,
D discard, then A readahead, S sync, M metadata (an F after the op is FUA).
LAT(ms) is issue to completion; QUE(ms) is first sight to issue. SECTOR is
- for requests without a position (cache flushes).";

/// Trace block device I/O with PID and latency
#[derive(Parser, Debug)]
#[command(name = "biosnoop", version, after_help = EXAMPLES)]
struct Args {
    /// Include OS queued time (QUE column)
    #[arg(short = 'Q', long = "queue", visible_alias = "queued")]
    queue: bool,
    /// Trace this disk (or partition) only
    #[arg(short = 'd', long = "disk", value_name = "DISK")]
    disk: Option<String>,
    /// Only requests with a device latency of at least MIN_MS milliseconds
    #[arg(short = 'm', long = "min", value_name = "MIN_MS", value_parser = parse_ms)]
    min_ms: Option<f64>,
    /// Trace for this many seconds
    // Its own id: "duration" is the common --duration's, and sharing it
    // made --duration's errors name this positional.
    #[arg(id = "duration_pos", value_name = "DURATION", value_parser = cli::parse_duration)]
    duration: Option<std::time::Duration>,
    #[command(flatten)]
    common: Common,
}

fn parse_ms(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..1e9).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a latency in milliseconds")),
    }
}

unsafe impl plain::Plain for types::biosnoop_event {}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// A request with no position (a cache flush) has sector -1 in the kernel.
fn sector(e: &types::biosnoop_event) -> Option<u64> {
    (e.sector != u64::MAX).then_some(e.sector)
}

fn header(a: &Args) -> String {
    let mut h = format!(
        "{:<11} {:<14} {:<7} {:<7} {:<4} {:<10} {:<7} ",
        "TIME(s)", "COMM", "PID", "DISK", "T", "SECTOR", "BYTES"
    );
    if a.queue {
        h.push_str(&format!("{:>7} ", "QUE(ms)"));
    }
    h.push_str(&format!("{:>7}", "LAT(ms)"));
    h
}

struct Event {
    secs: f64,
    comm: Vec<u8>,
    disk: String,
    e: types::biosnoop_event,
}

fn row(a: &Args, ev: &Event) -> String {
    let e = &ev.e;
    let comm = escape::printable(&ev.comm);
    let comm: String = comm.chars().take(14).collect();
    let mut r = format!(
        "{:<11.6} {:<14} {:<7} {:<7} {:<4} {:<10} {:<7} ",
        ev.secs,
        comm,
        e.pid,
        ev.disk,
        blk::rwbs(e.opflags),
        sector(e).map_or("-".to_string(), |s| s.to_string()),
        e.bytes
    );
    if a.queue {
        r.push_str(&format!("{:>7.3} ", ms(e.queue_ns)));
    }
    r.push_str(&format!("{:>7.3}", ms(e.lat_ns)));
    r
}

fn to_json(a: &Args, ev: &Event) -> serde_json::Value {
    let e = &ev.e;
    let mut v = json!({
        "time_s": (ev.secs * 1e6).round() / 1e6,
        "comm": escape::json_text(&ev.comm),
        "pid": e.pid,
        "tid": e.tid,
        "disk": ev.disk,
        "dev": blk::dev_string(e.dev),
        "rwbs": blk::rwbs(e.opflags),
        "op": blk::op_name(e.opflags),
        "flags": blk::flag_names(e.opflags),
        "sector": sector(e),
        "bytes": e.bytes,
        "lat_ms": ms(e.lat_ns),
        "error": e.error,
    });
    if a.queue {
        v["que_ms"] = json!(ms(e.queue_ns));
    }
    v
}

fn decode(data: &[u8], start_ns: u64, disks: &Disks) -> Option<Event> {
    let e = record::read::<types::biosnoop_event>(data, std::mem::size_of::<types::biosnoop_event>())?;
    Some(Event {
        secs: e.ts_ns.saturating_sub(start_ns) as f64 / 1e9,
        comm: escape::cchars(&e.comm),
        disk: disks.name(e.dev),
        e,
    })
}

/// Hardening hook (tests/hardening.rs): decode one ring record, however
/// hostile, and render it every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let Some(ev) = decode(data, 0, &Disks::default()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for flags in [&[][..], &["-Q"][..]] {
        if let Ok(a) = Args::try_parse_from(std::iter::once("biosnoop").chain(flags.iter().copied())) {
            out.push(header(&a));
            out.push(row(&a, &ev));
            out.push(output::json_string(&to_json(&a, &ev)));
        }
    }
    out
}

fn run(inv: &Invocation) -> Result<()> {
    let mut args: Args = cli::parse(inv, &[("pid", 'p'), ("cgroup", 'c')])?;
    if args.duration.is_some() && args.common.duration.is_none() {
        args.common.duration = args.duration;
    }
    let disk = args.disk.as_deref().map(blk::resolve_disk).transpose()?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<BiosnoopSkelBuilder>(blk::PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("biosnoop's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        set_disk_filter!(ro, disk);
        ro.min_lat_ns = args.min_ms.map_or(0, |m| (m * 1e6) as u64);
        Ok(())
    })?;
    let start_ns = blk::monotonic_ns();

    if !ctx.common.json {
        ctx.out().line(&header(&args))?;
        ctx.out().flush()?;
    }
    let disks = Disks::default();
    let result = ctx.run_ring(skel.object(), |data| {
        let Some(ev) = decode(data, start_ns, &disks) else {
            return Ok(());
        };
        if ctx.common.json {
            ctx.out().json_line(&to_json(&args, &ev))
        } else {
            ctx.out().line(&row(&args, &ev))
        }
    });
    missed::report(&ctx, skel.object(), "I/O requests");
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        let mut e = types::biosnoop_event {
            pid: 42,
            tid: 43,
            sector: 2048,
            bytes: 16384,
            lat_ns: 1_234_567,
            queue_ns: 5_000,
            dev: 7 << 20 | 3,
            opflags: blk::OP_WRITE | (blk::F_SYNC | blk::F_IDLE) << 8,
            ..Default::default()
        };
        for (d, s) in e.comm.iter_mut().zip(b"dd\x1b") {
            *d = *s as _;
        }
        Event { secs: 1.5, comm: escape::cchars(&e.comm), disk: "loop3".into(), e }
    }

    #[test]
    fn rows() {
        let a = Args::try_parse_from(["biosnoop"]).unwrap();
        assert_eq!(
            header(&a),
            "TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   LAT(ms)"
        );
        assert_eq!(
            row(&a, &event()),
            "1.500000    dd\\x1b         42      loop3   WS   2048       16384     1.235"
        );
        let a = Args::try_parse_from(["biosnoop", "-Q"]).unwrap();
        assert!(header(&a).ends_with("QUE(ms) LAT(ms)"));
        assert!(row(&a, &event()).ends_with("  0.005   1.235"));
        let v = to_json(&a, &event());
        assert_eq!(v["disk"], "loop3");
        assert_eq!(v["dev"], "7:3");
        assert_eq!(v["rwbs"], "WS");
        assert_eq!(v["op"], "write");
        assert_eq!(v["bytes"], 16384);
        assert_eq!(v["que_ms"], 0.005);
        let mut flush = event();
        flush.e.sector = u64::MAX;
        flush.e.opflags = blk::OP_FLUSH;
        assert!(to_json(&a, &flush)["sector"].is_null());
        assert!(row(&a, &flush).contains(" F    -          16384 "));
    }

    #[test]
    fn flags_parse() {
        let a = Args::try_parse_from(["biosnoop", "-Q", "-d", "sda", "-m", "2.5", "10"]).unwrap();
        assert!(a.queue);
        assert_eq!(a.disk.as_deref(), Some("sda"));
        assert_eq!(a.min_ms, Some(2.5));
        assert_eq!(a.duration, Some(std::time::Duration::from_secs(10)));
        assert!(Args::try_parse_from(["biosnoop", "--queued"]).unwrap().queue);
        assert!(Args::try_parse_from(["biosnoop", "-m", "-1"]).is_err());
        assert!(Args::try_parse_from(["biosnoop", "0"]).is_err());
    }
}
