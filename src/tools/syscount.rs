//! syscount: count syscalls, per syscall or per process, optionally with
//! the time spent in them. Kernel side: src/bpf/syscount.bpf.c (map
//! layouts: src/bpf/syscount.h). Names come from the generated table in
//! runtime::syscalls.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use libbpf_rs::{MapCore, MapFlags};
use serde_json::json;

use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::error::usage;
use crate::runtime::{errno, escape, missed, syscalls, Ctx};
use crate::set_filter;
use crate::skel::syscount::{types, SyscountSkel, SyscountSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "syscount",
    about: "Count syscalls per syscall or process, with their latency",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  syscount                 # count syscalls until Ctrl-C, top 10
  syscount -P              # count per process instead of per syscall
  syscount -L              # with the time spent in each syscall (us)
  syscount -L -m           # ... in milliseconds
  syscount -i 1            # print every second (counts per interval)
  syscount -d 10           # count for 10 seconds
  syscount -T 20           # top 20
  syscount -p 181          # only PID 181
  syscount -x              # only failed syscalls
  syscount -e ENOENT       # only syscalls failing with ENOENT (or -e 2)
  syscount --syscall openat   # only openat
  syscount -c /sys/fs/cgroup/app   # only this cgroup
  syscount -l              # list the syscall names this build knows
  syscount --json -i 1     # one JSON object per interval

Calls are counted when they return, so calls that never return (exit,
exit_group, a successful execve's old image) and calls still blocked when
it stops are not counted; with -L a call that entered before tracing began
is not counted either. Names are x86_64's (32-bit programs' calls show
under their x86_64 numbers).";

/// Count syscalls
#[derive(Parser, Debug)]
#[command(name = "syscount", version, after_help = EXAMPLES)]
struct Args {
    /// Print a summary every INTERVAL seconds (counts per interval)
    #[arg(short = 'i', long = "interval", value_name = "INTERVAL",
          value_parser = cli::parse_interval)]
    interval: Option<Duration>,
    /// Show this many syscalls (or processes), the busiest first
    #[arg(short = 'T', long = "top", value_name = "TOP", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    top: u32,
    /// Only failed syscalls
    #[arg(short = 'x', long = "failures")]
    failures: bool,
    /// Only syscalls failing with this errno (name or number)
    #[arg(short = 'e', long = "errno", value_name = "ERRNO", value_parser = errno::parse)]
    errno: Option<i32>,
    /// Also show the time spent in the syscalls
    #[arg(short = 'L', long = "latency")]
    latency: bool,
    /// Show times in milliseconds (default: microseconds)
    #[arg(short = 'm', long = "milliseconds")]
    milliseconds: bool,
    /// Count per process instead of per syscall
    #[arg(short = 'P', long = "process")]
    process: bool,
    /// List the syscall names and numbers, then exit
    #[arg(short = 'l', long = "list")]
    list: bool,
    /// Only this syscall (name or number)
    #[arg(long = "syscall", value_name = "SYSCALL", value_parser = parse_syscall)]
    syscall: Option<u32>,
    #[command(flatten)]
    common: Common,
}

fn parse_syscall(s: &str) -> Result<u32, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<u32>() {
        return Ok(n);
    }
    syscalls::number(t).ok_or_else(|| format!("no syscall named '{s}' (syscount -l lists them)"))
}

const COUNT_PLAN: &[Alt] = &[
    Alt {
        label: "BTF-typed raw_syscalls:sys_exit (tp_btf)",
        progs: &["btf_sys_exit"],
    },
    Alt {
        label: "raw_syscalls:sys_exit tracepoint",
        progs: &["tp_sys_exit"],
    },
];

const LATENCY_PLAN: &[Alt] = &[
    Alt {
        label: "BTF-typed raw_syscalls:sys_{enter,exit} (tp_btf)",
        progs: &["btf_sys_enter", "btf_sys_exit"],
    },
    Alt {
        label: "raw_syscalls:sys_{enter,exit} tracepoints",
        progs: &["tp_sys_enter", "tp_sys_exit"],
    },
];

unsafe impl plain::Plain for types::syscount_value {}
unsafe impl plain::Plain for types::syscount_proc {}

/// One row: a syscall (key = number) or a process (key = pid).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    key: u32,
    comm: Vec<u8>,
    count: u64,
    total_ns: u64,
}

/// Counts since the last interval: per-syscall totals are cumulative in
/// the kernel (no lost increments), so each interval is a difference.
struct Counter {
    prev: Vec<(u64, u64)>,
}

impl Counter {
    fn new(slots: u32) -> Counter {
        Counter {
            prev: vec![(0, 0); slots as usize],
        }
    }

    fn syscalls(&mut self, skel: &SyscountSkel<'_>) -> Result<Vec<Row>> {
        let map = &skel.maps.by_nr;
        let mut rows = Vec::new();
        for nr in 0..self.prev.len() as u32 {
            let Some(per_cpu) = map
                .lookup_percpu(&nr.to_ne_bytes(), MapFlags::ANY)
                .context("reading the syscall counts")?
            else {
                continue;
            };
            let (mut count, mut ns) = (0u64, 0u64);
            for v in &per_cpu {
                if let Some(v) = crate::runtime::record::read::<types::syscount_value>(v, 16) {
                    count += v.count;
                    ns += v.total_ns;
                }
            }
            let prev = &mut self.prev[nr as usize];
            let (dc, dn) = (count.wrapping_sub(prev.0), ns.wrapping_sub(prev.1));
            *prev = (count, ns);
            if dc > 0 {
                rows.push(Row {
                    key: nr,
                    comm: Vec::new(),
                    count: dc,
                    total_ns: dn,
                });
            }
        }
        Ok(rows)
    }
}

/// Per-process counts, taken out of the map (lookup and delete in one
/// batch per bucket, so an interval's counts go to that interval only).
fn processes(skel: &SyscountSkel<'_>) -> Result<Vec<Row>> {
    let map = &skel.maps.by_pid;
    let iter = map
        // One batch as large as the map: a smaller one fails (ENOSPC) on a
        // bucket holding more keys than it, which would end the read early.
        .lookup_and_delete_batch(map.max_entries(), MapFlags::ANY, MapFlags::ANY)
        .context("reading the per-process counts")?;
    let mut rows = Vec::new();
    for (k, v) in iter {
        let Ok(key) = <[u8; 4]>::try_from(k.as_slice()) else {
            continue;
        };
        let Some(p) = crate::runtime::record::read::<types::syscount_proc>(&v, 16) else {
            continue;
        };
        rows.push(Row {
            key: u32::from_ne_bytes(key),
            comm: escape::cchars(&p.comm),
            count: p.count,
            total_ns: p.total_ns,
        });
    }
    Ok(rows)
}

/// Busiest first: by time with -L (as bcc), else by count; ties by key.
fn top(mut rows: Vec<Row>, latency: bool, n: usize) -> Vec<Row> {
    rows.sort_by(|a, b| {
        let (x, y) = if latency {
            (a.total_ns, b.total_ns)
        } else {
            (a.count, b.count)
        };
        y.cmp(&x).then(a.key.cmp(&b.key))
    });
    rows.truncate(n);
    rows
}

struct Printer<'a> {
    args: &'a Args,
}

impl Printer<'_> {
    fn time_unit(&self) -> &'static str {
        if self.args.milliseconds {
            "TIME (ms)"
        } else {
            "TIME (us)"
        }
    }

    fn header(&self) -> String {
        let first = if self.args.process {
            "PID    COMM"
        } else {
            "SYSCALL"
        };
        if self.args.latency {
            format!("{first:<22} {:>8} {:>16}", "COUNT", self.time_unit())
        } else {
            format!("{first:<22} {:>8}", "COUNT")
        }
    }

    fn label(&self, r: &Row) -> String {
        if self.args.process {
            format!("{:<6} {:<15}", r.key, escape::printable(&r.comm))
        } else {
            syscalls::display(r.key)
        }
    }

    fn row(&self, r: &Row) -> String {
        let label = self.label(r);
        if self.args.latency {
            let t = if self.args.milliseconds {
                format!("{:>16.6}", r.total_ns as f64 / 1e6)
            } else {
                format!("{:>16.3}", r.total_ns as f64 / 1e3)
            };
            format!("{label:<22} {:>8} {t}", r.count)
        } else {
            format!("{label:<22} {:>8}", r.count)
        }
    }

    fn json(&self, time: &str, rows: &[Row]) -> serde_json::Value {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let mut v = if self.args.process {
                    json!({ "pid": r.key, "comm": escape::json_text(&r.comm), "count": r.count })
                } else {
                    json!({ "syscall": syscalls::name(r.key), "nr": r.key, "count": r.count })
                };
                if self.args.latency {
                    v["total_ns"] = json!(r.total_ns);
                }
                v
            })
            .collect();
        let list = if self.args.process {
            "processes"
        } else {
            "syscalls"
        };
        json!({ "time": time, list: items })
    }

    fn banner(&self) -> String {
        let what = match (self.args.errno, self.args.failures) {
            (Some(e), _) => format!("syscalls failing with {}", errno::display(e)),
            (None, true) => "failed syscalls".to_string(),
            _ => "syscalls".to_string(),
        };
        let what = match self.args.syscall {
            Some(nr) => format!("{what} ({} only)", syscalls::display(nr)),
            None => what,
        };
        format!(
            "Tracing {what}, printing top {}... Ctrl+C to quit.",
            self.args.top
        )
    }
}

fn list(ctx_json: bool) -> Result<()> {
    let mut out = crate::runtime::output::Output::stdout(ctx_json)?;
    for &(nr, name) in syscalls::all() {
        if ctx_json {
            out.json_line(&json!({ "nr": nr, "syscall": name }))?;
        } else {
            out.line(&format!("{nr:>3} {name}"))?;
        }
    }
    out.flush()
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(
        inv,
        &[
            ("pid", 'p'),
            ("tid", 't'),
            ("duration", 'd'),
            ("cgroup", 'c'),
        ],
    )?;
    if args.list {
        return list(args.common.json);
    }
    if args.milliseconds && !args.latency {
        return Err(usage("-m sets the unit of -L's times: use it with -L"));
    }
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let plan = if args.latency {
        LATENCY_PLAN
    } else {
        COUNT_PLAN
    };
    let (skel, _alt) = ctx.load::<SyscountSkelBuilder>(plan, |open, _alt| {
        // The per-process table only takes memory when it is used.
        if !args.process {
            open.maps
                .by_pid
                .set_max_entries(1)
                .context("cannot size the per-process table")?;
        }
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("syscount's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.latency = args.latency;
        ro.by_process = args.process;
        ro.only_failed = args.failures;
        ro.only_errno = args.errno.map_or(0, i64::from);
        ro.only_nr = args.syscall.map_or(-1, i64::from);
        Ok(())
    })?;

    let printer = Printer { args: &args };
    if !ctx.common.json {
        ctx.out().line(&printer.banner())?;
        ctx.out().flush()?;
    }
    let slots = skel.maps.by_nr.max_entries();
    if let Some(nr) = args.syscall.filter(|&nr| nr >= slots) {
        return Err(usage(format!(
            "--syscall {nr}: syscall numbers go up to {}",
            slots - 1
        )));
    }
    let mut counter = Counter::new(slots);
    let mut missed_reported = 0u64;
    ctx.run_interval(args.interval, None, |ctx| {
        let rows = if args.process {
            processes(&skel)?
        } else {
            counter.syscalls(&skel)?
        };
        let rows = top(rows, args.latency, args.top as usize);
        let time = ctx.clock.hms();
        if ctx.common.json {
            ctx.out().json_line(&printer.json(&time, &rows))?;
        } else {
            let mut out = ctx.out();
            if args.interval.is_some() {
                out.line("")?;
            }
            out.line(&format!("[{time}]"))?;
            out.line(&printer.header())?;
            for r in &rows {
                out.line(&printer.row(r))?;
            }
        }
        let missed = missed::missed(skel.object());
        if missed > missed_reported {
            eprintln!(
                "{}: {} syscalls not counted: the per-process table ({} processes) is full",
                ctx.tool,
                missed - missed_reported,
                skel.maps.by_pid.max_entries()
            );
            missed_reported = missed;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec!["syscount".to_string()];
        v.extend(extra.iter().map(|s| s.to_string()));
        Args::try_parse_from(v).unwrap()
    }

    fn row(key: u32, count: u64, total_ns: u64) -> Row {
        Row {
            key,
            comm: b"cat".to_vec(),
            count,
            total_ns,
        }
    }

    #[test]
    fn tables_like_bcc() {
        let a = args(&[]);
        let p = Printer { args: &a };
        assert_eq!(p.header(), "SYSCALL                   COUNT");
        assert_eq!(p.row(&row(0, 42, 0)), "read                         42");
        assert_eq!(p.row(&row(1000, 1, 0)), "[unknown: 1000]               1");
        let a = args(&["-L", "-P"]);
        let p = Printer { args: &a };
        assert_eq!(
            p.header(),
            "PID    COMM               COUNT        TIME (us)"
        );
        assert_eq!(
            p.row(&row(7, 3, 1500)),
            "7      cat                    3            1.500"
        );
        let a = args(&["-L", "-m"]);
        let p = Printer { args: &a };
        assert!(p.header().ends_with("TIME (ms)"));
        assert!(p.row(&row(0, 1, 2_500_000)).ends_with("        2.500000"));
    }

    #[test]
    fn json_rows() {
        let a = args(&["-L"]);
        let p = Printer { args: &a };
        let v = p.json("12:00:00", &[row(110, 5, 99)]);
        assert_eq!(v["time"], "12:00:00");
        assert_eq!(
            v["syscalls"][0],
            json!({"syscall": "getppid", "nr": 110, "count": 5, "total_ns": 99})
        );
        let a = args(&["-P"]);
        let p = Printer { args: &a };
        let v = p.json("t", &[row(9, 2, 0)]);
        assert_eq!(
            v["processes"][0],
            json!({"pid": 9, "comm": "cat", "count": 2})
        );
    }

    #[test]
    fn sorting_and_top() {
        let rows = vec![row(1, 5, 10), row(2, 9, 1), row(3, 5, 30)];
        let t = top(rows.clone(), false, 2);
        assert_eq!(t.iter().map(|r| r.key).collect::<Vec<_>>(), [2, 1]);
        let t = top(rows, true, 10);
        assert_eq!(t.iter().map(|r| r.key).collect::<Vec<_>>(), [3, 1, 2]);
    }

    #[test]
    fn flags() {
        let a = args(&[
            "-e",
            "ENOENT",
            "-x",
            "-T",
            "3",
            "-i",
            "2",
            "--syscall",
            "getppid",
        ]);
        assert_eq!(a.errno, Some(2));
        assert_eq!(a.top, 3);
        assert_eq!(a.interval, Some(Duration::from_secs(2)));
        assert_eq!(a.syscall, Some(110));
        assert_eq!(args(&["-e", "13"]).errno, Some(13));
        assert!(Args::try_parse_from(["syscount", "-e", "EBOGUS"]).is_err());
        assert!(Args::try_parse_from(["syscount", "--syscall", "nope"]).is_err());
        assert!(Args::try_parse_from(["syscount", "-T", "0"]).is_err());
        assert!(Args::try_parse_from(["syscount", "-i", "0"]).is_err());
        let p = Printer {
            args: &args(&["-e", "2"]),
        };
        assert_eq!(
            p.banner(),
            "Tracing syscalls failing with ENOENT, printing top 10... Ctrl+C to quit."
        );
    }
}
