//! tcptop: TCP send and receive throughput per connection and process,
//! printed every interval. Kernel side: src/bpf/tcptop.bpf.c (map types:
//! src/bpf/tcptop.h).

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use libbpf_rs::skel::Skel;
use libbpf_rs::Object;
use serde_json::json;

use crate::net_tuple;
use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::net::{self, Tuple};
use crate::runtime::Ctx;
use crate::runtime::{escape, maps, missed};
use crate::set_filter;
use crate::skel::tcptop::{types, TcptopSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "tcptop",
    about: "Summarize TCP send/receive throughput by connection",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  tcptop                    # trace TCP send/recv by connection, every second
  tcptop -C                 # don't clear the screen
  tcptop -S                 # no load average summary line
  tcptop -p 181             # only trace PID 181
  tcptop -r 5 -s sent       # top 5 connections by bytes sent
  tcptop -c /sys/fs/cgroup/app  # only trace this cgroup
  tcptop 5 3                # 5 second summaries, 3 times
  tcptop --json 1           # JSON: one object per connection per interval,
                            # with exact byte counts

With fentry or kprobes, tcp_sendmsg (bytes sent) and tcp_cleanup_rbuf (bytes
read) are traced, as bcc does. Without them, the sock:sock_send_length and
sock:sock_recv_length tracepoints (Linux 6.3 and later) count every TCP
sendmsg/recvmsg result; on older kernels without kprobes tcptop cannot run.";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SortBy {
    /// received + sent
    All,
    Sent,
    Received,
}

/// Summarize TCP send/recv throughput by connection
#[derive(Parser, Debug)]
#[command(name = "tcptop", version, after_help = EXAMPLES)]
struct Args {
    /// Don't clear the screen between intervals
    #[arg(short = 'C', long = "noclear")]
    noclear: bool,
    /// Skip the load average summary line
    #[arg(short = 'S', long = "nosummary")]
    nosummary: bool,
    /// Maximum rows to print per interval
    #[arg(short = 'r', long = "rows", value_name = "ROWS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    rows: u32,
    /// Sort rows by
    #[arg(short = 's', long = "sort", value_enum, default_value_t = SortBy::All)]
    sort: SortBy,
    #[command(flatten)]
    family: net::FamilyArgs,
    /// Output interval, in seconds (default 1)
    #[arg(value_name = "INTERVAL", value_parser = cli::parse_interval)]
    interval: Option<Duration>,
    /// Number of outputs
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    count: Option<u64>,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[
    Alt {
        label: "fexit on tcp_sendmsg, fentry on tcp_cleanup_rbuf",
        progs: &["fexit_tcp_sendmsg", "fentry_tcp_cleanup_rbuf"],
    },
    Alt {
        label: "kprobes on tcp_sendmsg (and return), tcp_cleanup_rbuf",
        progs: &[
            "kprobe_tcp_sendmsg",
            "kretprobe_tcp_sendmsg",
            "kprobe_tcp_cleanup_rbuf",
        ],
    },
    Alt {
        label: "sock:sock_send_length and sock:sock_recv_length (BTF-typed)",
        progs: &["tp_sock_send_length", "tp_sock_recv_length"],
    },
];

// SAFETY: plain C structs of integers and byte arrays.
unsafe impl plain::Plain for types::tcptop_key {}
unsafe impl plain::Plain for types::tcptop_val {}

#[derive(Debug, Clone)]
struct Row {
    pid: u32,
    comm: Vec<u8>,
    tuple: Tuple,
    tx: u64,
    rx: u64,
}

/// This interval's traffic, taken out of the map (so the next starts at 0).
fn drain(obj: &Object) -> Result<Vec<Row>> {
    let entries = maps::take_all_as::<types::tcptop_key, types::tcptop_val>(obj, "traffic")?;
    Ok(entries
        .into_iter()
        .filter_map(|(key, val)| {
            Some(Row {
                pid: key.pid,
                comm: escape::cchars(&val.comm),
                tuple: net_tuple!(key.t)?,
                tx: val.tx_bytes,
                rx: val.rx_bytes,
            })
        })
        .collect())
}

fn sort_rows(rows: &mut [Row], by: SortBy) {
    rows.sort_by(|a, b| {
        let k = |r: &Row| match by {
            SortBy::All => (r.tx + r.rx, r.tx),
            SortBy::Sent => (r.tx, r.rx),
            SortBy::Received => (r.rx, r.tx),
        };
        k(b).cmp(&k(a))
            .then(a.pid.cmp(&b.pid))
            .then(a.tuple.cmp(&b.tuple))
    });
}

fn table(rows: &[Row]) -> Vec<String> {
    let locals: Vec<String> = rows.iter().map(|r| r.tuple.local().to_string()).collect();
    let remotes: Vec<String> = rows.iter().map(|r| r.tuple.remote().to_string()).collect();
    let lw = net::column_width(21, locals.iter().map(String::as_str));
    let rw = net::column_width(21, remotes.iter().map(String::as_str));
    let mut out = vec![format!(
        "{:<7} {:<16} {:<lw$} {:<rw$} {:>6} {:>6}",
        "PID", "COMM", "LADDR", "RADDR", "RX_KB", "TX_KB"
    )];
    for (i, r) in rows.iter().enumerate() {
        out.push(format!(
            "{:<7} {:<16} {:<lw$} {:<rw$} {:>6} {:>6}",
            r.pid,
            escape::printable(&r.comm),
            locals[i],
            remotes[i],
            r.rx / 1024,
            r.tx / 1024
        ));
    }
    out
}

fn to_json(r: &Row, hms: &str) -> serde_json::Value {
    json!({
        "time": hms,
        "pid": r.pid,
        "comm": escape::json_text(&r.comm),
        "ip": r.tuple.ip(),
        "laddr": r.tuple.laddr.to_string(),
        "lport": r.tuple.lport,
        "raddr": r.tuple.raddr.to_string(),
        "rport": r.tuple.rport,
        "rx_bytes": r.rx,
        "tx_bytes": r.tx,
        "rx_kb": r.rx / 1024,
        "tx_kb": r.tx / 1024,
    })
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p'), ("cgroup", 'c')])?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<TcptopSkelBuilder>(PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("tcptop's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.net_family = args.family.filter();
        Ok(())
    })?;
    let interval = args.interval.unwrap_or(Duration::from_secs(1));
    let clear = !args.noclear && !ctx.common.json && std::io::stdout().is_terminal();
    if !ctx.common.json {
        eprintln!(
            "{}: tracing... output every {:?}, hit Ctrl-C to end",
            ctx.tool, interval
        );
    }
    ctx.run_interval(Some(interval), args.count, |ctx| {
        let mut rows = drain(skel.object())?;
        sort_rows(&mut rows, args.sort);
        rows.truncate(args.rows as usize);
        let hms = ctx.clock.hms();
        let mut out = ctx.out();
        if ctx.common.json {
            for r in &rows {
                out.json_line(&to_json(r, &hms))?;
            }
        } else {
            if clear {
                out.line("\x1b[H\x1b[2J")?;
            }
            if !args.nosummary {
                let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
                out.line(&format!("{hms} loadavg: {}", load.trim()))?;
            }
            out.line("")?;
            for l in table(&rows) {
                out.line(&l)?;
            }
        }
        Ok(())
    })?;
    missed::report(&ctx, skel.object(), "sends or receives");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pid: u32, lport: u16, tx: u64, rx: u64) -> Row {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[100, 66, 3, 172]);
        Row {
            pid,
            comm: b"sshd".to_vec(),
            tuple: Tuple::from_raw(net::AF_INET, &a, &a, lport, 6684).unwrap(),
            tx,
            rx,
        }
    }

    #[test]
    fn sorting_and_table() {
        let mut rows = vec![
            row(1, 22, 0, 1500),
            row(2, 23, 2_200_000, 0),
            row(3, 24, 10, 10),
        ];
        sort_rows(&mut rows, SortBy::All);
        assert_eq!(rows.iter().map(|r| r.pid).collect::<Vec<_>>(), [2, 1, 3]);
        sort_rows(&mut rows, SortBy::Received);
        assert_eq!(rows[0].pid, 1);
        let t = table(&rows[..1]);
        assert_eq!(
            t[0],
            "PID     COMM             LADDR                 RADDR                  RX_KB  TX_KB"
        );
        assert_eq!(
            t[1],
            "1       sshd             100.66.3.172:22       100.66.3.172:6684          1      0"
        );
        let v = to_json(&rows[0], "19:46:24");
        assert_eq!(v["rx_bytes"], 1500);
        assert_eq!(v["lport"], 22);
    }

    #[test]
    fn flags() {
        let a = Args::try_parse_from(["tcptop", "-C", "-S", "-r", "5", "-s", "sent", "2", "3"])
            .unwrap();
        assert!(a.noclear && a.nosummary);
        assert_eq!((a.rows, a.sort, a.count), (5, SortBy::Sent, Some(3)));
        assert_eq!(a.interval, Some(Duration::from_secs(2)));
        assert!(Args::try_parse_from(["tcptop", "0"]).is_err());
        assert!(Args::try_parse_from(["tcptop", "1", "0"]).is_err());
        assert!(Args::try_parse_from(["tcptop", "-r", "0"]).is_err());
    }
}
