//! tcpaccept on this host: loopback accepts by forked children with known
//! pid and comm, over IPv4 (accept4) and IPv6 (accept).

mod common;

use common::net::{self, lo};
use serde_json::Value;

fn with_lport(events: &[Value], port: u16) -> Vec<&Value> {
    events.iter().filter(|v| v["lport"] == port).collect()
}

#[test]
fn accepts_ipv4_and_ipv6() {
    let t = common::start("tcpaccept", &["--json"]);
    let mut want = Vec::new();
    for v6 in [false, true] {
        let l = net::listener(v6);
        let port = net::port(&l);
        let comm: &'static [u8] = if v6 {
            b"ironscope-ta6\0"
        } else {
            b"ironscope-ta4\0"
        };
        let child = net::spawn_acceptor(&l, Some(comm), v6);
        let s = net::connect(lo(v6, port));
        let rport = s.local_addr().unwrap().port();
        assert_eq!(child.read_u32(), Some(rport as u32));
        let pid = child.pid;
        assert_eq!(child.wait(), 0);
        want.push((v6, port, rport, pid, comm));
    }
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    common::assert_no_bpf_left(&f);
    let events = f.json();
    for (v6, port, rport, pid, comm) in want {
        let got = with_lport(&events, port);
        assert_eq!(got.len(), 1, "one accept on port {port}: {events:?}");
        let e = got[0];
        let addr = if v6 { "::1" } else { "127.0.0.1" };
        assert_eq!(e["pid"], pid, "{e}");
        assert_eq!(e["tid"], pid, "{e}");
        assert_eq!(
            e["comm"],
            std::str::from_utf8(&comm[..comm.len() - 1]).unwrap(),
            "{e}"
        );
        assert_eq!(e["ip"], if v6 { 6 } else { 4 }, "{e}");
        assert_eq!(e["laddr"], addr, "{e}");
        assert_eq!(e["raddr"], addr, "{e}");
        assert_eq!(e["rport"], rport, "{e}");
    }
}

#[test]
fn table_columns() {
    let l = net::listener(false);
    let port = net::port(&l);
    let t = common::start("tcpaccept", &["-T", "-t", "-P", &port.to_string()]);
    let child = net::spawn_acceptor(&l, Some(b"ironscope-tab\0"), false);
    let s = net::connect(lo(false, port));
    let rport = s.local_addr().unwrap().port();
    child.read_u32();
    let pid = child.pid;
    child.wait();
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["TIME", "TIME(s)", "PID", "COMM", "IP", "RADDR", "RPORT", "LADDR", "LPORT"]
    );
    assert_eq!(f.stdout.len(), 2, "{:?}", f.stdout);
    let r: Vec<&str> = f.stdout[1].split_whitespace().collect();
    assert_eq!(r[0].len(), 8, "HH:MM:SS: {r:?}");
    assert!(r[1].parse::<f64>().is_ok(), "{r:?}");
    let (pid_s, rport_s, port_s) = (pid.to_string(), rport.to_string(), port.to_string());
    assert_eq!(
        r[2..],
        [
            pid_s.as_str(),
            "ironscope-tab",
            "4",
            "127.0.0.1",
            rport_s.as_str(),
            "127.0.0.1",
            port_s.as_str()
        ]
    );
}

/// -P, -p, --comm and -4/-6 keep what they name and drop the rest.
#[test]
fn filters() {
    let me = std::process::id().to_string();
    let l1 = net::listener(false);
    let l2 = net::listener(false);
    let (p1, p2) = (net::port(&l1), net::port(&l2));

    // -P p1: our accept on p1 only, not on p2.
    let t = common::start("tcpaccept", &["--json", "-P", &p1.to_string()]);
    let _c1 = net::connect(lo(false, p1));
    let _c2 = net::connect(lo(false, p2));
    let _a1 = l1.accept().unwrap();
    let _a2 = l2.accept().unwrap();
    let ev = t.stop().json();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["lport"], p1);
    assert_eq!(ev[0]["pid"], std::process::id());

    // -p <this test>: our accept, not the child's.
    let ports = format!("{p1},{p2}");
    let t = common::start("tcpaccept", &["--json", "-P", &ports, "-p", &me]);
    let child = net::spawn_acceptor(&l2, Some(b"ironscope-flt\0"), false);
    let _c1 = net::connect(lo(false, p1));
    let _c2 = net::connect(lo(false, p2));
    let _a1 = l1.accept().unwrap();
    child.read_u32();
    child.wait();
    let ev = t.stop().json();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["lport"], p1);

    // --comm: the child's accept, not ours.
    let t = common::start(
        "tcpaccept",
        &["--json", "-P", &ports, "--comm", "ironscope-flt"],
    );
    let child = net::spawn_acceptor(&l2, Some(b"ironscope-flt\0"), false);
    let _c1 = net::connect(lo(false, p1));
    let _c2 = net::connect(lo(false, p2));
    let _a1 = l1.accept().unwrap();
    child.read_u32();
    let pid = child.pid;
    child.wait();
    let ev = t.stop().json();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["lport"], p2);
    assert_eq!(ev[0]["pid"], pid);

    // -4: not the IPv6 accept.
    let l6 = net::listener(true);
    let p6 = net::port(&l6);
    let t = common::start("tcpaccept", &["--json", "-4", "-P", &format!("{p1},{p6}")]);
    let _c1 = net::connect(lo(false, p1));
    let _c6 = net::connect(lo(true, p6));
    let _a1 = l1.accept().unwrap();
    let _a6 = l6.accept().unwrap();
    let ev = t.stop().json();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["lport"], p1);
}

#[test]
fn bad_input() {
    common::assert_one_line_error("tcpaccept", &["-P", "70000"], 2, "not a port");
    common::assert_one_line_error("tcpaccept", &["-4", "-6"], 2, "cannot be used with");
    common::assert_one_line_error("tcpaccept", &["--cgroup", "/nonexistent"], 2, "--cgroup");
    if !std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        common::assert_one_line_error("tcpaccept", &["--attach", "kprobe"], 1, "no kprobes");
    }
}
