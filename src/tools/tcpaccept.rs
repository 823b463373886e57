//! tcpaccept: trace passive TCP connections (accept()), IPv4 and IPv6.
//! Kernel side: src/bpf/tcpaccept.bpf.c (record: src/bpf/tcpaccept.h).

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
use crate::skel::tcpaccept::{types, TcpacceptSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "tcpaccept",
    about: "Trace passive TCP connections (accept())",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  tcpaccept                 # trace all TCP accept()s
  tcpaccept -t              # include timestamps
  tcpaccept -T              # include time (HH:MM:SS)
  tcpaccept -P 80,81        # only trace local ports 80 and 81
  tcpaccept -p 181          # only trace PID 181
  tcpaccept -4              # only trace IPv4 family
  tcpaccept -6              # only trace IPv6 family
  tcpaccept --cgroup /sys/fs/cgroup/app  # only trace this cgroup
  tcpaccept --json          # one JSON object per accept

Only successful accepts are shown; connection attempts to closed ports are
not. On kernels without fentry and kprobes the accept()/accept4() syscalls
are traced instead of inet_csk_accept: accepts made by io_uring or by the
kernel itself are then not seen.";

/// Trace TCP accepts
#[derive(Parser, Debug)]
#[command(name = "tcpaccept", version, after_help = EXAMPLES)]
struct Args {
    /// Include a time column (HH:MM:SS)
    #[arg(short = 'T', long = "time")]
    time: bool,
    /// Include a timestamp column (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    timestamp: bool,
    /// Comma-separated list of local ports to trace
    #[arg(short = 'P', long = "port", value_name = "PORTS", value_parser = net::parse_ports)]
    port: Option<net::Ports>,
    #[command(flatten)]
    family: net::FamilyArgs,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[
    Alt {
        label: "fexit on inet_csk_accept",
        progs: &["fexit_inet_csk_accept"],
    },
    Alt {
        label: "kretprobe on inet_csk_accept",
        progs: &["kretprobe_inet_csk_accept"],
    },
    Alt {
        label: "syscalls:sys_exit_accept{,4}, the new fd resolved to its socket",
        progs: &["tp_sys_exit_accept", "tp_sys_exit_accept4"],
    },
];

unsafe impl plain::Plain for types::tcpaccept_event {}

fn decode(data: &[u8]) -> Option<ProcConn> {
    let ev: types::tcpaccept_event =
        record::read(data, std::mem::size_of::<types::tcpaccept_event>())?;
    proc_conn!(ev)
}

/// Hardening hook (tests/hardening.rs): decode one ring record, however
/// hostile, and render it every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let Some(c) = decode(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for flags in [&["-T", "-t"][..], &[][..]] {
        if let Ok(a) = Args::try_parse_from(std::iter::once("tcpaccept").chain(flags.iter().copied())) {
            out.push(header(&a));
            out.push(row(&a, &c, "12:34:56", 1.5));
            out.push(crate::runtime::output::json_string(&to_json(&a, &c, "12:34:56", 1.5)));
        }
    }
    out
}

fn header(a: &Args) -> String {
    format!(
        "{}{:<7} {:<16} {:<2} {:<16} {:<5} {:<16} {}",
        net::time_header(a.time, a.timestamp),
        "PID",
        "COMM",
        "IP",
        "RADDR",
        "RPORT",
        "LADDR",
        "LPORT"
    )
}

fn row(a: &Args, c: &ProcConn, hms: &str, secs: f64) -> String {
    format!(
        "{}{:<7} {:<16} {:<2} {:<16} {:<5} {:<16} {}",
        net::time_cols(a.time, a.timestamp, hms, secs),
        c.pid,
        escape::printable(&c.comm),
        c.tuple.ip(),
        c.tuple.raddr.to_string(),
        c.tuple.rport,
        c.tuple.laddr.to_string(),
        c.tuple.lport
    )
}

fn to_json(a: &Args, c: &ProcConn, hms: &str, secs: f64) -> serde_json::Value {
    let mut v = json!({
        "pid": c.pid,
        "tid": c.tid,
        "uid": c.uid,
        "comm": escape::json_text(&c.comm),
        "ip": c.tuple.ip(),
        "raddr": c.tuple.raddr.to_string(),
        "rport": c.tuple.rport,
        "laddr": c.tuple.laddr.to_string(),
        "lport": c.tuple.lport,
    });
    net::time_json(&mut v, a.time, a.timestamp, hms, secs);
    v
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p')])?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (skel, _alt) = ctx.load::<TcpacceptSkelBuilder>(PLAN, |open, _alt| {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("tcpaccept's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.net_family = args.family.filter();
        ro.filter_lports = args.port.is_some();
        Ok(())
    })?;
    net::fill_port_set(skel.object(), "lports", args.port.as_ref())?;
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
        let mut v = vec!["tcpaccept"];
        v.extend(extra);
        Args::try_parse_from(v).unwrap()
    }

    fn event() -> Vec<u8> {
        let mut ev = types::tcpaccept_event {
            pid: 907,
            tid: 907,
            ..Default::default()
        };
        ev.t.family = net::AF_INET6;
        ev.t.sport = 7001;
        ev.t.dport = 52352;
        ev.t.saddr[15] = 1;
        ev.t.daddr[15] = 1;
        for (d, s) in ev.comm.iter_mut().zip(b"perl") {
            *d = *s as _;
        }
        // SAFETY: a plain repr(C) struct viewed as bytes.
        unsafe { plain::as_bytes(&ev) }.to_vec()
    }

    #[test]
    fn rows_and_json() {
        let c = decode(&event()).unwrap();
        let a = args(&[]);
        assert_eq!(
            header(&a),
            "PID     COMM             IP RADDR            RPORT LADDR            LPORT"
        );
        assert_eq!(
            row(&a, &c, "", 0.0),
            "907     perl             6  ::1              52352 ::1              7001"
        );
        let v = to_json(&args(&["-t"]), &c, "", 1.2345);
        assert_eq!(v["rport"], 52352);
        assert_eq!(v["lport"], 7001);
        assert_eq!(v["laddr"], "::1");
        assert_eq!(v["timestamp"], 1.235);
        assert!(Args::try_parse_from(["tcpaccept", "-P", "0"]).is_err());
    }
}
