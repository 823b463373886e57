//! tcpconnect: trace active TCP connections (connect()), IPv4 and IPv6.
//! Kernel side: src/bpf/tcpconnect.bpf.c (records: src/bpf/tcpconnect.h).

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use serde_json::json;

use crate::proc_conn;
use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::net::{self, ProcConn};
use crate::runtime::Ctx;
use crate::runtime::{escape, record};
use crate::set_filter;
use crate::skel::tcpconnect::{types, TcpconnectSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "tcpconnect",
    about: "Trace active TCP connections (connect())",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  tcpconnect                # trace all TCP connect()s
  tcpconnect -t             # include timestamps
  tcpconnect -p 181         # only trace PID 181
  tcpconnect -P 80          # only trace port 80
  tcpconnect -P 80,81       # only trace port 80 and 81
  tcpconnect -4             # only trace IPv4 family
  tcpconnect -6             # only trace IPv6 family
  tcpconnect -U             # include UID
  tcpconnect -u 1000        # only trace UID 1000
  tcpconnect -L             # include LPORT while printing outputs
  tcpconnect -c             # count connects per src ip and dest ip/port
  tcpconnect --cgroup /sys/fs/cgroup/app  # only trace this cgroup
  tcpconnect --json         # one JSON object per connect

Every attempt whose SYN was sent is shown, including ones that then fail.
On kernels without fentry and kprobes the sock:inet_sock_set_state
tracepoint is used; a connect is then printed once its local port is known
(when connect() returns, the connection is established or refused, or the
SYN is retransmitted).";

/// Trace TCP connects
#[derive(Parser, Debug)]
#[command(name = "tcpconnect", version, after_help = EXAMPLES)]
struct Args {
    /// Include a timestamp column (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    timestamp: bool,
    /// Include a time column (HH:MM:SS)
    #[arg(short = 'T', long = "time")]
    time: bool,
    /// Comma-separated list of destination ports to trace
    #[arg(short = 'P', long = "port", value_name = "PORTS", value_parser = net::parse_ports)]
    port: Option<net::Ports>,
    #[command(flatten)]
    family: net::FamilyArgs,
    /// Include a LPORT column
    #[arg(short = 'L', long = "lport")]
    lport: bool,
    /// Include a UID column
    #[arg(short = 'U', long = "print-uid")]
    print_uid: bool,
    /// Count connects per source ip and destination ip/port, print at exit
    #[arg(short = 'c', long = "count", conflicts_with_all = ["timestamp", "time", "lport", "print_uid"])]
    count: bool,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[
    Alt {
        label: "fexit on tcp_v4_connect/tcp_v6_connect",
        progs: &["fexit_tcp_v4_connect", "fexit_tcp_v6_connect"],
    },
    Alt {
        label: "kprobes on tcp_v4_connect/tcp_v6_connect",
        progs: &[
            "kprobe_tcp_v4_connect",
            "kretprobe_tcp_v4_connect",
            "kprobe_tcp_v6_connect",
            "kretprobe_tcp_v6_connect",
        ],
    },
    Alt {
        label: "sock:inet_sock_set_state (SYN_SENT, in the connecting task) + connect() exit",
        progs: &[
            "tp_inet_sock_set_state",
            "tp_sys_exit_connect",
            "tp_tcp_retransmit_skb",
        ],
    },
];

unsafe impl plain::Plain for types::tcpconnect_event {}

fn decode(data: &[u8]) -> Option<ProcConn> {
    let ev: types::tcpconnect_event =
        record::read(data, std::mem::size_of::<types::tcpconnect_event>())?;
    proc_conn!(ev)
}

/// Hardening hook (tests/hardening.rs): decode one ring record, however
/// hostile, and render it every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let Some(c) = decode(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for flags in [&["-T", "-t", "-U", "-L"][..], &[][..]] {
        if let Ok(a) = Args::try_parse_from(std::iter::once("tcpconnect").chain(flags.iter().copied())) {
            out.push(header(&a));
            out.push(row(&a, &c, "12:34:56", 1.5));
            out.push(crate::runtime::output::json_string(&to_json(&a, &c, "12:34:56", 1.5)));
        }
    }
    out
}

fn header(a: &Args) -> String {
    let mut h = net::time_header(a.time, a.timestamp);
    if a.print_uid {
        h.push_str(&format!("{:<6} ", "UID"));
    }
    h.push_str(&format!(
        "{:<7} {:<16} {:<2} {:<16} ",
        "PID", "COMM", "IP", "SADDR"
    ));
    if a.lport {
        h.push_str(&format!("{:<6} ", "LPORT"));
    }
    h.push_str(&format!("{:<16} {}", "DADDR", "DPORT"));
    h
}

fn row(a: &Args, c: &ProcConn, hms: &str, secs: f64) -> String {
    let mut r = net::time_cols(a.time, a.timestamp, hms, secs);
    if a.print_uid {
        r.push_str(&format!("{:<6} ", c.uid));
    }
    r.push_str(&format!(
        "{:<7} {:<16} {:<2} {:<16} ",
        c.pid,
        escape::printable(&c.comm),
        c.tuple.ip(),
        c.tuple.laddr.to_string()
    ));
    if a.lport {
        r.push_str(&format!("{:<6} ", c.tuple.lport));
    }
    r.push_str(&format!(
        "{:<16} {}",
        c.tuple.raddr.to_string(),
        c.tuple.rport
    ));
    r
}

fn to_json(a: &Args, c: &ProcConn, hms: &str, secs: f64) -> serde_json::Value {
    let mut v = json!({
        "pid": c.pid,
        "tid": c.tid,
        "uid": c.uid,
        "comm": escape::json_text(&c.comm),
        "ip": c.tuple.ip(),
        "saddr": c.tuple.laddr.to_string(),
        "lport": c.tuple.lport,
        "daddr": c.tuple.raddr.to_string(),
        "dport": c.tuple.rport,
    });
    net::time_json(&mut v, a.time, a.timestamp, hms, secs);
    v
}

/// -c at exit: connects per (source, destination, port), most first.
fn print_counts(ctx: &Ctx, obj: &libbpf_rs::Object) -> Result<()> {
    let cols = |a: &str, b: &str, c: &str, d: &str| format!("{a:<25} {b:<25} {c:<20} {d:<10}");
    net::print_tuple_counts(
        ctx,
        obj,
        "counts",
        "connects",
        &cols("LADDR", "RADDR", "RPORT", "CONNECTS"),
        |t, n| {
            cols(
                &t.laddr.to_string(),
                &t.raddr.to_string(),
                &t.rport.to_string(),
                &n.to_string(),
            )
        },
        |t, n| {
            json!({
                "ip": t.ip(),
                "laddr": t.laddr.to_string(),
                "raddr": t.raddr.to_string(),
                "rport": t.rport,
                "connects": n,
            })
        },
    )
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p'), ("uid", 'u')])?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<TcpconnectSkelBuilder>(PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("tcpconnect's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.net_family = args.family.filter();
        ro.count_mode = args.count;
        ro.filter_dports = args.port.is_some();
        Ok(())
    })?;
    net::fill_port_set(skel.object(), "dports", args.port.as_ref())?;

    if args.count {
        if !ctx.common.json {
            eprintln!("{}: tracing connects... hit Ctrl-C to end", ctx.tool);
        }
        return ctx.run_interval(None, None, |ctx| print_counts(ctx, skel.object()));
    }
    net::print_proc_conns(
        &ctx,
        skel.object(),
        &header(&args),
        args.time,
        decode,
        |c, hms, secs| row(&args, c, hms, secs),
        |c, hms, secs| to_json(&args, c, hms, secs),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec!["tcpconnect"];
        v.extend(extra);
        Args::try_parse_from(v).unwrap()
    }

    fn event(family: u16, ip6: bool) -> Vec<u8> {
        let mut ev = types::tcpconnect_event {
            ts_ns: 5,
            pid: 42,
            tid: 43,
            uid: 1000,
            ..Default::default()
        };
        ev.t.family = family;
        ev.t.sport = 40000;
        ev.t.dport = 80;
        if ip6 {
            ev.t.saddr[15] = 1;
            ev.t.daddr[15] = 1;
        } else {
            ev.t.saddr[..4].copy_from_slice(&[10, 0, 0, 1]);
            ev.t.daddr[..4].copy_from_slice(&[10, 0, 0, 2]);
        }
        for (d, s) in ev.comm.iter_mut().zip(b"curl") {
            *d = *s as _;
        }
        // SAFETY: a plain repr(C) struct viewed as bytes.
        unsafe { plain::as_bytes(&ev) }.to_vec()
    }

    #[test]
    fn rows_and_json() {
        let c = decode(&event(net::AF_INET, false)).unwrap();
        let a = args(&["-L", "-U"]);
        assert_eq!(
            header(&a),
            "UID    PID     COMM             IP SADDR            LPORT  DADDR            DPORT"
        );
        assert_eq!(
            row(&a, &c, "", 0.0),
            "1000   42      curl             4  10.0.0.1         40000  10.0.0.2         80"
        );
        let v = to_json(&args(&[]), &c, "", 0.0);
        assert_eq!(v["saddr"], "10.0.0.1");
        assert_eq!(v["lport"], 40000);
        assert_eq!(v["dport"], 80);
        assert_eq!(v["ip"], 4);
        let c6 = decode(&event(net::AF_INET6, true)).unwrap();
        assert_eq!(to_json(&args(&[]), &c6, "", 0.0)["daddr"], "::1");
        assert!(decode(&event(1, false)).is_none());
        assert!(decode(&[0u8; 8]).is_none());
    }

    #[test]
    fn flags() {
        let a = args(&["-P", "80,81", "-4", "-c"]);
        assert_eq!(a.port, Some(net::Ports(vec![80, 81])));
        assert!(a.family.ipv4 && a.count);
        assert!(Args::try_parse_from(["tcpconnect", "-4", "-6"]).is_err());
        assert!(Args::try_parse_from(["tcpconnect", "-c", "-t"]).is_err());
        assert!(Args::try_parse_from(["tcpconnect", "-P", "x"]).is_err());
    }

    #[test]
    fn count_keys_are_net_tuples() {
        // runtime::net reads -c's map keys as raw `struct net_tuple`s.
        assert_eq!(std::mem::size_of::<types::net_tuple>(), net::NET_TUPLE_SIZE);
        assert_eq!(std::mem::offset_of!(types::net_tuple, family), 36);
    }
}
