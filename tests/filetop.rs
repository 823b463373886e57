//! filetop on this kernel (syscall tracepoints, file from the fd): known
//! reads and writes on a uniquely named file, counted exactly.

mod common;

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use common::loopfs::ScratchDir;
use serde_json::Value;

/// A unique file name in `dir` (names are matched in the output).
fn scratch_file(dir: &ScratchDir, tag: &str) -> (PathBuf, String) {
    let name = format!("ftop-{tag}-{}", std::process::id());
    (dir.path(&name), name)
}

/// 3 writes of 5000 bytes, then 2 reads of 3000 bytes, from this thread.
fn workload(path: &PathBuf) {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)
        .expect("create");
    for _ in 0..3 {
        assert_eq!(f.write(&[b'w'; 5000]).unwrap(), 5000);
    }
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut buf = [0u8; 3000];
    for _ in 0..2 {
        assert_eq!(f.read(&mut buf).unwrap(), 3000);
    }
}

fn rows_for<'a>(v: &'a [Value], name: &str) -> Vec<&'a Value> {
    v.iter().filter(|r| r["file"] == name).collect()
}

#[test]
fn exact_reads_and_writes_json() {
    let dir = ScratchDir::new("filetop");
    let (path, name) = scratch_file(&dir, "json");
    let me = common::gettid().to_string();
    // A long interval: the one summary comes at Ctrl-C.
    let t = common::start("filetop", &["--json", "-C", "--tid", &me, "60"]);
    workload(&path);
    let done = t.stop();
    assert!(done.status.success(), "{}", done.stderr);
    let v = done.json();
    let mine = rows_for(&v, &name);
    assert_eq!(mine.len(), 1, "{v:#?}");
    let r = mine[0];
    assert_eq!(
        (&r["reads"], &r["writes"], &r["rbytes"], &r["wbytes"]),
        (
            &Value::from(2),
            &Value::from(3),
            &Value::from(6000),
            &Value::from(15000)
        )
    );
    assert_eq!(r["type"], "R");
    assert_eq!(r["tid"], common::gettid());
    assert_eq!(r["pid"], std::process::id());
    common::assert_no_bpf_left(&done);
}

#[test]
fn table_columns_and_pid_filter() {
    let dir = ScratchDir::new("filetop");
    let (path, name) = scratch_file(&dir, "table");
    let pid = std::process::id().to_string();
    let t = common::start("filetop", &["-C", "-p", &pid, "60"]);
    // Another pid's filter: nothing of ours may appear there.
    let other = common::start("filetop", &["-C", "--json", "-p", "1", "60"]);
    workload(&path);
    let done = t.stop();
    let other = other.stop();
    let rows: Vec<Vec<&str>> = done
        .stdout
        .iter()
        .filter(|l| l.ends_with(&format!(" {name}")))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 1, "{:#?}", done.stdout);
    let r = &rows[0];
    // TID COMM READS WRITES R_Kb W_Kb T FILE (COMM is the test thread's name).
    let n = r.len();
    assert_eq!(r[0], common::gettid().to_string());
    assert_eq!(&r[n - 6..], ["2", "3", "5", "14", "R", name.as_str()]);
    assert!(done
        .stdout
        .iter()
        .any(|l| l == "TID     COMM             READS  WRITES R_Kb    W_Kb    T FILE"));
    assert!(done.stdout.iter().any(|l| l.contains(" loadavg: ")));
    assert!(rows_for(&other.json(), &name).is_empty());
}

/// Sockets only with -a (type S); -r caps the rows; -s orders them.
#[test]
fn all_files_rows_and_sort() {
    let me = common::gettid().to_string();
    let reg = common::start(
        "filetop",
        &["--json", "-C", "-r", "1000", "--tid", &me, "60"],
    );
    let all = common::start(
        "filetop",
        &["--json", "-C", "-a", "-r", "1000", "--tid", &me, "60"],
    );
    let top1 = common::start(
        "filetop",
        &[
            "--json", "-C", "-r", "1", "-s", "wbytes", "--tid", &me, "60",
        ],
    );
    // read(2)/write(2) on a socket pair (std's UnixStream would use send/recv).
    let (a, b) = UnixStream::pair().unwrap();
    let mut got = [0u8; 777];
    // SAFETY: plain write/read on open fds with buffers of the given size.
    unsafe {
        assert_eq!(
            libc::write(a.as_raw_fd(), [1u8; 777].as_ptr().cast(), 777),
            777
        );
        assert_eq!(libc::read(b.as_raw_fd(), got.as_mut_ptr().cast(), 777), 777);
    }
    let dir = ScratchDir::new("filetop");
    let (p1, n1) = scratch_file(&dir, "small");
    let (p2, n2) = scratch_file(&dir, "big");
    std::fs::write(&p1, [0u8; 100]).unwrap();
    std::fs::write(&p2, [0u8; 9000]).unwrap();
    let (reg, all, top1) = (reg.stop().json(), all.stop().json(), top1.stop().json());

    let sock: Vec<_> = all.iter().filter(|r| r["type"] == "S").collect();
    assert!(
        sock.iter().any(|r| r["wbytes"] == 777 && r["writes"] == 1),
        "a socket write with -a: {all:#?}"
    );
    assert!(sock.iter().any(|r| r["rbytes"] == 777), "{all:#?}");
    assert!(reg.iter().all(|r| r["type"] == "R"), "{reg:#?}");
    assert_eq!(rows_for(&reg, &n1)[0]["wbytes"], 100);
    assert_eq!(rows_for(&reg, &n2)[0]["wbytes"], 9000);
    assert_eq!(top1.len(), 1, "{top1:#?}");
    assert_eq!(top1[0]["file"], n2.as_str());
}

#[test]
fn bad_input_is_one_line() {
    common::assert_one_line_error("filetop", &["-s", "size"], 2, "invalid value");
    common::assert_one_line_error("filetop", &["-r", "0"], 2, "invalid value");
    common::assert_one_line_error("filetop", &["0"], 2, "positive");
    common::assert_one_line_error("filetop", &["1", "x"], 2, "not a positive count");
    common::assert_one_line_error("filetop", &["--attach", "fentry"], 1, "fentry");
}
