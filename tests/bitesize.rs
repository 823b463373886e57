//! bitesize on this kernel: direct I/O of known sizes on a loop device.

mod common;

use std::time::Duration;

use common::loopdev::{dd_direct, LoopDev};
use common::*;
use serde_json::Value;

fn bucket(h: &Value, low: u64) -> u64 {
    h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["low"] == low)
        .map_or(0, |b| b["count"].as_u64().unwrap())
}

#[test]
fn sizes_by_process_name() {
    let dev = LoopDev::new("bitesize-json", 8, true);
    let t = start("bitesize", &["--json", "-d", &dev.name]);
    dd_direct(&dev.path, true, 16384, 5, 0); // 16 Kbytes: 16 -> 31
    dd_direct(&dev.path, false, 4096, 3, 0); // 4 Kbytes: 4 -> 7
    dd_direct(&dev.path, true, 512, 2, 64); // under 1 Kbyte: 0 -> 1
    std::thread::sleep(Duration::from_millis(200));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let hists = f.json();
    let dd: Vec<&Value> = hists.iter().filter(|h| h["comm"] == "dd").collect();
    assert_eq!(dd.len(), 1, "{:?}", f.stdout);
    let h = dd[0];
    assert_eq!(h["unit"], "kbytes");
    assert_eq!(bucket(h, 16), 5, "{h}");
    assert_eq!(bucket(h, 4), 3, "{h}");
    assert_eq!(bucket(h, 0), 2, "{h}");
    let all: u64 = h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(all, 10, "{h}");
    assert_no_bpf_left(&f);
}

#[test]
fn comm_filter_and_table() {
    let dev = LoopDev::new("bitesize-table", 8, true);
    // -c is bcc's command-name filter.
    let t = start("bitesize", &["-c", "dd", "-d", &dev.name]);
    dd_direct(&dev.path, true, 65536, 4, 0);
    std::thread::sleep(Duration::from_millis(200));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(f.stdout[0], "Tracing block I/O... Hit Ctrl-C to end.");
    let names: Vec<&String> = f
        .stdout
        .iter()
        .filter(|l| l.starts_with("Process Name = "))
        .collect();
    assert_eq!(names, ["Process Name = dd"], "{:?}", f.stdout);
    assert!(f
        .stdout
        .iter()
        .any(|l| l.contains("Kbytes") && l.contains("distribution")));
    let row = f
        .stdout
        .iter()
        .find(|l| l.trim_start().starts_with("64 -> 127"))
        .expect("64 -> 127 row");
    assert_eq!(
        row.split(':').nth(1).unwrap().split_whitespace().next(),
        Some("4"),
        "{row}"
    );

    // A name that issued nothing: no histogram at all.
    let t = start("bitesize", &["-c", "nosuchcomm", "-d", &dev.name]);
    dd_direct(&dev.path, true, 65536, 2, 0);
    let f = t.stop();
    assert!(
        !f.stdout.iter().any(|l| l.starts_with("Process Name")),
        "{:?}",
        f.stdout
    );
}

#[test]
fn bad_input() {
    assert_one_line_error("bitesize", &["-c", "0123456789abcdefg"], 2, "15 bytes");
    assert_one_line_error(
        "bitesize",
        &["-d", "nope0"],
        2,
        "no disk or partition named",
    );
    assert_one_line_error("bitesize", &["abc"], 2, "duration");
}
