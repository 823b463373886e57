//! tcpconnect on this host: loopback connects from forked children with
//! known pid, comm, uid and ports, over IPv4 and IPv6.

mod common;

use std::time::Duration;

use common::net::{self, lo, Client};
use serde_json::Value;

fn with_dport(events: &[Value], port: u16) -> Vec<&Value> {
    events.iter().filter(|v| v["dport"] == port).collect()
}

/// One connect from a child per family; the exact event for each.
#[test]
fn connects_ipv4_and_ipv6() {
    let t = common::start("tcpconnect", &["--json"]);
    let mut want = Vec::new();
    for v6 in [false, true] {
        let l = net::listener(v6);
        let port = net::port(&l);
        let comm: &'static [u8] = if v6 {
            b"ironscope-tc6\0"
        } else {
            b"ironscope-tc4\0"
        };
        let child = net::spawn_client(Client {
            comm: Some(comm),
            ..Client::to(lo(v6, port))
        });
        net::serve_one(&l, 0, 0, false);
        let lport = child.read_u32().expect("child's port") as u16;
        let pid = child.pid;
        assert_eq!(child.wait(), 0);
        want.push((v6, port, lport, pid, comm));
    }
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    common::assert_no_bpf_left(&f);
    let events = f.json();
    for (v6, port, lport, pid, comm) in want {
        let got = with_dport(&events, port);
        assert_eq!(got.len(), 1, "one connect to port {port}: {events:?}");
        let e = got[0];
        let addr = if v6 { "::1" } else { "127.0.0.1" };
        assert_eq!(e["pid"], pid, "{e}");
        assert_eq!(e["tid"], pid, "{e}");
        assert_eq!(e["uid"], 0, "{e}");
        assert_eq!(
            e["comm"],
            std::str::from_utf8(&comm[..comm.len() - 1]).unwrap(),
            "{e}"
        );
        assert_eq!(e["ip"], if v6 { 6 } else { 4 }, "{e}");
        assert_eq!(e["saddr"], addr, "{e}");
        assert_eq!(e["daddr"], addr, "{e}");
        assert_eq!(e["lport"], lport, "{e}");
    }
}

/// Attempts that fail are still connects: refused (RST), and a SYN into a
/// port whose packets are dropped, both blocking (reported at the SYN
/// retransmit) and non-blocking (reported when connect() returns).
#[test]
fn refused_and_unanswered_connects() {
    let refused = net::closed_port(false);
    let silent = net::closed_port(false);
    let t = common::start(
        "tcpconnect",
        &["--json", "-P", &format!("{refused},{silent}")],
    );
    let _rule = net::DropRule::to_port(false, silent);

    let c = net::spawn_client(Client::to(lo(false, refused)));
    let refused_lport = c.read_u32();
    let refused_pid = c.pid;
    assert_eq!(c.wait(), 12, "connect to a closed port must fail");
    assert_eq!(refused_lport, Some(0));

    let nb = net::spawn_client(Client {
        nonblock: true,
        ..Client::to(lo(false, silent))
    });
    let nb_lport = nb.read_u32().expect("non-blocking client's port") as u16;
    let nb_pid = nb.pid;
    assert_eq!(nb.wait(), 0);

    let blocked = net::spawn_client(Client::to(lo(false, silent)));
    let blocked_pid = blocked.pid;
    let seen = t.wait_for(Duration::from_secs(5), |l| {
        l.contains(&format!("\"pid\":{blocked_pid},"))
    });
    // SAFETY: killing our own child, stuck in connect().
    unsafe { libc::kill(blocked_pid as i32, libc::SIGKILL) };
    blocked.wait();
    assert!(
        seen.is_some(),
        "a blocked connect was not reported within 5 s: {:?}",
        t.lines()
    );

    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let events = f.json();
    let r = with_dport(&events, refused);
    assert_eq!(r.len(), 1, "{events:?}");
    assert_eq!(r[0]["pid"], refused_pid);
    assert_ne!(r[0]["lport"], 0, "the refused connect's port: {}", r[0]);
    let s = with_dport(&events, silent);
    assert_eq!(s.len(), 2, "{events:?}");
    let nbe = s
        .iter()
        .find(|e| e["pid"] == nb_pid)
        .expect("non-blocking connect");
    assert_eq!(nbe["lport"], nb_lport);
    let be = s
        .iter()
        .find(|e| e["pid"] == blocked_pid)
        .expect("blocked connect");
    assert_ne!(be["lport"], 0);
    assert_ne!(be["lport"], nb_lport);
}

/// The table with every optional column.
#[test]
fn table_columns() {
    let l = net::listener(false);
    let port = net::port(&l);
    let t = common::start("tcpconnect", &["-t", "-U", "-L", "-P", &port.to_string()]);
    let child = net::spawn_client(Client {
        comm: Some(b"ironscope-tab\0"),
        uid: Some(65534),
        ..Client::to(lo(false, port))
    });
    net::serve_one(&l, 0, 0, false);
    let lport = child.read_u32().expect("port");
    let pid = child.pid;
    assert_eq!(child.wait(), 0);
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["TIME(s)", "UID", "PID", "COMM", "IP", "SADDR", "LPORT", "DADDR", "DPORT"]
    );
    let rows: Vec<Vec<&str>> = f.stdout[1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 1, "{:?}", f.stdout);
    let r = &rows[0];
    assert!(r[0].parse::<f64>().is_ok(), "{r:?}");
    let port_s = port.to_string();
    let lport_s = lport.to_string();
    let pid_s = pid.to_string();
    assert_eq!(
        r[1..],
        [
            "65534",
            pid_s.as_str(),
            "ironscope-tab",
            "4",
            "127.0.0.1",
            lport_s.as_str(),
            "127.0.0.1",
            port_s.as_str()
        ]
    );
}

/// -P, -p, -u, --comm and -4/-6 keep what they name and drop the rest.
#[test]
fn filters() {
    let l1 = net::listener(false);
    let l2 = net::listener(false);
    let (p1, p2) = (net::port(&l1), net::port(&l2));
    let ports = format!("{p1},{p2}");
    let me = std::process::id().to_string();

    // -P p1 and -p <this test>: only our own connect to p1.
    let t = common::start("tcpconnect", &["--json", "-P", &p1.to_string(), "-p", &me]);
    let _a = net::connect(lo(false, p1));
    let _b = net::connect(lo(false, p2));
    let child = net::spawn_client(Client::to(lo(false, p1)));
    child.read_u32();
    let child_pid = child.pid;
    child.wait();
    let f = t.stop();
    let ev = f.json();
    assert_eq!(with_dport(&ev, p1).len(), 1, "{ev:?}");
    assert_eq!(with_dport(&ev, p1)[0]["pid"], std::process::id());
    assert!(with_dport(&ev, p2).is_empty(), "{ev:?}");
    assert!(!ev.iter().any(|e| e["pid"] == child_pid), "{ev:?}");

    // -u 65534 and --comm: only the child with that uid / name.
    for args in [vec!["-u", "65534"], vec!["--comm", "ironscope-flt"]] {
        let mut a = vec!["--json", "-P", ports.as_str()];
        a.extend(&args);
        let t = common::start("tcpconnect", &a);
        let yes = net::spawn_client(Client {
            uid: Some(65534),
            comm: Some(b"ironscope-flt\0"),
            ..Client::to(lo(false, p1))
        });
        let no = net::spawn_client(Client::to(lo(false, p2)));
        yes.read_u32();
        no.read_u32();
        let yes_pid = yes.pid;
        yes.wait();
        no.wait();
        let f = t.stop();
        let ev = f.json();
        assert_eq!(ev.len(), 1, "{args:?}: {ev:?}");
        assert_eq!(ev[0]["pid"], yes_pid);
        assert_eq!(ev[0]["uid"], 65534);
        assert_eq!(ev[0]["dport"], p1);
    }

    // -6: the IPv6 connect only.
    let l6 = net::listener(true);
    let p6 = net::port(&l6);
    let t = common::start("tcpconnect", &["--json", "-6", "-P", &format!("{p1},{p6}")]);
    let _c = net::connect(lo(false, p1));
    let _d = net::connect(lo(true, p6));
    let f = t.stop();
    let ev = f.json();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["dport"], p6);
    assert_eq!(ev[0]["ip"], 6);
}

/// --cgroup: only tasks in that cgroup v2 directory.
#[test]
fn cgroup_filter() {
    let l = net::listener(false);
    let port = net::port(&l);
    let cg = common::TestCgroup::new("tcpconnect");
    let t = common::start(
        "tcpconnect",
        &[
            "--json",
            "-P",
            &port.to_string(),
            "--cgroup",
            cg.0.to_str().unwrap(),
        ],
    );
    let inside = net::spawn_client(Client {
        cgroup_procs: Some(net::procs_path(&cg)),
        ..Client::to(lo(false, port))
    });
    let outside = net::spawn_client(Client::to(lo(false, port)));
    inside
        .read_u32()
        .expect("the child in the cgroup connected");
    outside.read_u32();
    let pid = inside.pid;
    assert_eq!(inside.wait(), 0);
    outside.wait();
    let ev = t.stop().json();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["pid"], pid);
}

/// -c counts connects per source, destination and port, printed at exit.
#[test]
fn count_mode() {
    let l = net::listener(false);
    let port = net::port(&l);
    let t = common::start("tcpconnect", &["-c", "-P", &port.to_string()]);
    let _s: Vec<_> = (0..3).map(|_| net::connect(lo(false, port))).collect();
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["LADDR", "RADDR", "RPORT", "CONNECTS"]
    );
    let port_s = port.to_string();
    assert_eq!(
        f.stdout[1].split_whitespace().collect::<Vec<_>>(),
        ["127.0.0.1", "127.0.0.1", &port_s, "3"]
    );
    assert_eq!(f.stdout.len(), 2, "{:?}", f.stdout);

    let t = common::start("tcpconnect", &["-c", "--json", "-P", &port.to_string()]);
    let _s: Vec<_> = (0..2).map(|_| net::connect(lo(false, port))).collect();
    let f = t.stop();
    let ev = f.json();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["connects"], 2);
    assert_eq!(ev[0]["rport"], port);
    assert_eq!(ev[0]["laddr"], "127.0.0.1");
}

#[test]
fn bad_input() {
    common::assert_one_line_error("tcpconnect", &["-P", "0"], 2, "not a port");
    common::assert_one_line_error("tcpconnect", &["-P", "80,http"], 2, "not a port");
    common::assert_one_line_error("tcpconnect", &["-4", "-6"], 2, "cannot be used with");
    common::assert_one_line_error("tcpconnect", &["-c", "-L"], 2, "cannot be used with");
    common::assert_one_line_error("tcpconnect", &["-p", "0"], 2, "not a valid process id");
    // This host's kernel has no kprobes; elsewhere the VM case covers them.
    if !std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        common::assert_one_line_error("tcpconnect", &["--attach", "kprobe"], 1, "no kprobes");
    }
}
