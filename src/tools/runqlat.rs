//! runqlat: run queue (scheduler) latency as log2 histograms.
//! Kernel side: src/bpf/runqlat.bpf.c (maps: src/bpf/runqlat.h).

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use serde_json::{json, Value};

use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::error::usage;
use crate::runtime::summary::{self, Every, Section};
use crate::runtime::{escape, hist, maps, missed, Ctx};
use crate::set_filter;
use crate::skel::runqlat::{types, RunqlatSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "runqlat",
    about: "Summarize run queue (scheduler) latency as a histogram",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  runqlat                   # summarize run queue latency as a histogram
  runqlat 1 10              # print 1 second summaries, 10 times
  runqlat -mT 1             # 1s summaries, milliseconds, and timestamps
  runqlat -P                # show each PID separately
  runqlat -L                # show each thread (TID) separately
  runqlat --pidnss          # show each PID namespace separately
  runqlat -p 185            # trace PID 185 only
  runqlat --json 1          # one JSON object per histogram per second

A task waits on a run queue from its wake-up (or from being preempted while
still runnable) until it is switched onto a CPU.";

/// Summarize run queue (scheduler) latency as a histogram
#[derive(Parser, Debug)]
#[command(name = "runqlat", version, after_help = EXAMPLES)]
struct Args {
    /// Millisecond histogram
    #[arg(short = 'm', long = "milliseconds")]
    milliseconds: bool,
    /// Print a histogram per process ID
    #[arg(short = 'P', long = "pids", conflicts_with_all = ["tids", "pidnss"])]
    pids: bool,
    /// Print a histogram per thread ID
    #[arg(short = 'L', long = "tids", conflicts_with = "pidnss")]
    tids: bool,
    /// Print a histogram per PID namespace
    #[arg(long = "pidnss")]
    pidnss: bool,
    #[command(flatten)]
    every: Every,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[
    Alt {
        label: "tp_btf sched_wakeup, sched_wakeup_new, sched_switch",
        progs: &["tp_btf_sched_wakeup", "tp_btf_sched_wakeup_new", "tp_btf_sched_switch"],
    },
    Alt {
        label: "raw_tp sched_wakeup, sched_wakeup_new, sched_switch",
        progs: &["raw_tp_sched_wakeup", "raw_tp_sched_wakeup_new", "raw_tp_sched_switch"],
    },
];

// Histogram keys, as runqlat.bpf.c's RUNQLAT_BY_*.
const BY_NONE: u32 = 0;
const BY_PID: u32 = 1;
const BY_TID: u32 = 2;
const BY_PIDNS: u32 = 3;

unsafe impl plain::Plain for types::runqlat_hist {}

impl Args {
    fn key_by(&self) -> u32 {
        if self.pids {
            BY_PID
        } else if self.tids {
            BY_TID
        } else if self.pidnss {
            BY_PIDNS
        } else {
            BY_NONE
        }
    }

    fn unit(&self) -> &'static str {
        if self.milliseconds {
            "msecs"
        } else {
            "usecs"
        }
    }
}

struct Hist {
    id: u32,
    comm: Vec<u8>,
    slots: Vec<u64>,
    total: u64,
    count: u64,
}

fn read_hists(obj: &libbpf_rs::Object) -> Result<Vec<Hist>> {
    let mut out: Vec<Hist> = maps::take_all_as::<u32, types::runqlat_hist>(obj, "hists")?
        .into_iter()
        .map(|(id, v)| Hist {
            id,
            comm: escape::cchars(&v.comm),
            slots: v.slots.to_vec(),
            total: v.total,
            count: v.count,
        })
        .collect();
    out.sort_by_key(|h| h.id);
    Ok(out)
}

fn text(a: &Args, h: &Hist) -> Vec<String> {
    let mut lines = Vec::new();
    let comm = escape::printable(&h.comm);
    match a.key_by() {
        BY_PID => lines.extend([String::new(), format!("pid = {} {comm}", h.id)]),
        BY_TID => lines.extend([String::new(), format!("tid = {} {comm}", h.id)]),
        BY_PIDNS => lines.extend([String::new(), format!("pidns = {}", h.id)]),
        _ => {}
    }
    lines.extend(hist::log2_lines(a.unit(), &h.slots));
    lines
}

fn to_json(a: &Args, h: &Hist) -> Value {
    let mut v = hist::log2_json(a.unit(), &h.slots);
    match a.key_by() {
        BY_PID => {
            v["pid"] = json!(h.id);
            v["comm"] = json!(escape::json_text(&h.comm));
        }
        BY_TID => {
            v["tid"] = json!(h.id);
            v["comm"] = json!(escape::json_text(&h.comm));
        }
        BY_PIDNS => v["pidns"] = json!(h.id),
        _ => {}
    }
    v["count"] = json!(h.count);
    v["total"] = json!(h.total);
    v
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p')])?;
    if args.common.cgroup.is_some() {
        return Err(usage(
            "--cgroup is not supported by runqlat: the waiting task is not the running one at the \
             scheduler hooks, so its cgroup cannot be checked (--pidnss splits by container instead)",
        ));
    }
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<RunqlatSkelBuilder>(PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("runqlat's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.key_by = args.key_by();
        ro.milliseconds = args.milliseconds;
        Ok(())
    })?;

    let obj = skel.object();
    let result = summary::run(&ctx, &args.every, "Tracing run queue latency... Hit Ctrl-C to end.", || {
        Ok(read_hists(obj)?
            .iter()
            .map(|h| Section { text: text(&args, h), json: to_json(&args, h) })
            .collect())
    });
    missed::report(&ctx, obj, "run queue waits");
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist() -> Hist {
        let mut slots = vec![0u64; 32];
        slots[2] = 5;
        Hist { id: 77, comm: b"spin".to_vec(), slots, total: 20, count: 5 }
    }

    #[test]
    fn output() {
        let a = Args::try_parse_from(["runqlat", "-P"]).unwrap();
        let l = text(&a, &hist());
        assert_eq!(l[1], "pid = 77 spin");
        assert!(l[2].contains("usecs"));
        assert!(l[5].contains("4 -> 7") && l[5].contains(": 5 "));
        let v = to_json(&a, &hist());
        assert_eq!(v["pid"], 77);
        assert_eq!(v["comm"], "spin");
        assert_eq!(v["count"], 5);
        let a = Args::try_parse_from(["runqlat", "--pidnss", "-m"]).unwrap();
        assert_eq!(text(&a, &hist())[1], "pidns = 77");
        assert_eq!(to_json(&a, &hist())["unit"], "msecs");
        let a = Args::try_parse_from(["runqlat"]).unwrap();
        assert!(text(&a, &hist())[0].contains("usecs"));
    }

    #[test]
    fn flags_parse() {
        assert!(Args::try_parse_from(["runqlat", "-P", "-L"]).is_err());
        assert!(Args::try_parse_from(["runqlat", "-L", "--pidnss"]).is_err());
        let a = Args::try_parse_from(["runqlat", "-mT", "1", "3"]).unwrap();
        assert!(a.milliseconds && a.every.timestamp);
        assert_eq!(a.every.count, Some(3));
    }
}
