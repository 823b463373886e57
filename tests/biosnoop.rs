//! biosnoop on this kernel: direct I/O of known size on a loop device.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::loopdev::{dd_direct, LoopDev};
use common::*;
use serde_json::Value;

const WRITES: usize = 5;
const WSIZE: usize = 16384;
const READS: usize = 3;
const RSIZE: usize = 8192;
/// Reads start at this many RSIZE blocks into the disk.
const RSKIP: usize = 10;

/// dd's writes then reads on the loop device; the pids.
fn workload(dev: &LoopDev) -> (u32, u32) {
    let w = dd_direct(&dev.path, true, WSIZE, WRITES, 0);
    let r = dd_direct(&dev.path, false, RSIZE, READS, RSKIP);
    (w, r)
}

fn events_on<'a>(evs: &'a [Value], disk: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["disk"] == disk).collect()
}

#[test]
fn exact_requests_in_json() {
    let dev = LoopDev::new("biosnoop-json", 8, true);
    let t = start("biosnoop", &["--json", "-Q", "-d", &dev.name]);
    let (wpid, rpid) = workload(&dev);
    std::thread::sleep(Duration::from_millis(200));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let evs = f.json();
    // -d: nothing from other disks.
    assert_eq!(
        events_on(&evs, &dev.name).len(),
        evs.len(),
        "{:?}",
        f.stdout
    );

    let mut writes: Vec<&Value> = evs.iter().filter(|e| e["pid"] == wpid).collect();
    writes.sort_by_key(|e| e["sector"].as_u64());
    assert_eq!(writes.len(), WRITES, "{:?}", f.stdout);
    for (i, e) in writes.iter().enumerate() {
        assert_eq!(e["comm"], "dd");
        assert_eq!(e["op"], "write");
        assert!(e["rwbs"].as_str().unwrap().starts_with('W'), "{e}");
        assert_eq!(e["bytes"], WSIZE);
        assert_eq!(e["sector"], (i * WSIZE / 512) as u64);
        assert_eq!(e["error"], 0);
        assert!(e["lat_ms"].as_f64().unwrap() >= 0.0);
        assert!(e["que_ms"].as_f64().unwrap() >= 0.0);
    }
    let mut reads: Vec<&Value> = evs.iter().filter(|e| e["pid"] == rpid).collect();
    reads.sort_by_key(|e| e["sector"].as_u64());
    assert_eq!(reads.len(), READS, "{:?}", f.stdout);
    for (i, e) in reads.iter().enumerate() {
        assert_eq!(e["op"], "read");
        assert!(e["rwbs"].as_str().unwrap().starts_with('R'), "{e}");
        assert_eq!(e["bytes"], RSIZE);
        assert_eq!(e["sector"], ((RSKIP + i) * RSIZE / 512) as u64);
    }
    assert_no_bpf_left(&f);
}

#[test]
fn table_row() {
    let dev = LoopDev::new("biosnoop-table", 8, true);
    let t = start("biosnoop", &["-d", &dev.name]);
    let pid = dd_direct(&dev.path, true, WSIZE, 1, 4);
    let row = t.wait_for(Duration::from_secs(5), |l| {
        l.split_whitespace().nth(2) == Some(pid.to_string().as_str())
    });
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["TIME(s)", "COMM", "PID", "DISK", "T", "SECTOR", "BYTES", "LAT(ms)"]
    );
    let row = row.unwrap_or_else(|| panic!("no row for dd {pid}: {:?}", f.stdout));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols.len(), 8, "{row}");
    assert!(cols[0].parse::<f64>().is_ok(), "{row}");
    assert_eq!(cols[1], "dd");
    assert_eq!(cols[3], dev.name);
    assert!(cols[4].starts_with('W'), "{row}");
    assert_eq!(cols[5], (4 * WSIZE / 512).to_string());
    assert_eq!(cols[6], WSIZE.to_string());
    assert!(cols[7].parse::<f64>().is_ok(), "{row}");
}

/// -p is the issuer: a shell that execs dd once the tool is running keeps
/// its pid, so it can be named before it does any I/O.
#[test]
fn pid_filter_includes_and_excludes() {
    let dev = LoopDev::new("biosnoop-pid", 8, true);
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "read go; exec dd if=/dev/zero of={} bs={WSIZE} count=2 oflag=direct conv=notrunc status=none",
            dev.path
        ))
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let pid = child.id();
    let t = start(
        "biosnoop",
        &["--json", "-d", &dev.name, "-p", &pid.to_string()],
    );
    // Someone else's I/O on the same disk, before and after.
    let other = dd_direct(&dev.path, true, WSIZE, 1, 100);
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(child.wait().unwrap().success());
    let other2 = dd_direct(&dev.path, false, WSIZE, 1, 100);
    std::thread::sleep(Duration::from_millis(200));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let evs = f.json();
    assert_eq!(evs.len(), 2, "{:?}", f.stdout);
    assert!(evs
        .iter()
        .all(|e| e["pid"] == pid && e["comm"] == "dd" && e["bytes"] == WSIZE));
    assert!(!evs.iter().any(|e| e["pid"] == other || e["pid"] == other2));
}

#[test]
fn disk_filter_excludes_other_disks() {
    let a = LoopDev::new("biosnoop-a", 8, true);
    let b = LoopDev::new("biosnoop-b", 8, true);
    let t = start("biosnoop", &["--json", "-d", &a.name]);
    let pb = dd_direct(&b.path, true, WSIZE, 2, 0);
    let pa = dd_direct(&a.path, true, WSIZE, 1, 0);
    std::thread::sleep(Duration::from_millis(200));
    let f = t.stop();
    let evs = f.json();
    assert_eq!(
        evs.iter()
            .filter(|e| e["pid"] == pa && e["disk"] == a.name)
            .count(),
        1,
        "{:?}",
        f.stdout
    );
    assert!(
        !evs.iter().any(|e| e["pid"] == pb || e["disk"] == b.name),
        "{:?}",
        f.stdout
    );
}

/// This kernel has block_io_start (6.5+): the issuer is recorded there.
#[test]
fn verbose_names_the_hooks() {
    let t = start("biosnoop", &["--verbose"]);
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert!(
        f.stderr.contains(
            "biosnoop: using tracepoint: tp_btf block_io_start, block_rq_issue, block_rq_complete"
        ),
        "{}",
        f.stderr
    );
}

#[test]
fn bad_input() {
    assert_one_line_error(
        "biosnoop",
        &["-d", "no-such-disk"],
        2,
        "no disk or partition named",
    );
    assert_one_line_error("biosnoop", &["-m", "x"], 2, "not a latency");
    assert_one_line_error("biosnoop", &["0"], 2, "positive");
    assert_one_line_error("biosnoop", &["-p", "0"], 2, "not a valid process id");
    assert_one_line_error(
        "biosnoop",
        &["--attach", "kprobe"],
        2,
        "no kprobe hook path",
    );
}
