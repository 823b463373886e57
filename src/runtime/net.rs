//! What the network tools share on the user side: a connection's endpoints
//! as the BPF side sends them (`struct net_tuple`, src/bpf/common/sock.h),
//! TCP state names, the -4/-6 and port-list flags, and port sets in maps.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{Context, Result};
use libbpf_rs::{MapCore, MapFlags, Object};

use crate::runtime::ctx::find_map;
use crate::runtime::ktime::KernelClock;
use crate::runtime::{missed, Ctx};

pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// Both endpoints of a connection, local first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    pub laddr: IpAddr,
    pub lport: u16,
    pub raddr: IpAddr,
    pub rport: u16,
}

impl Tuple {
    /// From a `struct net_tuple`'s fields; None for a family other than
    /// IPv4/IPv6 (a record the BPF side should not have sent).
    pub fn from_raw(
        family: u16,
        saddr: &[u8; 16],
        daddr: &[u8; 16],
        sport: u16,
        dport: u16,
    ) -> Option<Tuple> {
        Some(Tuple {
            laddr: addr(family, saddr)?,
            lport: sport,
            raddr: addr(family, daddr)?,
            rport: dport,
        })
    }

    /// bcc's IP column: 4 or 6.
    pub fn ip(&self) -> u8 {
        match self.laddr {
            IpAddr::V4(_) => 4,
            IpAddr::V6(_) => 6,
        }
    }

    pub fn local(&self) -> Endpoint {
        Endpoint(self.laddr, self.lport)
    }

    pub fn remote(&self) -> Endpoint {
        Endpoint(self.raddr, self.rport)
    }
}

/// `struct net_tuple` of any tool's skeleton types as a [`Tuple`]:
/// `net_tuple!(ev.t)`. (Each skeleton has its own copy of the C type.)
#[macro_export]
macro_rules! net_tuple {
    ($t:expr) => {{
        let t = &$t;
        $crate::runtime::net::Tuple::from_raw(t.family, &t.saddr, &t.daddr, t.sport, t.dport)
    }};
}

/// A connection and the process that made or took it (tcpconnect, tcpaccept).
#[derive(Debug, Clone)]
pub struct ProcConn {
    pub tuple: Tuple,
    /// When it happened (bpf_ktime_get_ns).
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub comm: Vec<u8>,
}

/// A record with fields `t` (`struct net_tuple`), `ts_ns`, `pid`, `tid`,
/// `uid` and `comm` as a [`ProcConn`]: `proc_conn!(ev)`.
#[macro_export]
macro_rules! proc_conn {
    ($ev:expr) => {{
        let e = &$ev;
        $crate::net_tuple!(e.t).map(|tuple| $crate::runtime::net::ProcConn {
            tuple,
            ts_ns: e.ts_ns,
            pid: e.pid,
            tid: e.tid,
            uid: e.uid,
            comm: $crate::runtime::escape::cchars(&e.comm),
        })
    }};
}

/// bcc's optional leading time columns: -T (HH:MM:SS) then -t (seconds).
pub fn time_header(time: bool, timestamp: bool) -> String {
    let mut h = String::new();
    if time {
        h.push_str(&format!("{:<9}", "TIME"));
    }
    if timestamp {
        h.push_str(&format!("{:<9}", "TIME(s)"));
    }
    h
}

/// The values under [`time_header`].
pub fn time_cols(time: bool, timestamp: bool, hms: &str, secs: f64) -> String {
    let mut r = String::new();
    if time {
        r.push_str(&format!("{hms:<9}"));
    }
    if timestamp {
        r.push_str(&format!("{secs:<9.3}"));
    }
    r
}

/// The same as JSON fields `time` and `timestamp` (milliseconds precision).
pub fn time_json(v: &mut serde_json::Value, time: bool, timestamp: bool, hms: &str, secs: f64) {
    if time {
        v["time"] = serde_json::json!(hms);
    }
    if timestamp {
        v["timestamp"] = serde_json::json!((secs * 1000.0).round() / 1000.0);
    }
}

/// An address from 16 bytes, of which IPv4 uses the first 4.
pub fn addr(family: u16, raw: &[u8; 16]) -> Option<IpAddr> {
    match family {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(*raw))),
        _ => None,
    }
}

/// `addr:port` as bcc prints it (IPv6 without brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint(pub IpAddr, pub u16);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Padding applies to the whole "addr:port".
        f.pad(&format!("{}:{}", self.0, self.1))
    }
}

/// TCP state names as bcc prints them (include/net/tcp_states.h numbering).
pub fn tcp_state_name(state: i32) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW_SYN_RECV",
        13 => "BOUND_INACTIVE",
        _ => "UNKNOWN",
    }
}

/// A comma-separated port list as one flag value (bcc's -P 80,81).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports(pub Vec<u16>);

/// For clap's value_parser: a comma-separated port list.
pub fn parse_ports(s: &str) -> Result<Ports, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let p = part.trim();
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => {
                if !out.contains(&(n as u16)) {
                    out.push(n as u16);
                }
            }
            _ => return Err(format!("'{p}' is not a port (1-65535)")),
        }
    }
    if out.len() > 1024 {
        return Err("at most 1024 ports".into());
    }
    Ok(Ports(out))
}

/// bcc's -4 / -6, flattened into a network tool's Args.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct FamilyArgs {
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
}

impl FamilyArgs {
    /// The BPF side's `net_family` (src/bpf/common/sock.bpf.h).
    pub fn filter(&self) -> u16 {
        match (self.ipv4, self.ipv6) {
            (true, false) => AF_INET,
            (false, true) => AF_INET6,
            _ => 0,
        }
    }
}

/// Size of `struct net_tuple`.
pub const NET_TUPLE_SIZE: usize = 40;

/// A `struct net_tuple` from its bytes (e.g. a map key that is one).
pub fn tuple_from_bytes(b: &[u8]) -> Option<Tuple> {
    let b = b.get(..NET_TUPLE_SIZE)?;
    let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
    let mut s = [0u8; 16];
    let mut d = [0u8; 16];
    s.copy_from_slice(&b[..16]);
    d.copy_from_slice(&b[16..32]);
    Tuple::from_raw(u16_at(36), &s, &d, u16_at(32), u16_at(34))
}

/// A hash map from `struct net_tuple` keys to `__u64` counts, most first.
pub fn read_tuple_counts(obj: &Object, map: &str) -> Result<Vec<(Tuple, u64)>> {
    let m = find_map(obj, map)?;
    let mut rows = Vec::new();
    for key in m.keys() {
        let Some(val) = m
            .lookup(&key, MapFlags::ANY)
            .with_context(|| format!("reading {map}"))?
        else {
            continue;
        };
        let n = val
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes);
        if let (Some(t), Some(n)) = (tuple_from_bytes(&key), n) {
            rows.push((t, n));
        }
    }
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(rows)
}

/// A record as the event tools print it.
pub enum Rendered {
    Row(String),
    Json(serde_json::Value),
}

/// The event tools' loop: the header (unless --json), then each record as
/// `render` makes it (None: skip the record).
pub fn print_events(
    ctx: &Ctx,
    obj: &Object,
    header: &str,
    mut render: impl FnMut(&[u8]) -> Option<Rendered>,
) -> Result<()> {
    if !ctx.common.json {
        ctx.out().line(header)?;
        ctx.out().flush()?;
    }
    ctx.run_ring(obj, |data| match render(data) {
        Some(Rendered::Row(r)) => ctx.out().line(&r),
        Some(Rendered::Json(v)) => ctx.out().json_line(&v),
        None => Ok(()),
    })
}

/// [`print_events`] for [`ProcConn`] records (tcpconnect, tcpaccept): each
/// goes to `row` or `json` with the -T and -t values (`hms` only read when
/// `time`).
pub fn print_proc_conns(
    ctx: &Ctx,
    obj: &Object,
    header: &str,
    time: bool,
    decode: impl Fn(&[u8]) -> Option<ProcConn>,
    row: impl Fn(&ProcConn, &str, f64) -> String,
    json: impl Fn(&ProcConn, &str, f64) -> serde_json::Value,
) -> Result<()> {
    let kclock = KernelClock::new();
    print_events(ctx, obj, header, |data| {
        let c = decode(data)?;
        let secs = kclock.secs(c.ts_ns);
        let hms = if time { ctx.clock.hms() } else { String::new() };
        Some(if ctx.common.json {
            Rendered::Json(json(&c, &hms, secs))
        } else {
            Rendered::Row(row(&c, &hms, secs))
        })
    })
}

/// The -c modes at exit: a `TUPLE_COUNTS` map, most first, as a table
/// (`header`, `row`) or one JSON object per connection (`json`); then how
/// many `what` found the map full.
pub fn print_tuple_counts(
    ctx: &Ctx,
    obj: &Object,
    map: &str,
    what: &str,
    header: &str,
    row: impl Fn(&Tuple, u64) -> String,
    json: impl Fn(&Tuple, u64) -> serde_json::Value,
) -> Result<()> {
    let rows = read_tuple_counts(obj, map)?;
    let mut out = ctx.out();
    if !ctx.common.json {
        out.line(header)?;
    }
    for (t, n) in rows {
        if ctx.common.json {
            out.json_line(&json(&t, n))?;
        } else {
            out.line(&row(&t, n))?;
        }
    }
    drop(out);
    missed::report(ctx, obj, what);
    Ok(())
}

/// Fill a `PORT_SET` map (src/bpf/common/sock.bpf.h) after load.
pub fn fill_port_set(obj: &Object, map: &str, ports: Option<&Ports>) -> Result<()> {
    let Some(ports) = ports else {
        return Ok(());
    };
    let m = find_map(obj, map)?;
    for p in &ports.0 {
        m.update(&p.to_ne_bytes(), &[1u8], MapFlags::ANY)
            .with_context(|| format!("cannot fill the port filter ({map})"))?;
    }
    Ok(())
}

/// Sizes for address columns: at least `min`, wide enough for every value.
pub fn column_width<'a>(min: usize, values: impl Iterator<Item = &'a str>) -> usize {
    values.map(str::len).fold(min, usize::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_and_endpoints() {
        let mut s = [0u8; 16];
        s[..4].copy_from_slice(&[127, 0, 0, 1]);
        let mut d = [0u8; 16];
        d[15] = 1;
        let t = Tuple::from_raw(AF_INET, &s, &s, 40000, 80).unwrap();
        assert_eq!(t.ip(), 4);
        assert_eq!(t.local().to_string(), "127.0.0.1:40000");
        assert_eq!(format!("{:<18}|", t.remote()), "127.0.0.1:80      |");
        let t6 = Tuple::from_raw(AF_INET6, &d, &d, 1, 2).unwrap();
        assert_eq!(t6.ip(), 6);
        assert_eq!(t6.laddr.to_string(), "::1");
        assert_eq!(t6.remote().to_string(), "::1:2");
        assert!(Tuple::from_raw(1, &s, &s, 0, 0).is_none());
        let mut raw = Vec::new();
        raw.extend_from_slice(&s);
        raw.extend_from_slice(&d);
        for v in [40000u16, 80, AF_INET, 0] {
            raw.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(raw.len(), NET_TUPLE_SIZE);
        let t = tuple_from_bytes(&raw).unwrap();
        assert_eq!(
            (t.local().to_string(), t.rport),
            ("127.0.0.1:40000".to_string(), 80)
        );
        assert!(tuple_from_bytes(&raw[..39]).is_none());
    }

    #[test]
    fn ports_and_states() {
        assert_eq!(parse_ports("80,81, 80").unwrap(), Ports(vec![80, 81]));
        assert!(parse_ports("0").is_err());
        assert!(parse_ports("65536").is_err());
        assert!(parse_ports("80,").is_err());
        assert!(parse_ports("http").is_err());
        assert_eq!(tcp_state_name(1), "ESTABLISHED");
        assert_eq!(tcp_state_name(7), "CLOSE");
        assert_eq!(tcp_state_name(99), "UNKNOWN");
        let f = |ipv4, ipv6| FamilyArgs { ipv4, ipv6 }.filter();
        assert_eq!(f(true, false), AF_INET);
        assert_eq!(f(false, true), AF_INET6);
        assert_eq!(f(false, false), 0);
    }
}
