//! fsdist on this kernel: exact operation counts per filesystem, on a real
//! ext4 and a real xfs (loop devices).

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use common::loopfs::{LoopFs, ScratchDir};
use serde_json::Value;

/// One open, `writes` writes of 4 KiB, `syncs` fsyncs, `reads` preads.
fn workload(path: &Path, writes: usize, syncs: usize, reads: usize) {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)
        .expect("create");
    for _ in 0..writes {
        f.write_all(&[b'd'; 4096]).expect("write");
    }
    for _ in 0..syncs {
        f.sync_data().expect("fdatasync");
    }
    let mut buf = [0u8; 4096];
    for _ in 0..reads {
        assert_eq!(f.read_at(&mut buf, 0).expect("pread"), 4096);
    }
}

/// operation -> (count, unit) from one summary's JSON lines.
fn counts(lines: &[Value]) -> std::collections::BTreeMap<String, (u64, String)> {
    lines
        .iter()
        .map(|v| {
            let sum: u64 = v["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["count"].as_u64().unwrap())
                .sum();
            assert_eq!(
                v["count"].as_u64().unwrap(),
                sum,
                "count is the buckets' sum: {v}"
            );
            (
                v["operation"].as_str().unwrap().to_string(),
                (sum, v["unit"].as_str().unwrap().to_string()),
            )
        })
        .collect()
}

#[test]
fn exact_counts_per_filesystem() {
    let ext4 = LoopFs::new("ext4", 64);
    let xfs = LoopFs::new("xfs", 320);
    let me = common::gettid().to_string();
    // Both at once, on the same thread's operations: each sees its own fs.
    let e = common::start("fsdist", &["-t", "ext4", "--json", "--tid", &me]);
    let x = common::start("fsdist", &["-t", "xfs", "--json", "-m", "--tid", &me]);
    workload(&ext4.path("dist-e"), 5, 7, 3);
    workload(&xfs.path("dist-x"), 2, 4, 0);
    let (e, x) = (e.stop(), x.stop());
    assert!(
        e.status.success() && x.status.success(),
        "{} {}",
        e.stderr,
        x.stderr
    );
    let ec = counts(&e.json());
    let xc = counts(&x.json());
    let want = |n: u64, unit: &str| (n, unit.to_string());
    assert_eq!(ec.get("open"), Some(&want(1, "usecs")), "{ec:?}");
    assert_eq!(ec.get("write"), Some(&want(5, "usecs")), "{ec:?}");
    assert_eq!(ec.get("fsync"), Some(&want(7, "usecs")), "{ec:?}");
    assert_eq!(ec.get("read"), Some(&want(3, "usecs")), "{ec:?}");
    assert_eq!(xc.get("open"), Some(&want(1, "msecs")), "{xc:?}");
    assert_eq!(xc.get("write"), Some(&want(2, "msecs")), "{xc:?}");
    assert_eq!(xc.get("fsync"), Some(&want(4, "msecs")), "{xc:?}");
    assert_eq!(xc.get("read"), None, "{xc:?}");
    assert!(e.json().iter().all(|v| v["fs"] == "ext4"));
    common::assert_no_bpf_left(&e);
}

/// The alias picks the filesystem; the table shows one histogram per
/// operation with bcc's heading; intervals print one summary each.
#[test]
fn ext4dist_alias_table_and_intervals() {
    let ext4 = LoopFs::new("ext4", 64);
    let dir = ScratchDir::new("fsdist");
    let alias = dir.path("ext4dist");
    std::os::unix::fs::symlink(common::bin("fsdist"), &alias).unwrap();
    let me = common::gettid().to_string();

    let t = common::start_cmd(Command::new(&alias).args(["--tid", &me, "-T"]));
    workload(&ext4.path("tab"), 0, 6, 0);
    let done = t.stop();
    let out = &done.stdout;
    assert_eq!(
        out[0],
        "Tracing ext4 operation latency... Hit Ctrl-C to end."
    );
    let at = out
        .iter()
        .position(|l| l == "operation = 'fsync'")
        .expect("fsync histogram");
    assert!(out[at + 1].contains("usecs") && out[at + 1].contains(": count     distribution"));
    let total: u64 = out[at + 2..]
        .iter()
        .take_while(|l| l.contains(" -> "))
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
    assert_eq!(total, 6, "{out:#?}");
    assert!(out.iter().any(|l| l == "operation = 'open'"));
    assert!(!out.iter().any(|l| l == "operation = 'read'"));
    // -T: a HH:MM:SS: line before the summary.
    assert!(out
        .iter()
        .any(|l| l.len() == 9 && l.ends_with(':') && l.as_bytes()[2] == b':'));

    // interval 0.5 s, count 2: two summaries, then a clean exit by itself.
    let t = common::start("fsdist", &["-t", "ext4", "-T", "--tid", &me, "0.5", "2"]);
    workload(&ext4.path("intervals"), 0, 3, 0);
    let done = t.wait(std::time::Duration::from_secs(10));
    assert!(done.status.success(), "{}", done.stderr);
    let times = done
        .stdout
        .iter()
        .filter(|l| l.len() == 9 && l.ends_with(':'))
        .count();
    assert_eq!(times, 2, "{:#?}", done.stdout);
    assert_eq!(done.stdout[0], "Tracing ext4 operation latency...");
}

#[test]
fn bad_input_is_one_line() {
    common::assert_one_line_error("fsdist", &[], 2, "which filesystem");
    common::assert_one_line_error("fsdist", &["-t", "ntfs"], 2, "unknown filesystem");
    common::assert_one_line_error("fsdist", &["-t", "ext4", "0"], 2, "positive");
    common::assert_one_line_error(
        "fsdist",
        &["-t", "ext4", "1", "0"],
        2,
        "not a positive count",
    );
    let (st, _, err) = common::run_to_end("ironscope", &["xfsdist", "-t", "ext4"]);
    assert_eq!(st.code(), Some(2));
    assert_eq!(
        err,
        "xfsdist: xfsdist traces xfs; for ext4 use fsdist -t ext4\n"
    );
}
