//! biolatency: block I/O latency as log2 histograms, per disk or per flags.
//! Kernel side: src/bpf/biolatency.bpf.c (maps: src/bpf/biolatency.h).

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use serde_json::{json, Value};

use crate::runtime::attach::Alt;
use crate::runtime::blk::{self, Disks};
use crate::runtime::cli::{self, Common};
use crate::runtime::summary::{self, Every, Section};
use crate::runtime::{hist, maps, missed, Ctx};
use crate::skel::biolatency::{types, BiolatencySkelBuilder};
use crate::tools::{Invocation, Tool};
use crate::{set_disk_filter, set_filter};

pub const TOOL: Tool = Tool {
    name: "biolatency",
    about: "Summarize block device I/O latency as a histogram",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  biolatency                # summarize block I/O latency as a histogram
  biolatency 1 10           # print 1 second summaries, 10 times
  biolatency -mT 1          # 1s summaries, milliseconds, and timestamps
  biolatency -Q             # include OS queued time in I/O time
  biolatency -D             # show each disk device separately
  biolatency -F             # show I/O flags separately
  biolatency -d sdc         # trace sdc only
  biolatency -e             # also show the average and total latency
  biolatency -p 181         # only I/O issued by PID 181
  biolatency --json 1       # one JSON object per histogram per interval

Latency is from issue to the device until completion; with -Q, from when
the kernel first saw the request (queued time included). The issuer (for
-p, -c and the other filters) is the task that made the request.";

/// Summarize block device I/O latency as a histogram
#[derive(Parser, Debug)]
#[command(name = "biolatency", version, after_help = EXAMPLES)]
struct Args {
    /// Include OS queued time in I/O time
    #[arg(short = 'Q', long = "queued")]
    queued: bool,
    /// Millisecond histogram
    #[arg(short = 'm', long = "milliseconds")]
    milliseconds: bool,
    /// Print a histogram per disk device
    #[arg(short = 'D', long = "disks")]
    disks: bool,
    /// Print a histogram per set of I/O flags
    #[arg(short = 'F', long = "flags")]
    flags: bool,
    /// Trace this disk (or partition) only
    #[arg(short = 'd', long = "disk", value_name = "DISK")]
    disk: Option<String>,
    /// Also show the average and total latency of each histogram
    #[arg(short = 'e', long = "extension")]
    extension: bool,
    #[command(flatten)]
    every: Every,
    #[command(flatten)]
    common: Common,
}

unsafe impl plain::Plain for types::biolatency_key {}
unsafe impl plain::Plain for types::biolatency_hist {}

struct Hist {
    disk: Option<String>,
    flags: Option<String>,
    slots: Vec<u64>,
    total: u64,
    count: u64,
}

fn read_hists(
    a: &Args,
    obj: &libbpf_rs::Object,
    disks: &Disks,
    all: &mut maps::Gains,
) -> Result<Vec<Hist>> {
    if !a.disks && !a.flags {
        // One histogram, in hist_all: slots, then the total.
        let words = all.take(obj, "hist_all")?;
        let n = types::biolatency_hist::default().slots.len();
        let slots: Vec<u64> = words.iter().take(n).copied().collect();
        let count: u64 = slots.iter().sum();
        if count == 0 {
            return Ok(Vec::new());
        }
        let total = words.get(n).copied().unwrap_or(0);
        return Ok(vec![Hist { disk: None, flags: None, slots, total, count }]);
    }
    let mut out: Vec<Hist> = maps::take_all_as::<types::biolatency_key, types::biolatency_hist>(obj, "hists")?
        .into_iter()
        .map(|(k, v)| Hist {
            disk: a.disks.then(|| disks.name(k.dev)),
            flags: a.flags.then(|| blk::bcc_flags(k.opflags)),
            slots: v.slots.to_vec(),
            total: v.total,
            count: v.slots.iter().sum(),
        })
        .collect();
    out.sort_by(|x, y| (&x.disk, &x.flags).cmp(&(&y.disk, &y.flags)));
    Ok(out)
}

fn unit(a: &Args) -> &'static str {
    if a.milliseconds {
        "msecs"
    } else {
        "usecs"
    }
}

fn text(a: &Args, h: &Hist) -> Vec<String> {
    let mut lines = Vec::new();
    let section = match (&h.disk, &h.flags) {
        (Some(d), Some(f)) => Some(format!("disk = {d}\tflags = {f}")),
        (Some(d), None) => Some(format!("disk = {d}")),
        (None, Some(f)) => Some(format!("flags = {f}")),
        (None, None) => None,
    };
    if let Some(s) = section {
        lines.push(String::new());
        lines.push(s);
    }
    lines.extend(hist::log2_lines(unit(a), &h.slots));
    if a.extension {
        let avg = h.total.checked_div(h.count).unwrap_or(0);
        let u = unit(a);
        lines.push(String::new());
        lines.push(format!("avg = {avg} {u}, total: {} {u}, count: {}", h.total, h.count));
    }
    lines
}

fn to_json(a: &Args, h: &Hist) -> Value {
    let mut v = hist::log2_json(unit(a), &h.slots);
    v["disk"] = json!(h.disk);
    v["flags"] = json!(h.flags);
    v["count"] = json!(h.count);
    v["total"] = json!(h.total);
    v
}

/// Without -Q or a filter on the issuer, nothing needs the request's first
/// sight: the issue hook alone starts the clock, one program per I/O less.
const PLAN_FROM_ISSUE: &[Alt] = &[Alt {
    label: "tp_btf block_rq_issue, block_rq_complete",
    progs: &["lat_rq_issue", "lat_rq_complete"],
}];

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p'), ("cgroup", 'c'), ("json", 'j')])?;
    let disk = args.disk.as_deref().map(blk::resolve_disk).transpose()?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let f = ctx.filter();
    let issuer_filter = f.pid != 0 || f.tid != 0 || f.uid != u32::MAX || f.cgroup || f.comm_set;
    let from_issue = !(args.queued || issuer_filter);
    let plan = if from_issue { PLAN_FROM_ISSUE } else { blk::PLAN };
    let (skel, _alt) = ctx.load::<BiolatencySkelBuilder>(plan, |open, _alt| {
        // The request table the plan does not use: one entry, not 16384.
        let unused = if from_issue {
            &mut open.maps.blk_inflight
        } else {
            &mut open.maps.issued
        };
        unused
            .set_max_entries(1)
            .context("cannot size biolatency's maps")?;
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("biolatency's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        set_disk_filter!(ro, disk);
        ro.per_disk = args.disks;
        ro.per_flags = args.flags;
        ro.queued = args.queued;
        ro.milliseconds = args.milliseconds;
        ro.want_total = args.extension || args.common.json;
        Ok(())
    })?;

    let disks = Disks::default();
    let obj = skel.object();
    let mut all = maps::Gains::default();
    let result = summary::run(&ctx, &args.every, "Tracing block device I/O... Hit Ctrl-C to end.", || {
        Ok(read_hists(&args, obj, &disks, &mut all)?
            .iter()
            .map(|h| Section { text: text(&args, h), json: to_json(&args, h) })
            .collect())
    });
    missed::report(&ctx, obj, "I/O requests");
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(disk: Option<&str>, flags: Option<&str>) -> Hist {
        let mut slots = vec![0u64; 32];
        slots[4] = 3;
        slots[6] = 1;
        Hist { disk: disk.map(Into::into), flags: flags.map(Into::into), slots, total: 200, count: 4 }
    }

    #[test]
    fn output() {
        let a = Args::try_parse_from(["biolatency", "-D", "-F", "-e"]).unwrap();
        let l = text(&a, &hist(Some("sda"), Some("Sync-Write")));
        assert_eq!(l[0], "");
        assert_eq!(l[1], "disk = sda\tflags = Sync-Write");
        assert!(l[2].contains("usecs") && l[2].contains("count     distribution"));
        assert!(l[7].contains("16 -> 31") && l[7].contains(": 3 "));
        assert_eq!(l.last().unwrap(), "avg = 50 usecs, total: 200 usecs, count: 4");
        let a = Args::try_parse_from(["biolatency", "-m"]).unwrap();
        let l = text(&a, &hist(None, None));
        assert!(l[0].contains("msecs"));
        let v = to_json(&a, &hist(Some("sda"), None));
        assert_eq!(v["disk"], "sda");
        assert!(v["flags"].is_null());
        assert_eq!(v["unit"], "msecs");
        assert_eq!(v["buckets"][4]["count"], 3);
    }

    #[test]
    fn flags_parse() {
        let a = Args::try_parse_from(["biolatency", "-mT", "-Q", "1", "5"]).unwrap();
        assert!(a.milliseconds && a.every.timestamp && a.queued);
        assert_eq!(a.every.interval, Some(std::time::Duration::from_secs(1)));
        assert_eq!(a.every.count, Some(5));
        assert!(Args::try_parse_from(["biolatency", "0"]).is_err());
        assert!(Args::try_parse_from(["biolatency", "1", "0"]).is_err());
        assert!(Args::try_parse_from(["biolatency", "x"]).is_err());
    }
}
