//! bitesize: block I/O sizes as log2 histograms per issuing command name.
//! Kernel side: src/bpf/bitesize.bpf.c (maps: src/bpf/bitesize.h).

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use serde_json::{json, Value};

use crate::runtime::blk;
use crate::runtime::cli::{self, Common};
use crate::runtime::summary::{self, Every, Section};
use crate::runtime::{escape, hist, maps, missed, Ctx};
use crate::skel::bitesize::{types, BitesizeSkelBuilder};
use crate::tools::{Invocation, Tool};
use crate::{set_disk_filter, set_filter};

pub const TOOL: Tool = Tool {
    name: "bitesize",
    about: "Summarize block I/O sizes as histograms per process name",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  bitesize                  # block I/O size histograms until Ctrl-C
  bitesize 1 10             # print 1 second summaries, 10 times
  bitesize -T 1             # 1s summaries with timestamps
  bitesize -c fio           # trace fio only
  bitesize -d sdc           # trace sdc only
  bitesize -p 181           # only I/O issued by PID 181
  bitesize --json 5         # one JSON object per process name every 5 s

Sizes are counted when a request is issued to the device, in Kbytes (a
4096-byte request falls in the 4 -> 7 bucket; requests under 1 Kbyte in
0 -> 1). The name is that of the task that made the request. Zero-byte
requests (cache flushes) are not counted.";

/// Summarize block device I/O size as a histogram
#[derive(Parser, Debug)]
#[command(name = "bitesize", version, after_help = EXAMPLES)]
struct Args {
    /// Trace this disk (or partition) only
    #[arg(short = 'd', long = "disk", value_name = "DISK")]
    disk: Option<String>,
    #[command(flatten)]
    every: Every,
    #[command(flatten)]
    common: Common,
}

unsafe impl plain::Plain for types::bitesize_key {}
unsafe impl plain::Plain for types::bitesize_hist {}

struct Hist {
    comm: Vec<u8>,
    slots: Vec<u64>,
}

fn read_hists(obj: &libbpf_rs::Object) -> Result<Vec<Hist>> {
    let mut out: Vec<Hist> = maps::take_all_as::<types::bitesize_key, types::bitesize_hist>(obj, "hists")?
        .into_iter()
        .map(|(k, v)| Hist { comm: escape::cchars(&k.comm), slots: v.slots.to_vec() })
        .collect();
    out.sort_by(|a, b| a.comm.cmp(&b.comm));
    Ok(out)
}

fn text(h: &Hist) -> Vec<String> {
    let mut lines = vec![format!("Process Name = {}", escape::printable(&h.comm))];
    lines.extend(hist::log2_lines("Kbytes", &h.slots));
    lines
}

fn to_json(h: &Hist) -> Value {
    let mut v = hist::log2_json("kbytes", &h.slots);
    v["comm"] = json!(escape::json_text(&h.comm));
    v
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p'), ("comm", 'c')])?;
    let disk = args.disk.as_deref().map(blk::resolve_disk).transpose()?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<BitesizeSkelBuilder>(blk::PLAN_ISSUE, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("bitesize's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        set_disk_filter!(ro, disk);
        Ok(())
    })?;

    let obj = skel.object();
    let result = summary::run(&ctx, &args.every, "Tracing block I/O... Hit Ctrl-C to end.", || {
        Ok(read_hists(obj)?
            .iter()
            .map(|h| Section { text: text(h), json: to_json(h) })
            .collect())
    });
    missed::report(&ctx, obj, "I/O requests");
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output() {
        let mut slots = vec![0u64; 32];
        slots[4] = 7;
        let h = Hist { comm: b"dd".to_vec(), slots };
        let l = text(&h);
        assert_eq!(l[0], "Process Name = dd");
        assert!(l[1].contains("Kbytes"));
        assert!(l[6].contains("16 -> 31") && l[6].contains(": 7 "));
        let v = to_json(&h);
        assert_eq!(v["comm"], "dd");
        assert_eq!(v["unit"], "kbytes");
        assert_eq!(v["buckets"][4]["low"], 16);
        assert_eq!(v["buckets"][4]["count"], 7);
    }

    #[test]
    fn flags_parse() {
        let a = Args::try_parse_from(["bitesize", "-T", "-d", "sda", "2", "3"]).unwrap();
        assert!(a.every.timestamp);
        assert_eq!(a.every.interval, Some(std::time::Duration::from_secs(2)));
        assert_eq!(a.every.count, Some(3));
        assert!(Args::try_parse_from(["bitesize", "-1"]).is_err());
    }
}
