//! biolatency on this kernel: direct I/O of known count on a loop device.

mod common;

use std::time::Duration;

use common::loopdev::{dd_direct, LoopDev};
use common::*;
use serde_json::Value;

fn total(h: &Value) -> u64 {
    h["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no buckets: {h}"))
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum()
}

/// Requests counted in `disk`'s histograms whose flags end in `op` (e.g.
/// "Write"); each histogram's count must agree with its buckets.
fn counted(hists: &[Value], disk: &str, op: &str) -> u64 {
    hists
        .iter()
        .filter(|h| h["disk"] == disk)
        .filter(|h| h["flags"].as_str().unwrap().rsplit('-').next() == Some(op))
        .map(|h| {
            assert_eq!(total(h), h["count"].as_u64().unwrap(), "{h}");
            total(h)
        })
        .sum()
}

#[test]
fn counts_sum_to_requests() {
    let dev = LoopDev::new("biolat-sum", 8, true);
    // --comm dd: only our I/O on this disk, whatever else probes it.
    let t = start(
        "biolatency",
        &["--json", "-d", &dev.name, "--comm", "dd", "-D", "-F"],
    );
    dd_direct(&dev.path, true, 4096, 7, 0);
    dd_direct(&dev.path, false, 4096, 4, 0);
    std::thread::sleep(Duration::from_millis(200));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let hists = f.json();
    assert!(
        hists
            .iter()
            .all(|h| h["disk"] == dev.name && h["unit"] == "usecs"),
        "{:?}",
        f.stdout
    );
    assert_eq!(counted(&hists, &dev.name, "Write"), 7, "{:?}", f.stdout);
    assert_eq!(counted(&hists, &dev.name, "Read"), 4, "{:?}", f.stdout);
    assert_eq!(hists.iter().map(total).sum::<u64>(), 11, "{:?}", f.stdout);
    assert_no_bpf_left(&f);
}

/// Without an issuer filter or -Q only the issue and completion hooks run:
/// every request on the disk is still counted.
#[test]
fn issue_only_plan_counts_every_request() {
    let dev = LoopDev::new("biolat-issue", 8, true);
    let t = start(
        "biolatency",
        &["--json", "--verbose", "-d", &dev.name, "-D", "-F"],
    );
    dd_direct(&dev.path, true, 4096, 6, 0);
    dd_direct(&dev.path, false, 4096, 5, 0);
    std::thread::sleep(Duration::from_millis(200));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert!(
        f.stderr
            .contains("using tracepoint: tp_btf block_rq_issue, block_rq_complete"),
        "{}",
        f.stderr
    );
    let hists = f.json();
    // Nothing else writes to a fresh loop device; udev may read it too.
    assert_eq!(counted(&hists, &dev.name, "Write"), 6, "{:?}", f.stdout);
    assert!(counted(&hists, &dev.name, "Read") >= 5, "{:?}", f.stdout);
}

#[test]
fn interval_count_and_table() {
    let dev = LoopDev::new("biolat-table", 8, true);
    // Two intervals, then exit on its own.
    let t = start(
        "biolatency",
        &["-d", &dev.name, "--comm", "dd", "-m", "-T", "0.5", "2"],
    );
    dd_direct(&dev.path, true, 4096, 3, 0);
    let f = t.wait(Duration::from_secs(10));
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0],
        "Tracing block device I/O... Hit Ctrl-C to end."
    );
    let times = f
        .stdout
        .iter()
        .filter(|l| l.len() == 8 && l.as_bytes()[2] == b':' && l.as_bytes()[5] == b':')
        .count();
    assert_eq!(times, 2, "{:?}", f.stdout);
    assert!(f
        .stdout
        .iter()
        .any(|l| l.contains("msecs") && l.contains("count     distribution")));
    // Every I/O took under a millisecond or more; either way all 3 are counted.
    let counted: u64 = f
        .stdout
        .iter()
        .filter(|l| l.contains("->") && l.contains('|'))
        .map(|l| {
            l.split(':')
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(counted, 3, "{:?}", f.stdout);
}

/// One histogram (no -D/-F) over several intervals: each I/O is reported
/// in exactly one interval (the kernel side only adds; we report gains).
#[test]
fn single_histogram_per_interval() {
    let dev = LoopDev::new("biolat-one", 8, true);
    let t = start(
        "biolatency",
        &[
            "--json",
            "--verbose",
            "-d",
            &dev.name,
            "--comm",
            "dd",
            "0.4",
            "3",
        ],
    );
    dd_direct(&dev.path, true, 4096, 6, 0);
    let f = t.wait(Duration::from_secs(10));
    assert!(f.status.success(), "{}", f.stderr);
    assert!(f.stderr.contains("using tracepoint"), "{}", f.stderr);
    let hists = f.json();
    assert!(
        hists
            .iter()
            .all(|h| h["disk"].is_null() && h["flags"].is_null()),
        "{:?}",
        f.stdout
    );
    let counts: Vec<u64> = hists.iter().map(total).collect();
    // --comm dd: only our requests, whatever else probes the device.
    assert_eq!(
        counts.iter().sum::<u64>(),
        6,
        "each request once, not again in each later interval: {counts:?}"
    );
}

#[test]
fn pid_filter_excludes() {
    let dev = LoopDev::new("biolat-pid", 8, true);
    let t = start(
        "biolatency",
        &[
            "--json",
            "-d",
            &dev.name,
            "-p",
            &std::process::id().to_string(),
        ],
    );
    dd_direct(&dev.path, true, 4096, 3, 0);
    std::thread::sleep(Duration::from_millis(200));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    // dd is not this process: nothing counted, while the same I/O is counted
    // without -p (counts_sum_to_requests).
    assert!(f.stdout.is_empty(), "{:?}", f.stdout);
}

#[test]
fn bad_input() {
    assert_one_line_error("biolatency", &["0"], 2, "INTERVAL");
    assert_one_line_error("biolatency", &["1", "0"], 2, "not a positive count");
    assert_one_line_error(
        "biolatency",
        &["-d", "nope0"],
        2,
        "no disk or partition named",
    );
    assert_one_line_error(
        "biolatency",
        &["--attach", "fentry"],
        2,
        "no fentry hook path",
    );
}
