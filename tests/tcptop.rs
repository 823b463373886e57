//! tcptop on this host: known byte counts over loopback, summed over the
//! intervals, must be exact per connection and process (JSON has bytes).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::net;
use serde_json::Value;

/// (pid, lport, rport) -> (tx, rx, comm), summed over intervals.
fn totals(events: &[Value]) -> HashMap<(u64, u64, u64), (u64, u64, String)> {
    let mut m: HashMap<(u64, u64, u64), (u64, u64, String)> = HashMap::new();
    for e in events {
        let key = (
            e["pid"].as_u64().unwrap(),
            e["lport"].as_u64().unwrap(),
            e["rport"].as_u64().unwrap(),
        );
        let v = m
            .entry(key)
            .or_insert((0, 0, e["comm"].as_str().unwrap().to_string()));
        v.0 += e["tx_bytes"].as_u64().unwrap();
        v.1 += e["rx_bytes"].as_u64().unwrap();
    }
    m
}

#[test]
fn exact_bytes_ipv4_and_ipv6() {
    let t = common::start("tcptop", &["--json", "-r", "100000", "0.2"]);
    let x4 = net::exchange(false, 123_456, 65_432, b"ironscope-tt4\0");
    let x6 = net::exchange(true, 7_777, 300_001, b"ironscope-tt6\0");
    std::thread::sleep(Duration::from_millis(300));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    common::assert_no_bpf_left(&f);
    let events = f.json();
    let sums = totals(&events);
    let me = std::process::id() as u64;
    for (x, v6, up, down, comm) in [
        (&x4, false, 123_456, 65_432, "ironscope-tt4"),
        (&x6, true, 7_777, 300_001, "ironscope-tt6"),
    ] {
        let (port, cport) = (x.port as u64, x.cport as u64);
        let client = sums
            .get(&(x.pid as u64, cport, port))
            .unwrap_or_else(|| panic!("client row: {events:?}"));
        assert_eq!(
            *client,
            (up, down, comm.to_string()),
            "client (tx, rx, comm)"
        );
        let server = sums
            .get(&(me, port, cport))
            .unwrap_or_else(|| panic!("server row: {events:?}"));
        assert_eq!((server.0, server.1), (down, up), "server (tx, rx)");
        let addr = if v6 { "::1" } else { "127.0.0.1" };
        let e = events.iter().find(|e| e["lport"] == cport).unwrap();
        assert_eq!(
            (e["laddr"].as_str(), e["raddr"].as_str(), e["ip"].as_u64()),
            (Some(addr), Some(addr), Some(if v6 { 6 } else { 4 }))
        );
        assert_eq!(e["rx_kb"], e["rx_bytes"].as_u64().unwrap() / 1024);
    }
}

/// The table with -C -S; --comm keeps the child's side only.
#[test]
fn table_and_comm_filter() {
    let t = common::start("tcptop", &["-C", "-S", "--comm", "ironscope-ttt", "30"]);
    let x = net::exchange(false, 5_000, 2_100, b"ironscope-ttt\0");
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    // Stopped before the first interval: one summary at exit.
    let lines: Vec<&String> = f.stdout.iter().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{:?}", f.stdout);
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMM", "LADDR", "RADDR", "RX_KB", "TX_KB"]
    );
    let (pid, l, r) = (
        x.pid.to_string(),
        format!("127.0.0.1:{}", x.cport),
        format!("127.0.0.1:{}", x.port),
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        [pid.as_str(), "ironscope-ttt", &l, &r, "2", "4"]
    );
}

/// -p (this process) with -6: the IPv6 server side only; the summary line.
#[test]
fn pid_and_family_filters() {
    let me = std::process::id();
    let t = common::start(
        "tcptop",
        &["--json", "-6", "-p", &me.to_string(), "-r", "100000", "30"],
    );
    let x6 = net::exchange(true, 1_000, 2_000, b"ironscope-ttp\0");
    let x4 = net::exchange(false, 1_000, 2_000, b"ironscope-ttp\0");
    let f = t.stop();
    let ev = f.json();
    let ports = [x6.port, x6.cport, x4.port, x4.cport];
    let ours: Vec<&Value> = ev
        .iter()
        .filter(|e| ports.iter().any(|p| e["lport"] == *p))
        .collect();
    assert_eq!(ours.len(), 1, "{ev:?}");
    assert_eq!(ours[0]["lport"], x6.port);
    assert_eq!(ours[0]["pid"], me);
    assert_eq!(
        (ours[0]["rx_bytes"].as_u64(), ours[0]["tx_bytes"].as_u64()),
        (Some(1_000), Some(2_000))
    );

    let t = common::start("tcptop", &["-C", "--comm", "ironscope-none", "30"]);
    let f = t.stop();
    assert!(f.stdout[0].contains(" loadavg: "), "{:?}", f.stdout);
}

/// INTERVAL COUNT: exits by itself after COUNT summaries.
#[test]
fn interval_and_count() {
    let t = common::start("tcptop", &["-C", "-S", "0.1", "3"]);
    let f = t.wait(Duration::from_secs(10));
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout.iter().filter(|l| l.starts_with("PID ")).count(),
        3,
        "{:?}",
        f.stdout
    );
}

#[test]
fn bad_input() {
    common::assert_one_line_error("tcptop", &["0"], 2, "positive number of seconds");
    common::assert_one_line_error("tcptop", &["1", "0"], 2, "not a positive count");
    common::assert_one_line_error("tcptop", &["-r", "0"], 2, "-r");
    common::assert_one_line_error("tcptop", &["-s", "bytes"], 2, "bytes");
    common::assert_one_line_error("tcptop", &["-4", "-6"], 2, "cannot be used with");
}
