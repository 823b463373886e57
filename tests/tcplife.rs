//! tcplife on this host: loopback sessions moving known byte counts each
//! way between a forked client (own pid and comm) and this process.
//!
//! Bytes are the kernel's bytes_acked/bytes_received, which also count the
//! SYN and FIN sequence numbers once acknowledged: the data plus at most 2.
//! KiB columns are exact (sizes are chosen away from KiB boundaries).

mod common;

use std::time::Duration;

use common::net::{self, lo, Client, Exchange};
use serde_json::Value;

fn wait_for_lport(t: &common::Traced, port: u16) {
    let needle = format!("\"lport\":{port},");
    net::wait_line(t, &needle);
}

fn wait_closed(t: &common::Traced, s: &Exchange) {
    wait_for_lport(t, s.port);
    wait_for_lport(t, s.cport);
}

fn with_lport(events: &[Value], port: u16) -> Vec<&Value> {
    events.iter().filter(|e| e["lport"] == port).collect()
}

fn assert_bytes(e: &Value, key: &str, data: u64) {
    let n = e[key].as_u64().unwrap_or_else(|| panic!("{key} in {e}"));
    assert!(
        (data..=data + 2).contains(&n),
        "{key}: {n}, want {data} (+ SYN/FIN): {e}"
    );
    let kb = key.replace("bytes", "kb");
    assert_eq!(e[&kb], data / 1024, "{e}");
}

#[test]
fn sessions_ipv4_and_ipv6() {
    let t = common::start("tcplife", &["--json"]);
    let s4 = net::exchange(false, 100_000, 50_000, b"ironscope-tl4\0");
    let s6 = net::exchange(true, 7_000, 300_000, b"ironscope-tl6\0");
    wait_closed(&t, &s4);
    wait_closed(&t, &s6);
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    common::assert_no_bpf_left(&f);
    let events = f.json();
    let me = std::process::id();
    for (s, v6, up, down, comm) in [
        (&s4, false, 100_000, 50_000, "ironscope-tl4"),
        (&s6, true, 7_000, 300_000, "ironscope-tl6"),
    ] {
        let addr = if v6 { "::1" } else { "127.0.0.1" };
        let client = with_lport(&events, s.cport);
        assert_eq!(client.len(), 1, "{events:?}");
        let c = client[0];
        assert_eq!(c["pid"], s.pid, "{c}");
        assert_eq!(c["comm"], comm, "{c}");
        assert_eq!(c["ip"], if v6 { 6 } else { 4 }, "{c}");
        assert_eq!(c["laddr"], addr, "{c}");
        assert_eq!(c["raddr"], addr, "{c}");
        assert_eq!(c["rport"], s.port, "{c}");
        assert_bytes(c, "tx_bytes", up);
        assert_bytes(c, "rx_bytes", down);
        assert!(c["ms"].as_f64().unwrap() > 0.0, "{c}");

        let server = with_lport(&events, s.port);
        assert_eq!(server.len(), 1, "{events:?}");
        let v = server[0];
        assert_eq!(v["pid"], me, "the server side closed in this process: {v}");
        assert_eq!(v["rport"], s.cport, "{v}");
        assert_eq!(v["laddr"], addr, "{v}");
        assert_bytes(v, "tx_bytes", down);
        assert_bytes(v, "rx_bytes", up);
    }
}

#[test]
fn table_and_csv() {
    let t = common::start("tcplife", &["-T", "-t", "--comm", "ironscope-tlt"]);
    let s = net::exchange(false, 5_000, 2_100, b"ironscope-tlt\0");
    let needle = format!(" {} ", s.cport);
    net::wait_line(&t, &needle);
    let f = t.stop();
    assert_eq!(
        f.stdout[0].split_whitespace().collect::<Vec<_>>(),
        [
            "TIME", "TIME(s)", "PID", "COMM", "LADDR", "LPORT", "RADDR", "RPORT", "TX_KB", "RX_KB",
            "MS"
        ]
    );
    assert_eq!(
        f.stdout.len(),
        2,
        "only the client's session (--comm): {:?}",
        f.stdout
    );
    let c: Vec<&str> = f.stdout[1].split_whitespace().collect();
    assert_eq!(c[0].len(), 8, "{c:?}");
    assert!(
        c[1].parse::<f64>().is_ok() && c[10].parse::<f64>().is_ok(),
        "{c:?}"
    );
    let (pid, cport, port) = (s.pid.to_string(), s.cport.to_string(), s.port.to_string());
    // COMM is cut to 10 characters, as bcc does.
    assert_eq!(
        c[2..10],
        [
            pid.as_str(),
            "ironscope-",
            "127.0.0.1",
            &cport,
            "127.0.0.1",
            &port,
            "4",
            "2"
        ]
    );

    let t = common::start("tcplife", &["-s", "--comm", "ironscope-tlc"]);
    let s = net::exchange(true, 3_000, 0, b"ironscope-tlc\0");
    let needle = format!(",{},", s.cport);
    net::wait_line(&t, &needle);
    let f = t.stop();
    assert_eq!(
        f.stdout[0],
        "PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS"
    );
    let c: Vec<&str> = f.stdout[1].split(',').collect();
    let (pid, cport, port) = (s.pid.to_string(), s.cport.to_string(), s.port.to_string());
    assert_eq!(
        c[..9],
        [
            pid.as_str(),
            "ironscope-tlc",
            "6",
            "::1",
            &cport,
            "::1",
            &port,
            "2",
            "0"
        ]
    );
}

/// --comm keeps the client's session; -p (this process) with -6 keeps the
/// server side of the IPv6 session only.
#[test]
fn process_and_family_filters() {
    let t = common::start("tcplife", &["--json", "--comm", "ironscope-tlf"]);
    let s = net::exchange(false, 1_000, 1_000, b"ironscope-tlf\0");
    wait_for_lport(&t, s.cport);
    std::thread::sleep(Duration::from_millis(200));
    let ev = t.stop().json();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["pid"], s.pid);
    assert_eq!(ev[0]["lport"], s.cport);

    let me = std::process::id();
    let t = common::start("tcplife", &["--json", "-6", "-p", &me.to_string()]);
    let s6 = net::exchange(true, 1_000, 1_000, b"ironscope-tlf\0");
    let s4 = net::exchange(false, 1_000, 1_000, b"ironscope-tlf\0");
    wait_for_lport(&t, s6.port);
    std::thread::sleep(Duration::from_millis(200));
    let ev = t.stop().json();
    let ports = [s6.port, s6.cport, s4.port, s4.cport];
    let ours: Vec<&Value> = ev
        .iter()
        .filter(|e| ports.iter().any(|p| e["lport"] == *p))
        .collect();
    assert_eq!(ours.len(), 1, "{ev:?}");
    assert_eq!(ours[0]["lport"], s6.port);
    assert_eq!(ours[0]["pid"], me);
    assert_eq!(ours[0]["ip"], 6);
}

#[test]
fn port_filters() {
    // -L: local port = the server's; -D: remote port = the server's.
    for (flag, server_side) in [("-L", true), ("-D", false)] {
        let l = net::listener(false);
        let port = net::port(&l);
        let t = common::start("tcplife", &["--json", flag, &port.to_string()]);
        let child = net::spawn_client(Client {
            send: 10,
            recv: 10,
            ..Client::to(lo(false, port))
        });
        net::serve_one(&l, 10, 10, true);
        let cport = child.read_u32().unwrap() as u16;
        child.wait();
        let want = if server_side { port } else { cport };
        wait_for_lport(&t, want);
        std::thread::sleep(Duration::from_millis(200));
        let ev = t.stop().json();
        let ours: Vec<&Value> = ev
            .iter()
            .filter(|e| e["lport"] == port || e["lport"] == cport)
            .collect();
        assert_eq!(ours.len(), 1, "{flag}: {ev:?}");
        assert_eq!(ours[0]["lport"], want, "{flag}: {ev:?}");
    }
}

#[test]
fn bad_input() {
    common::assert_one_line_error("tcplife", &["-L", "0"], 2, "not a port");
    common::assert_one_line_error("tcplife", &["-D", "1,x"], 2, "not a port");
    common::assert_one_line_error("tcplife", &["-4", "-6"], 2, "cannot be used with");
    common::assert_one_line_error("tcplife", &["--attach", "fentry"], 2, "no fentry hook path");
}
