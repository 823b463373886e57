//! fsslower on this kernel (syscall tracepoints filtered by filesystem):
//! a real ext4 and a real xfs on loop devices, exact operations asserted.

mod common;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::loopfs::{LoopFs, ScratchDir};
use serde_json::Value;

/// A unique name per test and process, so parallel tests never mix.
fn unique(tag: &str) -> String {
    format!("fss-{tag}-{}", std::process::id())
}

/// The fixed workload: create, 3 writes of 5000 bytes, fsync, close; open,
/// one pread of 5000 bytes at 5000, close. All from the calling thread.
fn workload(path: &Path) {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .expect("create");
    let buf = vec![b'x'; 5000];
    for _ in 0..3 {
        assert_eq!(f.write(&buf).expect("write"), 5000);
    }
    f.sync_all().expect("fsync");
    drop(f);
    let f = File::open(path).expect("open");
    let mut rbuf = vec![0u8; 5000];
    assert_eq!(f.read_at(&mut rbuf, 5000).expect("pread"), 5000);
}

fn ops_for<'a>(events: &'a [Value], file: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["file"] == file).collect()
}

fn count(evs: &[&Value], op: &str) -> usize {
    evs.iter().filter(|e| e["op"] == op).count()
}

#[test]
fn every_op_on_ext4_and_none_on_xfs() {
    let ext4 = LoopFs::new("ext4", 64);
    let xfs = LoopFs::new("xfs", 320);
    let me = common::gettid().to_string();
    let t = common::start(
        "fsslower",
        &["-t", "ext4", "-m", "0", "--json", "--tid", &me, "--verbose"],
    );
    let name = unique("all");
    workload(&ext4.path(&name));
    let xname = unique("xfs");
    workload(&xfs.path(&xname));
    // A FIFO that lives on ext4: its I/O is the pipe's, not ext4's.
    let fifo = ext4.path("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut p = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .expect("fifo");
    p.write_all(b"0123456789").unwrap();
    let mut back = [0u8; 10];
    std::io::Read::read_exact(&mut p, &mut back).unwrap();
    let done = t.stop();
    assert!(done.status.success(), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("using tracepoint: syscall tracepoints"),
        "--verbose should say which hooks: {}",
        done.stderr
    );
    let events = done.json();
    let mine = ops_for(&events, &name);
    // Exactly the workload: 2 opens, 3 writes, 1 fsync, 1 read.
    assert_eq!(mine.len(), 7, "{mine:#?}");
    assert_eq!(count(&mine, "open"), 2);
    assert_eq!(count(&mine, "write"), 3);
    assert_eq!(count(&mine, "fsync"), 1);
    assert_eq!(count(&mine, "read"), 1);
    let writes: Vec<_> = mine.iter().filter(|e| e["op"] == "write").collect();
    for (i, w) in writes.iter().enumerate() {
        assert_eq!(w["bytes"], 5000);
        assert_eq!(w["offset"], 5000 * i as u64, "{w}");
        assert_eq!(w["type"], "W");
    }
    let read = mine.iter().find(|e| e["op"] == "read").unwrap();
    assert_eq!(read["bytes"], 5000);
    assert_eq!(read["offset"], 5000);
    for e in &mine {
        assert_eq!(e["pid"], std::process::id());
        assert_eq!(e["tid"], common::gettid());
        assert_eq!(e["fs"], "ext4");
        assert!(e["latency_us"].as_f64().unwrap() >= 0.0);
    }
    // The xfs file's operations are not ext4's.
    assert!(
        ops_for(&events, &xname).is_empty(),
        "xfs ops leaked into ext4: {events:#?}"
    );
    common::assert_no_bpf_left(&done);
}

#[test]
fn xfs_sees_its_own_ops_only() {
    let ext4 = LoopFs::new("ext4", 64);
    let xfs = LoopFs::new("xfs", 320);
    let me = common::gettid().to_string();
    let t = common::start("fsslower", &["-t", "xfs", "0", "--json", "--tid", &me]);
    let name = unique("x-only");
    workload(&xfs.path(&name));
    let ename = unique("e-not");
    workload(&ext4.path(&ename));
    let done = t.stop();
    let events = done.json();
    let mine = ops_for(&events, &name);
    assert_eq!(mine.len(), 7, "{mine:#?}");
    assert!(mine.iter().all(|e| e["fs"] == "xfs"));
    assert!(ops_for(&events, &ename).is_empty());
}

/// The alias name picks ext4; bcc's positional threshold; table and CSV.
#[test]
fn ext4slower_alias_table_and_csv() {
    let ext4 = LoopFs::new("ext4", 64);
    let dir = ScratchDir::new("fsslower");
    let alias = dir.path("ext4slower");
    std::os::unix::fs::symlink(common::bin("fsslower"), &alias).expect("symlink");
    let me = common::gettid().to_string();
    let name = unique("tab");

    let t = common::start_cmd(Command::new(&alias).args(["--tid", &me, "0"]));
    workload(&ext4.path(&name));
    let done = t.stop();
    assert_eq!(done.stdout[0], "Tracing ext4 operations");
    assert!(done.stdout[1]
        .starts_with("TIME     COMM             PID     T BYTES   OFF_KB   LAT(ms) FILENAME"));
    let rows: Vec<Vec<&str>> = done
        .stdout
        .iter()
        .filter(|l| l.ends_with(&format!(" {name}")))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 7, "{:#?}", done.stdout);
    // TIME COMM PID T BYTES OFF_KB LAT FILENAME (COMM is the test thread's).
    let pid = std::process::id().to_string();
    let w: Vec<_> = rows.iter().filter(|r| r[r.len() - 5] == "W").collect();
    assert_eq!(w.len(), 3);
    let offs: Vec<&str> = w.iter().map(|r| r[r.len() - 3]).collect();
    assert_eq!(offs, ["0", "4", "9"], "OFF_KB is the start offset in KiB");
    for r in &w {
        assert_eq!(r[r.len() - 4], "5000");
        assert_eq!(r[r.len() - 6], pid);
    }
    assert_eq!(rows.iter().filter(|r| r[r.len() - 5] == "O").count(), 2);
    assert_eq!(rows.iter().filter(|r| r[r.len() - 5] == "S").count(), 1);
    assert_eq!(rows.iter().filter(|r| r[r.len() - 5] == "R").count(), 1);

    // -j (bcc) and -c (libbpf-tools) are both CSV.
    for flag in ["-j", "-c"] {
        let name = unique(&format!("csv{flag}"));
        let t = common::start_cmd(Command::new(&alias).args([flag, "--tid", &me, "0"]));
        workload(&ext4.path(&name));
        let done = t.stop();
        assert_eq!(
            done.stdout[0],
            "ENDTIME_us,TASK,PID,TYPE,BYTES,OFFSET_b,LATENCY_us,FILE"
        );
        let w: Vec<Vec<&str>> = done
            .stdout
            .iter()
            .filter(|l| l.ends_with(&format!(",{name}")) && l.contains(",W,"))
            .map(|l| l.split(',').collect())
            .collect();
        assert_eq!(w.len(), 3, "{:#?}", done.stdout);
        assert_eq!(
            (w[2][2], w[2][3], w[2][4], w[2][5]),
            (pid.as_str(), "W", "5000", "10000")
        );
    }
}

/// The threshold keeps only slow operations: a write held up by a frozen
/// filesystem is reported, the fast ones are not.
#[test]
fn threshold_keeps_the_slow_write_only() {
    let ext4 = LoopFs::new("ext4", 64);
    let me = common::gettid().to_string();
    let name = unique("slow");
    let path = ext4.path(&name);
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .expect("create");
    let t = common::start(
        "fsslower",
        &["-t", "ext4", "-m", "150", "--json", "--tid", &me],
    );
    f.write_all(&[b'a'; 100]).expect("fast write");
    let mnt = ext4.mnt.clone();
    let status = Command::new("fsfreeze")
        .arg("-f")
        .arg(&mnt)
        .status()
        .expect("fsfreeze");
    assert!(status.success());
    // Thaw from another thread after 400 ms; the write below waits for it.
    let thaw = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        Command::new("fsfreeze").arg("-u").arg(&mnt).status()
    });
    let started = Instant::now();
    f.write_all(&[b'b'; 200]).expect("slow write");
    let took = started.elapsed();
    assert!(thaw.join().unwrap().expect("fsfreeze -u").success());
    f.write_all(&[b'c'; 300]).expect("fast write");
    let done = t.stop();
    let events = done.json();
    let mine = ops_for(&events, &name);
    assert!(
        took >= Duration::from_millis(300),
        "the write was not held up ({took:?})"
    );
    assert_eq!(mine.len(), 1, "{events:#?}");
    assert_eq!(mine[0]["op"], "write");
    assert_eq!(mine[0]["bytes"], 200);
    assert_eq!(mine[0]["offset"], 100);
    assert!(
        mine[0]["latency_us"].as_f64().unwrap() >= 150_000.0,
        "{}",
        mine[0]
    );
}

/// The tool's own writes are never traced: with its output on the traced
/// filesystem and no threshold, they would feed back forever.
#[test]
fn own_output_on_the_filesystem_is_not_traced() {
    let ext4 = LoopFs::new("ext4", 64);
    let out_path = ext4.path("self-out.json");
    let mut child = Command::new(common::bin("fsslower"))
        .args(["-t", "ext4", "0", "--json"])
        .env("IRONSCOPE_READY", "1")
        .stdout(File::create(&out_path).unwrap())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert_eq!(line, "fsslower: ready\n");
    let name = unique("self");
    // Several polls' worth: each flush of the output is an ext4 write.
    for _ in 0..5 {
        workload(&ext4.path(&name));
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&out_path).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(ops_for(&events, &name).len(), 35, "the workload, 5 times");
    assert!(
        ops_for(&events, "self-out.json").is_empty(),
        "the tool traced its own output"
    );
}

#[test]
fn bad_input_is_one_line() {
    common::assert_one_line_error("fsslower", &[], 2, "which filesystem");
    common::assert_one_line_error("fsslower", &["-t", "zfs"], 2, "unknown filesystem 'zfs'");
    common::assert_one_line_error("fsslower", &["-t", "ext4", "-m", "abc"], 2, "not a number");
    common::assert_one_line_error(
        "fsslower",
        &["-t", "ext4", "-m", "1", "2"],
        2,
        "two thresholds",
    );
    common::assert_one_line_error(
        "fsslower",
        &["-t", "ext4", "-p", "999999999"],
        2,
        "no process",
    );
    common::assert_one_line_error("fsslower", &["-t", "ext4", "-c", "--json"], 2, "exclude");
    common::assert_one_line_error(
        "fsslower",
        &["-t", "ext4", "--attach", "kprobe"],
        1,
        "no kprobes",
    );
}
