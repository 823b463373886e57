//! tcpretrans on this host: loopback connections whose server port drops
//! incoming packets (an iptables rule, removed afterwards) retransmit; a
//! control connection next to them must not show up.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::net;
use serde_json::Value;

/// A connected pair over loopback: (client, server side, server port).
struct Pair {
    client: TcpStream,
    server: TcpStream,
    port: u16,
    cport: u16,
}

fn pair(v6: bool) -> Pair {
    let l: TcpListener = net::listener(v6);
    let port = net::port(&l);
    let dest: SocketAddr = if v6 {
        (Ipv6Addr::LOCALHOST, port).into()
    } else {
        (Ipv4Addr::LOCALHOST, port).into()
    };
    let client = net::connect(dest);
    let (server, _) = l.accept().expect("accept");
    let cport = client.local_addr().unwrap().port();
    Pair {
        client,
        server,
        port,
        cport,
    }
}

fn involving(events: &[Value], port: u16) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["lport"] == port || e["rport"] == port)
        .collect()
}

/// Retransmits of exactly the two dropped connections (IPv4 and IPv6), all
/// from the client's side, of the same unacknowledged segment.
#[test]
fn retransmits_of_dropped_connections() {
    let t = common::start("tcpretrans", &["--json", "-s"]);
    let mut p4 = pair(false);
    let mut p6 = pair(true);
    let mut ctl = pair(false);
    {
        let _r4 = net::DropRule::to_port(false, p4.port);
        let _r6 = net::DropRule::to_port(true, p6.port);
        for p in [&mut p4, &mut p6, &mut ctl] {
            p.client.write_all(&[7u8; 2000]).unwrap();
        }
        let mut buf = [0u8; 2000];
        ctl.server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        ctl.server
            .read_exact(&mut buf)
            .expect("the control connection delivers");
        for p in [&p4, &p6] {
            let needle = format!("\"rport\":{},", p.port);
            net::wait_line(&t, &needle);
        }
    }
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let events = f.json();
    for (p, addr, ip) in [(&p4, "127.0.0.1", 4), (&p6, "::1", 6)] {
        let got = involving(&events, p.port);
        assert!(!got.is_empty(), "{events:?}");
        for e in &got {
            assert_eq!(e["laddr"], addr, "{e}");
            assert_eq!(e["lport"], p.cport, "{e}");
            assert_eq!(e["raddr"], addr, "{e}");
            assert_eq!(e["rport"], p.port, "{e}");
            assert_eq!(e["ip"], ip, "{e}");
            assert_eq!(e["type"], "R", "{e}");
            assert_eq!(e["state"], "ESTABLISHED", "{e}");
            assert_eq!(e["seq"], got[0]["seq"], "one segment, sent again: {got:?}");
        }
    }
    assert!(
        involving(&events, ctl.port).is_empty(),
        "the control connection: {events:?}"
    );
}

/// -c -4: a count for the IPv4 connection only, printed at exit.
#[test]
fn count_mode_ipv4_only() {
    let t = common::start("tcpretrans", &["-c", "-4"]);
    let mut p4 = pair(false);
    let mut p6 = pair(true);
    {
        let _r4 = net::DropRule::to_port(false, p4.port);
        let _r6 = net::DropRule::to_port(true, p6.port);
        p4.client.write_all(&[1u8; 1000]).unwrap();
        p6.client.write_all(&[1u8; 1000]).unwrap();
        // The first retransmission timeout on loopback is 200 ms; allow a few.
        std::thread::sleep(Duration::from_millis(1200));
    }
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["LADDR:LPORT", "RADDR:RPORT", "RETRANSMITS"]
    );
    let flow = format!("127.0.0.1:{} <-> 127.0.0.1:{}", p4.cport, p4.port);
    let rows: Vec<&String> = f
        .stdout
        .iter()
        .filter(|l| l.contains(&format!(":{}", p4.port)))
        .collect();
    assert_eq!(rows.len(), 1, "{:?}", f.stdout);
    let cols: Vec<&str> = rows[0].split_whitespace().collect();
    assert_eq!(cols[..3].join(" "), flow, "{rows:?}");
    let n: u64 = cols[3].parse().unwrap();
    assert!(n >= 1, "{rows:?}");
    assert!(
        !f.stdout.iter().any(|l| l.contains("::1")),
        "-4 shows no IPv6: {:?}",
        f.stdout
    );
}

/// The table: TIME PID IP LADDR:LPORT T> RADDR:RPORT STATE.
#[test]
fn table_row() {
    let t = common::start("tcpretrans", &[]);
    let mut p = pair(false);
    {
        let _r = net::DropRule::to_port(false, p.port);
        p.client.write_all(&[1u8; 100]).unwrap();
        let needle = format!(":{} ", p.port);
        net::wait_line(&t, &needle);
    }
    let f = t.stop();
    assert_eq!(
        f.stdout[0].split_whitespace().collect::<Vec<_>>(),
        [
            "TIME",
            "PID",
            "IP",
            "LADDR:LPORT",
            "T>",
            "RADDR:RPORT",
            "STATE"
        ]
    );
    let needle = format!(":{} ", p.port);
    let row = f
        .stdout
        .iter()
        .find(|l| l.contains(&needle))
        .expect("a row");
    let c: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(c.len(), 7, "{row}");
    assert_eq!(c[0].len(), 8, "{row}");
    assert!(c[1].parse::<u32>().is_ok(), "{row}");
    let (l, r) = (
        format!("127.0.0.1:{}", p.cport),
        format!("127.0.0.1:{}", p.port),
    );
    assert_eq!(
        c[2..],
        ["4", l.as_str(), "R>", r.as_str(), "ESTABLISHED"],
        "{row}"
    );
}

#[test]
fn bad_input() {
    common::assert_one_line_error(
        "tcpretrans",
        &["--pid", "1"],
        2,
        "not supported by tcpretrans",
    );
    common::assert_one_line_error("tcpretrans", &["-c", "-s"], 2, "cannot be used with");
    common::assert_one_line_error("tcpretrans", &["-4", "-6"], 2, "cannot be used with");
    common::assert_one_line_error(
        "tcpretrans",
        &["--attach", "kprobe"],
        2,
        "no kprobe hook path",
    );
    // Tail loss probes need fentry or kprobes, which this host lacks.
    if !std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        common::assert_one_line_error(
            "tcpretrans",
            &["-l"],
            1,
            "tail loss probes (-l) need fentry or a kprobe",
        );
    }
}

#[test]
fn teardown() {
    let t = common::start("tcpretrans", &["--json"]);
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert!(f.stdout.is_empty() || f.json().iter().all(|e| e["type"] == "R"));
    common::assert_no_bpf_left(&f);
}
