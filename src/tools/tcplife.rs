//! tcplife: TCP sessions as they close, with lifespan and bytes each way.
//! Kernel side: src/bpf/tcplife.bpf.c (record: src/bpf/tcplife.h).

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use serde_json::json;

use crate::net_tuple;
use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::ktime::KernelClock;
use crate::runtime::net::{self, Rendered, Tuple};
use crate::runtime::Ctx;
use crate::runtime::{escape, record};
use crate::set_filter;
use crate::skel::tcplife::{types, TcplifeSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "tcplife",
    about: "Trace TCP sessions and summarize their lifespan and bytes",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  tcplife                   # trace all TCP sessions
  tcplife -T                # include time column (HH:MM:SS)
  tcplife -t                # include timestamp (seconds)
  tcplife -w                # wider columns (fit IPv6)
  tcplife -stT              # csv output, with times & timestamps
  tcplife -p 181            # only trace PID 181
  tcplife -L 80             # only trace local port 80
  tcplife -L 80,81          # only trace local ports 80 and 81
  tcplife -D 80             # only trace remote port 80
  tcplife -4                # only trace IPv4 family
  tcplife --json            # one JSON object per session, exact byte counts

A session is printed when it closes. TX_KB is what the peer acknowledged
(tcp_sock bytes_acked), RX_KB what was received (bytes_received), both
rounded down to KiB; MS runs from the session's last state before FIN_WAIT1
(usually ESTABLISHED). PID and COMM are the process that connected or
closed the socket; sessions closed entirely in the kernel show whoever was
on the CPU.";

/// Trace the lifespan of TCP sessions and summarize
#[derive(Parser, Debug)]
#[command(name = "tcplife", version, after_help = EXAMPLES)]
struct Args {
    /// Include a time column (HH:MM:SS)
    #[arg(short = 'T', long = "time")]
    time: bool,
    /// Include a timestamp column (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    timestamp: bool,
    /// Wide column output (fits IPv6 addresses)
    #[arg(short = 'w', long = "wide")]
    wide: bool,
    /// Comma separated values output
    #[arg(short = 's', long = "csv")]
    csv: bool,
    /// Comma-separated list of local ports to trace
    #[arg(short = 'L', long = "localport", value_name = "PORTS", value_parser = net::parse_ports)]
    localport: Option<net::Ports>,
    /// Comma-separated list of remote ports to trace
    #[arg(short = 'D', long = "remoteport", value_name = "PORTS", value_parser = net::parse_ports)]
    remoteport: Option<net::Ports>,
    #[command(flatten)]
    family: net::FamilyArgs,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[Alt {
    label: "sock:inet_sock_set_state (BTF-typed)",
    progs: &["tp_inet_sock_set_state"],
}];

unsafe impl plain::Plain for types::tcplife_event {}

struct Session {
    tuple: Tuple,
    ts_ns: u64,
    span_ns: u64,
    tx: u64,
    rx: u64,
    pid: u32,
    uid: u32,
    comm: Vec<u8>,
}

fn decode(data: &[u8]) -> Option<Session> {
    let ev: types::tcplife_event = record::read(data, std::mem::size_of::<types::tcplife_event>())?;
    Some(Session {
        tuple: net_tuple!(ev.t)?,
        ts_ns: ev.ts_ns,
        span_ns: ev.span_ns,
        tx: ev.tx_bytes,
        rx: ev.rx_bytes,
        pid: ev.pid,
        uid: ev.uid,
        comm: escape::cchars(&ev.comm),
    })
}

fn ms(s: &Session) -> f64 {
    s.span_ns as f64 / 1e6
}

/// The columns as strings, in order; `None` for the header.
fn fields(a: &Args, s: Option<(&Session, &str, f64)>) -> Vec<String> {
    let mut f = Vec::new();
    match s {
        None => {
            if a.time {
                f.push("TIME".into());
            }
            if a.timestamp {
                f.push("TIME(s)".into());
            }
            f.push("PID".into());
            f.push("COMM".into());
            if a.wide || a.csv {
                f.push("IP".into());
            }
            for h in ["LADDR", "LPORT", "RADDR", "RPORT", "TX_KB", "RX_KB", "MS"] {
                f.push(h.into());
            }
        }
        Some((s, hms, secs)) => {
            if a.time {
                f.push(hms.to_string());
            }
            if a.timestamp {
                f.push(format!("{secs:.6}"));
            }
            f.push(s.pid.to_string());
            let comm = escape::printable(&s.comm);
            // bcc cuts COMM to 10 characters unless wide or CSV.
            let comm = if a.wide || a.csv {
                comm
            } else {
                comm.chars().take(10).collect()
            };
            f.push(comm);
            if a.wide || a.csv {
                f.push(s.tuple.ip().to_string());
            }
            f.push(s.tuple.laddr.to_string());
            f.push(s.tuple.lport.to_string());
            f.push(s.tuple.raddr.to_string());
            f.push(s.tuple.rport.to_string());
            f.push((s.tx / 1024).to_string());
            f.push((s.rx / 1024).to_string());
            f.push(format!("{:.2}", ms(s)));
        }
    }
    f
}

fn line(a: &Args, f: &[String]) -> String {
    if a.csv {
        return f.join(",");
    }
    let mut out = String::new();
    let mut i = 0;
    let mut col = |w: usize, right: bool, out: &mut String| {
        let v = &f[i];
        if right {
            out.push_str(&format!("{v:>w$} "));
        } else {
            out.push_str(&format!("{v:<w$} "));
        }
        i += 1;
    };
    if a.time {
        col(8, false, &mut out);
    }
    if a.timestamp {
        col(9, false, &mut out);
    }
    col(7, false, &mut out);
    if a.wide {
        col(16, false, &mut out);
        col(2, false, &mut out);
        col(26, false, &mut out);
        col(5, false, &mut out);
        col(26, false, &mut out);
        col(5, false, &mut out);
        col(6, true, &mut out);
        col(6, true, &mut out);
    } else {
        col(10, false, &mut out);
        col(15, false, &mut out);
        col(5, false, &mut out);
        col(15, false, &mut out);
        col(5, false, &mut out);
        col(5, true, &mut out);
        col(5, true, &mut out);
    }
    out.push_str(&f[i]);
    out
}

fn to_json(a: &Args, s: &Session, hms: &str, secs: f64) -> serde_json::Value {
    let mut v = json!({
        "pid": s.pid,
        "uid": s.uid,
        "comm": escape::json_text(&s.comm),
        "ip": s.tuple.ip(),
        "laddr": s.tuple.laddr.to_string(),
        "lport": s.tuple.lport,
        "raddr": s.tuple.raddr.to_string(),
        "rport": s.tuple.rport,
        "tx_bytes": s.tx,
        "rx_bytes": s.rx,
        "tx_kb": s.tx / 1024,
        "rx_kb": s.rx / 1024,
        "ms": (ms(s) * 1000.0).round() / 1000.0,
    });
    net::time_json(&mut v, a.time, a.timestamp, hms, secs);
    v
}

/// Hardening hook (tests/hardening.rs): decode one ring record, however
/// hostile, and render it every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let Some(s) = decode(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for flags in [&["-T", "-t"][..], &["-w"][..], &["-s"][..]] {
        if let Ok(a) = Args::try_parse_from(std::iter::once("tcplife").chain(flags.iter().copied())) {
            out.push(line(&a, &fields(&a, None)));
            out.push(line(&a, &fields(&a, Some((&s, "12:34:56", 1.5)))));
            out.push(crate::runtime::output::json_string(&to_json(&a, &s, "12:34:56", 1.5)));
        }
    }
    out
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p')])?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<TcplifeSkelBuilder>(PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("tcplife's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.net_family = args.family.filter();
        ro.filter_lports = args.localport.is_some();
        ro.filter_rports = args.remoteport.is_some();
        Ok(())
    })?;
    net::fill_port_set(skel.object(), "lports", args.localport.as_ref())?;
    net::fill_port_set(skel.object(), "rports", args.remoteport.as_ref())?;
    let kclock = KernelClock::new();
    let header = line(&args, &fields(&args, None));
    net::print_events(&ctx, skel.object(), header.trim_end(), |data| {
        let s = decode(data)?;
        let hms = if args.time {
            ctx.clock.hms()
        } else {
            String::new()
        };
        let secs = kclock.secs(s.ts_ns);
        Some(if ctx.common.json {
            Rendered::Json(to_json(&args, &s, &hms, secs))
        } else {
            Rendered::Row(line(&args, &fields(&args, Some((&s, &hms, secs)))))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec!["tcplife"];
        v.extend(extra);
        Args::try_parse_from(v).unwrap()
    }

    fn session() -> Session {
        let mut raw = types::tcplife_event {
            span_ns: 230_000,
            tx_bytes: 10_503_000,
            rx_bytes: 5_000,
            pid: 22597,
            ..Default::default()
        };
        raw.t.family = net::AF_INET;
        raw.t.sport = 46644;
        raw.t.dport = 28527;
        raw.t.saddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        raw.t.daddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        for (d, s) in raw.comm.iter_mut().zip(b"recordProgramSt") {
            *d = *s as _;
        }
        // SAFETY: a plain repr(C) struct viewed as bytes.
        decode(unsafe { plain::as_bytes(&raw) }).unwrap()
    }

    #[test]
    fn table_wide_csv_json() {
        let s = session();
        let a = args(&[]);
        assert_eq!(
            line(&a, &fields(&a, None)).trim_end(),
            "PID     COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS"
        );
        assert_eq!(
            line(&a, &fields(&a, Some((&s, "", 0.0)))),
            "22597   recordProg 127.0.0.1       46644 127.0.0.1       28527 10256     4 0.23"
        );
        let a = args(&["-w"]);
        assert!(line(&a, &fields(&a, Some((&s, "", 0.0))))
            .starts_with("22597   recordProgramSt  4  127.0.0.1 "));
        let a = args(&["-s", "-t", "-T"]);
        assert_eq!(
            fields(&a, None).join(","),
            "TIME,TIME(s),PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS"
        );
        assert_eq!(
            line(&a, &fields(&a, Some((&s, "23:39:38", 1.5)))),
            "23:39:38,1.500000,22597,recordProgramSt,4,127.0.0.1,46644,127.0.0.1,28527,10256,4,0.23"
        );
        let v = to_json(&args(&[]), &s, "", 0.0);
        assert_eq!(v["tx_bytes"], 10_503_000);
        assert_eq!(v["rx_kb"], 4);
        assert_eq!(v["ms"], 0.23);
        assert!(Args::try_parse_from(["tcplife", "-L", "0"]).is_err());
    }
}
