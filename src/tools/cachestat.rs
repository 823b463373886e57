//! cachestat: page cache hits, misses and dirtied buffers per interval.
//! Kernel side: src/bpf/cachestat.bpf.c (counters: src/bpf/cachestat.h).

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use libbpf_rs::{MapCore, MapFlags, Object};
use serde_json::json;

use crate::runtime::attach::{Alt, Hook};
use crate::runtime::cli::{self, Common};
use crate::runtime::ctx::find_map;
use crate::runtime::{hist, Ctx};
use crate::set_filter;
use crate::skel::cachestat::CachestatSkelBuilder;
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "cachestat",
    about: "Page cache hits, misses and dirtied buffers per interval",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  cachestat                 # one line per second
  cachestat -T 5            # with a time column, every 5 seconds
  cachestat 1 10            # 10 lines
  cachestat -p 181          # only what PID 181 does (not in bcc)
  cachestat --json 1        # one JSON object per interval

HITS = accesses - MISSES, MISSES = pages added to the page cache - pages
dirtied (pages a write creates are not read misses), DIRTIES = buffers
dirtied, HITRATIO = HITS / accesses; BUFFERS_MB and CACHED_MB are
/proc/meminfo's Buffers and Cached. Read-ahead can add more pages than were
read: then MISSES is capped at the accesses and HITS is 0, as in bcc.

With fentry or kprobes (bcc's method): accesses are folio_mark_accessed
calls minus dirtied buffers (writes mark pages accessed too), additions are
filemap_add_folio, dirtied buffers mark_buffer_dirty, dirtied pages the
writeback_dirty_folio tracepoint. Counts are in pages (large folios count
each page).

Without them (tracepoints only), additions, dirtied pages and dirtied
buffers come from the exact tracepoints (filemap:mm_filemap_add_to_page_cache,
writeback:writeback_dirty_folio, block:block_dirty_buffer), but no
tracepoint marks a page access. Accesses are then approximated as the pages
each buffered read(2)-style call asks of the page cache
(filemap:mm_filemap_get_pages, clipped to end of file) plus page faults on
file mappings (filemap:mm_filemap_fault): reads only. Writes to cached pages
and pages mapped around a fault are not counted as hits; a short read (EOF
moved, signal) counts the pages it asked for. These tracepoints are in
newer kernels (6.12 has them, 6.1 not). --verbose says which method runs.

--json adds the raw counts: accesses, pages_added, pages_dirtied.";

/// Page cache hit ratio: hits, misses and dirtied buffers per interval
#[derive(Parser, Debug)]
#[command(name = "cachestat", version, after_help = EXAMPLES)]
struct Args {
    /// Include a time column (HH:MM:SS)
    #[arg(short = 'T', long = "timestamp")]
    timestamp: bool,
    /// Seconds between lines
    #[arg(value_name = "INTERVAL", value_parser = cli::parse_interval, default_value = "1")]
    interval: Duration,
    /// Number of lines
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    count: Option<u64>,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[
    Alt {
        label: "fentry on folio_mark_accessed, filemap_add_folio, mark_buffer_dirty; \
                writeback_dirty_folio tracepoint",
        progs: &[
            "fentry_mark_accessed",
            "fentry_add_folio",
            "fentry_mark_buffer_dirty",
            "tp_dirty_folio",
        ],
    },
    Alt {
        label: "kprobe on folio_mark_accessed, filemap_add_folio, mark_buffer_dirty; \
                writeback_dirty_folio tracepoint",
        progs: &[
            "kprobe_mark_accessed",
            "kprobe_add_folio",
            "kprobe_mark_buffer_dirty",
            "tp_dirty_folio",
        ],
    },
    Alt {
        label: "tracepoints mm_filemap_add_to_page_cache, writeback_dirty_folio, block_dirty_buffer; \
                accesses approximated from mm_filemap_get_pages and mm_filemap_fault",
        progs: &[
            "tp_add_to_page_cache",
            "tp_dirty_folio",
            "tp_dirty_buffer",
            "tp_get_pages",
            "tp_fault",
        ],
    },
];

/// enum cachestat_counter in src/bpf/cachestat.h, cumulative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counters {
    accessed: u64,
    buffers_dirtied: u64,
    added: u64,
    pages_dirtied: u64,
}

impl Counters {
    fn since(&self, before: &Counters) -> Counters {
        Counters {
            accessed: self.accessed.saturating_sub(before.accessed),
            buffers_dirtied: self.buffers_dirtied.saturating_sub(before.buffers_dirtied),
            added: self.added.saturating_sub(before.added),
            pages_dirtied: self.pages_dirtied.saturating_sub(before.pages_dirtied),
        }
    }
}

#[derive(Debug, PartialEq)]
struct Stat {
    total: u64,
    hits: u64,
    misses: u64,
    dirties: u64,
    ratio: f64,
}

/// bcc's arithmetic. `write_accesses`: the access count includes writes
/// (one per dirtied buffer), which are taken out.
fn stat(c: &Counters, write_accesses: bool) -> Stat {
    let total = if write_accesses {
        c.accessed.saturating_sub(c.buffers_dirtied)
    } else {
        c.accessed
    };
    let misses = c.added.saturating_sub(c.pages_dirtied).min(total);
    let hits = total - misses;
    let ratio = if total > 0 { hits as f64 / total as f64 } else { 0.0 };
    Stat { total, hits, misses, dirties: c.buffers_dirtied, ratio }
}

fn read_counters(obj: &Object) -> Result<Counters> {
    let map = find_map(obj, "counters")?;
    let mut v = [0u64; 4];
    for (i, slot) in v.iter_mut().enumerate() {
        if let Some(per_cpu) = map
            .lookup_percpu(&(i as u32).to_ne_bytes(), MapFlags::ANY)
            .context("reading cachestat's counters")?
        {
            *slot = hist::sum_percpu_u64(&per_cpu);
        }
    }
    Ok(Counters { accessed: v[0], buffers_dirtied: v[1], added: v[2], pages_dirtied: v[3] })
}

/// Buffers and Cached from /proc/meminfo, in MiB.
fn meminfo_mb() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb = |key: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|r| r.trim_start_matches(':').split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("Buffers:") / 1024.0, kb("Cached:") / 1024.0)
}

fn header(timestamp: bool) -> String {
    let t = if timestamp { format!("{:<8} ", "TIME") } else { String::new() };
    format!(
        "{t}{:>8} {:>8} {:>8} {:>8} {:>12} {:>10}",
        "HITS", "MISSES", "DIRTIES", "HITRATIO", "BUFFERS_MB", "CACHED_MB"
    )
}

fn row(time: Option<&str>, s: &Stat, buffers: f64, cached: f64) -> String {
    let t = time.map(|t| format!("{t:<8} ")).unwrap_or_default();
    format!(
        "{t}{:>8} {:>8} {:>8} {:>7.2}% {:>12.0} {:>10.0}",
        s.hits,
        s.misses,
        s.dirties,
        s.ratio * 100.0,
        buffers,
        cached
    )
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p'), ("json", 'j')])?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page_shift = if page > 0 { (page as u64).trailing_zeros() } else { 12 };
    let (skel, _alt) = ctx.load::<CachestatSkelBuilder>(PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("cachestat's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.page_shift = page_shift;
        Ok(())
    })?;
    let write_accesses = ctx.hook() != Some(Hook::Tracepoint);
    if !ctx.common.json {
        ctx.out().line(&header(args.timestamp))?;
        ctx.out().flush()?;
    }
    let mut before = read_counters(skel.object())?;
    ctx.run_interval(Some(args.interval), args.count, |ctx| {
        let now = read_counters(skel.object())?;
        let c = now.since(&before);
        before = now;
        let s = stat(&c, write_accesses);
        let (buffers, cached) = meminfo_mb();
        let time = args.timestamp.then(|| ctx.clock.hms());
        if ctx.common.json {
            let mut v = json!({
                "hits": s.hits,
                "misses": s.misses,
                "dirties": s.dirties,
                "hitratio": (s.ratio * 10000.0).round() / 10000.0,
                "buffers_mb": buffers.round(),
                "cached_mb": cached.round(),
                "accesses": s.total,
                "pages_added": c.added,
                "pages_dirtied": c.pages_dirtied,
            });
            if let Some(t) = time {
                v["time"] = json!(t);
            }
            ctx.out().json_line(&v)
        } else {
            let r = row(time.as_deref(), &s, buffers, cached);
            ctx.out().line(&r)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(accessed: u64, buffers_dirtied: u64, added: u64, pages_dirtied: u64) -> Counters {
        Counters { accessed, buffers_dirtied, added, pages_dirtied }
    }

    #[test]
    fn arithmetic() {
        // Cold read of 64 pages: all misses.
        let s = stat(&c(64, 0, 64, 0), false);
        assert_eq!((s.hits, s.misses, s.ratio), (0, 64, 0.0));
        // Warm: all hits.
        let s = stat(&c(64, 0, 0, 0), false);
        assert_eq!((s.hits, s.misses, s.ratio), (64, 0, 1.0));
        // Read-ahead added more than was read: misses capped, hits 0.
        let s = stat(&c(4, 0, 32, 0), false);
        assert_eq!((s.hits, s.misses), (0, 4));
        // bcc's way: 10 write accesses with 10 dirtied buffers cancel out.
        let s = stat(&c(30, 10, 5, 5), true);
        assert_eq!((s.total, s.hits, s.misses, s.dirties), (20, 20, 0, 10));
        assert_eq!(c(5, 5, 5, 5).since(&c(2, 1, 9, 0)), c(3, 4, 0, 5));
    }

    #[test]
    fn columns() {
        assert_eq!(header(false), "    HITS   MISSES  DIRTIES HITRATIO   BUFFERS_MB  CACHED_MB");
        assert!(header(true).starts_with("TIME     "));
        let s = stat(&c(64, 3, 16, 0), false);
        assert_eq!(row(None, &s, 12.4, 1000.6), "      48       16        3   75.00%           12       1001");
    }
}
