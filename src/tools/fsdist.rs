//! fsdist (ext4dist, xfsdist, btrfsdist, nfsdist): latency histograms of
//! file reads, writes, opens and fsyncs on one filesystem.
//! Kernel side: src/bpf/fsdist.bpf.c and src/bpf/fsops.bpf.h.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use libbpf_rs::{MapCore, MapFlags, Object};
use serde_json::json;

use crate::runtime::cli::{self, Common};
use crate::runtime::ctx::find_map;
use crate::runtime::fsops::{self, Fs};
use crate::runtime::{hist, Ctx};
use crate::set_filter;
use crate::skel::fsdist::FsdistSkelBuilder;
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "fsdist",
    about: "Summarize file operation latency on one filesystem as histograms",
    aliases: &["ext4dist", "xfsdist", "btrfsdist", "nfsdist"],
    run,
};

const EXAMPLES: &str = "\
Examples:
  ext4dist                  # ext4 operation latency until Ctrl-C
  ext4dist 1 10             # 1 second summaries, 10 times
  ext4dist -m 5             # 5 s summaries, in milliseconds
  ext4dist -T 1             # with a time line per summary
  fsdist -t xfs -p 181      # xfs, only PID 181
  btrfsdist --json 1        # one JSON object per operation and interval

Operations: read, write, open, fsync. Where the kernel has fentry or
kprobes, the filesystem's own file operations are timed; elsewhere the file
syscalls are, kept when their file is on the filesystem (see fsslower
--help). --verbose says which.";

/// Summarize file system operation latency
#[derive(Parser, Debug)]
#[command(name = "fsdist", version, after_help = EXAMPLES)]
struct Args {
    /// Filesystem: ext4, xfs, btrfs or nfs (set by the name ext4dist etc.)
    #[arg(short = 't', long = "type", value_name = "FS")]
    fs: Option<String>,
    /// Include a time line with each summary
    #[arg(short = 'T', long = "timestamp")]
    timestamp: bool,
    /// Milliseconds instead of microseconds
    #[arg(short = 'm', long = "milliseconds")]
    milliseconds: bool,
    /// Seconds between summaries (default: one summary at the end)
    #[arg(value_name = "INTERVAL", value_parser = cli::parse_interval)]
    interval: Option<Duration>,
    /// Number of summaries
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    count: Option<u64>,
    #[command(flatten)]
    common: Common,
}

const SLOTS: usize = 32;

/// One operation's histogram, read from the `hists` map.
fn read_hist(obj: &Object, op: u32) -> Result<[u64; SLOTS]> {
    let map = find_map(obj, "hists")?;
    let bytes = map
        .lookup(&op.to_ne_bytes(), MapFlags::ANY)
        .context("reading the histograms")?
        .unwrap_or_default();
    let mut out = [0u64; SLOTS];
    for (slot, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        *slot = u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8]));
    }
    Ok(out)
}

fn tick(ctx: &Ctx, a: &Args, fs: &Fs, obj: &Object, prev: &mut [[u64; SLOTS]; 4]) -> Result<()> {
    let unit = if a.milliseconds { "msecs" } else { "usecs" };
    let time = ctx.clock.hms();
    if a.timestamp && !ctx.common.json {
        ctx.out().line(&format!("\n{time}:"))?;
    }
    for (op, name) in fsops::OPS.iter().enumerate() {
        let cur = read_hist(obj, op as u32)?;
        let delta: Vec<u64> = cur
            .iter()
            .zip(prev[op].iter())
            .map(|(c, p)| c.saturating_sub(*p))
            .collect();
        prev[op] = cur;
        let total: u64 = delta.iter().sum();
        if total == 0 {
            continue;
        }
        if ctx.common.json {
            let mut v = hist::log2_json(unit, &delta);
            v["fs"] = json!(fs.name);
            v["operation"] = json!(name);
            v["count"] = json!(total);
            if a.timestamp {
                v["time"] = json!(time);
            }
            ctx.out().json_line(&v)?;
        } else {
            ctx.out().line(&format!("\noperation = '{name}'"))?;
            for l in hist::log2_lines(unit, &delta) {
                ctx.out().line(&l)?;
            }
        }
    }
    Ok(())
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p')])?;
    let fs = fsops::choose(&inv.called_as, TOOL.name, args.fs.as_deref())?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<FsdistSkelBuilder>(fs.plan, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("fsdist's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.unit_ns = if args.milliseconds { 1_000_000 } else { 1000 };
        ro.fs_magic = fs.magic;
        ro.self_tgid = std::process::id();
        for (d, s) in ro.fs_name.iter_mut().zip(fsops::type_name_bytes(fs)) {
            *d = s as _;
        }
        Ok(())
    })?;
    if !ctx.common.json {
        let how = match args.interval {
            Some(_) => "",
            None => " Hit Ctrl-C to end.",
        };
        ctx.out()
            .line(&format!("Tracing {} operation latency...{how}", fs.name))?;
        ctx.out().flush()?;
    }
    let mut prev = [[0u64; SLOTS]; 4];
    ctx.run_interval(args.interval, args.count, |ctx| {
        tick(ctx, &args, fs, skel.object(), &mut prev)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse() {
        let a = Args::try_parse_from(["ext4dist", "-T", "-m", "1", "5"]).unwrap();
        assert!(a.timestamp && a.milliseconds);
        assert_eq!(a.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.count, Some(5));
        assert!(Args::try_parse_from(["ext4dist", "0"]).is_err());
        assert!(Args::try_parse_from(["ext4dist", "1", "0"]).is_err());
        assert!(Args::try_parse_from(["ext4dist", "-t", "xfs"]).is_ok());
    }
}
