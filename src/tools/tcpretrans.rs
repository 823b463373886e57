//! tcpretrans: trace or count TCP retransmits and tail loss probes.
//! Kernel side: src/bpf/tcpretrans.bpf.c (record: src/bpf/tcpretrans.h).

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use serde_json::json;

use crate::net_tuple;
use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::ktime::KernelClock;
use crate::runtime::net::{self, Rendered, Tuple};
use crate::runtime::record;
use crate::runtime::Ctx;
use crate::skel::tcpretrans::{types, TcpretransSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "tcpretrans",
    about: "Trace or count TCP retransmits and tail loss probes",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  tcpretrans                # trace TCP retransmits
  tcpretrans -l             # include tail loss probe attempts
  tcpretrans -c             # count retransmits per connection, print at exit
  tcpretrans -s             # show the segment's TCP sequence number
  tcpretrans -4             # trace IPv4 family only
  tcpretrans -6             # trace IPv6 family only
  tcpretrans --json         # one JSON object per retransmit

Retransmits are traced with the tcp:tcp_retransmit_skb tracepoint on every
kernel; only segments that were sent again count (newer kernels also report
failed attempts, which are skipped). PID is whoever was on the CPU: usually
0, since retransmits are sent from timers and softirqs. Tail loss probes
(-l) have no tracepoint: they need fentry or a kprobe on
tcp_send_loss_probe, which some kernels (e.g. without CONFIG_KPROBES and
with fentry refused) do not offer.";

/// Trace TCP retransmits
#[derive(Parser, Debug)]
#[command(name = "tcpretrans", version, after_help = EXAMPLES)]
struct Args {
    /// Include tail loss probe attempts ("L>")
    #[arg(short = 'l', long = "lossprobe")]
    lossprobe: bool,
    /// Count retransmits per connection, print at exit
    #[arg(short = 'c', long = "count", conflicts_with = "sequence")]
    count: bool,
    /// Display TCP sequence numbers
    #[arg(short = 's', long = "sequence")]
    sequence: bool,
    #[command(flatten)]
    family: net::FamilyArgs,
    #[command(flatten)]
    common: Common,
}

const PLAN: &[Alt] = &[Alt {
    label: "tcp:tcp_retransmit_skb (BTF-typed)",
    progs: &["tp_tcp_retransmit_skb"],
}];

const PLAN_LOSS_PROBES: &[Alt] = &[
    Alt {
        label: "tcp:tcp_retransmit_skb + fentry on tcp_send_loss_probe",
        progs: &["tp_tcp_retransmit_skb", "fentry_tcp_send_loss_probe"],
    },
    Alt {
        label: "tcp:tcp_retransmit_skb + kprobe on tcp_send_loss_probe",
        progs: &["tp_tcp_retransmit_skb", "kprobe_tcp_send_loss_probe"],
    },
];

const TYPE_LOSS_PROBE: u32 = 2;

unsafe impl plain::Plain for types::tcpretrans_event {}

struct Retrans {
    tuple: Tuple,
    ts_ns: u64,
    pid: u32,
    state: i32,
    seq: u32,
    probe: bool,
}

fn decode(data: &[u8]) -> Option<Retrans> {
    let ev: types::tcpretrans_event =
        record::read(data, std::mem::size_of::<types::tcpretrans_event>())?;
    Some(Retrans {
        tuple: net_tuple!(ev.t)?,
        ts_ns: ev.ts_ns,
        pid: ev.pid,
        state: ev.state,
        seq: ev.seq,
        probe: ev.r#type == TYPE_LOSS_PROBE,
    })
}

fn kind(r: &Retrans) -> &'static str {
    if r.probe {
        "L"
    } else {
        "R"
    }
}

/// Hardening hook (tests/hardening.rs): decode one ring record, however
/// hostile, and render it every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let Some(r) = decode(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for flags in [&["-s"][..], &[][..]] {
        if let Ok(a) = Args::try_parse_from(std::iter::once("tcpretrans").chain(flags.iter().copied())) {
            out.push(header(&a));
            out.push(row(&a, &r, "12:34:56"));
            out.push(crate::runtime::output::json_string(&to_json(&a, &r, "12:34:56", 1.5)));
        }
    }
    out
}

fn header(a: &Args) -> String {
    let mut h = format!(
        "{:<8} {:<7} {:<2} {:<20} {:<2} {:<20} {:<11}",
        "TIME", "PID", "IP", "LADDR:LPORT", "T>", "RADDR:RPORT", "STATE"
    );
    if a.sequence {
        h.push_str(" SEQ");
    }
    h.trim_end().to_string()
}

fn row(a: &Args, r: &Retrans, hms: &str) -> String {
    let mut s = format!(
        "{:<8} {:<7} {:<2} {:<20} {:<2} {:<20} {:<11}",
        hms,
        r.pid,
        r.tuple.ip(),
        r.tuple.local(),
        format!("{}>", kind(r)),
        r.tuple.remote(),
        net::tcp_state_name(r.state)
    );
    if a.sequence {
        s.push_str(&format!(" {}", r.seq));
    }
    s.trim_end().to_string()
}

fn to_json(a: &Args, r: &Retrans, hms: &str, secs: f64) -> serde_json::Value {
    let mut v = json!({
        "time": hms,
        "timestamp": (secs * 1000.0).round() / 1000.0,
        "pid": r.pid,
        "ip": r.tuple.ip(),
        "laddr": r.tuple.laddr.to_string(),
        "lport": r.tuple.lport,
        "raddr": r.tuple.raddr.to_string(),
        "rport": r.tuple.rport,
        "type": kind(r),
        "state": net::tcp_state_name(r.state),
    });
    if a.sequence {
        v["seq"] = json!(r.seq);
    }
    v
}

/// -c at exit: retransmits (and probes, with -l) per connection, most first.
fn print_counts(ctx: &Ctx, obj: &libbpf_rs::Object) -> Result<()> {
    net::print_tuple_counts(
        ctx,
        obj,
        "counts",
        "retransmits",
        &format!(
            "{:<25}     {:<25} {:>11}",
            "LADDR:LPORT", "RADDR:RPORT", "RETRANSMITS"
        ),
        |t, n| format!("{:<25} <-> {:<25} {:>11}", t.local(), t.remote(), n),
        |t, n| {
            json!({
                "ip": t.ip(),
                "laddr": t.laddr.to_string(),
                "lport": t.lport,
                "raddr": t.raddr.to_string(),
                "rport": t.rport,
                "retransmits": n,
            })
        },
    )
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[])?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    ctx.forbid(
        &["pid", "tid", "uid", "comm", "cgroup"],
        "retransmits are sent from timers and softirqs, not by the connection's process",
    )?;
    let plan = if args.lossprobe {
        PLAN_LOSS_PROBES
    } else {
        PLAN
    };
    let (skel, _alt) = ctx
        .load::<TcpretransSkelBuilder>(plan, |open, _alt| {
            let ro = open
                .maps
                .rodata_data
                .as_deref_mut()
                .context("tcpretrans's BPF object has no rodata")?;
            ro.net_family = args.family.filter();
            ro.count_mode = args.count;
            Ok(())
        })
        .with_context(|| {
            if args.lossprobe {
                "tail loss probes (-l) need fentry or a kprobe on tcp_send_loss_probe, \
                 the kernel has no tracepoint for them"
            } else {
                "tracing retransmits"
            }
        })?;
    let kclock = KernelClock::new();

    if args.count {
        if !ctx.common.json {
            eprintln!("{}: tracing retransmits... hit Ctrl-C to end", ctx.tool);
        }
        return ctx.run_interval(None, None, |ctx| print_counts(ctx, skel.object()));
    }
    net::print_events(&ctx, skel.object(), &header(&args), |data| {
        let r = decode(data)?;
        let hms = ctx.clock.hms();
        Some(if ctx.common.json {
            Rendered::Json(to_json(&args, &r, &hms, kclock.secs(r.ts_ns)))
        } else {
            Rendered::Row(row(&args, &r, &hms))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec!["tcpretrans"];
        v.extend(extra);
        Args::try_parse_from(v).unwrap()
    }

    fn event(probe: bool) -> Vec<u8> {
        let mut ev = types::tcpretrans_event {
            pid: 0,
            state: 1,
            seq: 12345,
            r#type: if probe { TYPE_LOSS_PROBE } else { 1 },
            ..Default::default()
        };
        ev.t.family = net::AF_INET;
        ev.t.sport = 22;
        ev.t.dport = 34619;
        ev.t.saddr[..4].copy_from_slice(&[10, 153, 223, 157]);
        ev.t.daddr[..4].copy_from_slice(&[69, 53, 245, 40]);
        // SAFETY: a plain repr(C) struct viewed as bytes.
        unsafe { plain::as_bytes(&ev) }.to_vec()
    }

    #[test]
    fn rows_and_json() {
        let r = decode(&event(false)).unwrap();
        let a = args(&[]);
        assert_eq!(
            header(&a),
            "TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE"
        );
        assert_eq!(
            row(&a, &r, "01:55:05"),
            "01:55:05 0       4  10.153.223.157:22    R> 69.53.245.40:34619   ESTABLISHED"
        );
        let a = args(&["-s"]);
        assert!(header(&a).ends_with("STATE       SEQ"));
        assert!(row(&a, &r, "01:55:05").ends_with("ESTABLISHED 12345"));
        let p = decode(&event(true)).unwrap();
        let v = to_json(&args(&[]), &p, "01:55:05", 0.5);
        assert_eq!(v["type"], "L");
        assert_eq!(v["state"], "ESTABLISHED");
        assert_eq!(v["lport"], 22);
        assert!(v.get("seq").is_none());
        assert!(Args::try_parse_from(["tcpretrans", "-c", "-s"]).is_err());
    }
}
