//! syscount on this kernel: this test process makes a known number of rare
//! syscalls (getppid, and getpgid on a pid that cannot exist, which fails
//! with ESRCH) and the counts must be exact.

mod common;

use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use common::*;

/// Tests share this process's pid, so one runs at a time: a tool counting
/// our pid must not see another test's workload.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn getppid_n(n: usize) {
    for _ in 0..n {
        // SAFETY: getppid has no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
}

/// getpgid(pid) for a pid above the kernel's limit: ESRCH every time.
fn failing_getpgid_n(n: usize) {
    for _ in 0..n {
        // SAFETY: a plain syscall with an integer argument.
        let r = unsafe { libc::syscall(libc::SYS_getpgid, 0x3fff_fff0) };
        assert_eq!(r, -1);
    }
}

fn me() -> String {
    std::process::id().to_string()
}

/// The `count` of `syscall` in one interval's JSON object (0 if absent).
fn count_of(obj: &serde_json::Value, syscall: &str) -> u64 {
    obj["syscalls"]
        .as_array()
        .expect("a syscalls array")
        .iter()
        .find(|r| r["syscall"] == syscall)
        .map_or(0, |r| r["count"].as_u64().unwrap())
}

/// The single summary syscount prints at exit (no -i).
fn summary(f: &Finished) -> serde_json::Value {
    assert!(f.status.success(), "{}", f.stderr);
    let objs = f.json();
    assert_eq!(objs.len(), 1, "{:?}", f.stdout);
    objs[0].clone()
}

#[test]
fn exact_count_for_a_pid_in_json_and_table() {
    let _g = serial();
    let t = start("syscount", &["-p", &me(), "--json", "-T", "100"]);
    getppid_n(1234);
    let s = summary(&t.stop());
    assert_eq!(count_of(&s, "getppid"), 1234, "{s}");
    let row = s["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["syscall"] == "getppid")
        .unwrap();
    assert_eq!(row["nr"], 110);
    assert!(s["time"].as_str().is_some_and(|t| t.len() == 8));

    let t = start("syscount", &["-p", &me(), "-T", "100"]);
    getppid_n(321);
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0],
        "Tracing syscalls, printing top 100... Ctrl+C to quit."
    );
    assert!(
        f.stdout[1].starts_with('[') && f.stdout[1].ends_with(']'),
        "{:?}",
        f.stdout
    );
    assert_eq!(f.stdout[2], "SYSCALL                   COUNT");
    let row = f
        .stdout
        .iter()
        .find(|l| l.starts_with("getppid "))
        .expect("a getppid row");
    assert_eq!(row.split_whitespace().nth(1), Some("321"), "{row}");
    assert_no_bpf_left(&f);
}

#[test]
fn pid_filter_excludes_other_processes() {
    let _g = serial();
    // A child that will make getppid calls: only ours may be counted.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("read x; i=0; while [ $i -lt 50 ]; do i=$((i+1)); done; exec /bin/cat /proc/self/stat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let t = start(
        "syscount",
        &["-p", &child.id().to_string(), "--json", "-T", "100"],
    );
    getppid_n(500);
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    }
    child.wait().unwrap();
    let s = summary(&t.stop());
    assert_eq!(
        count_of(&s, "getppid"),
        0,
        "another pid's getppid was counted: {s}"
    );
    // The child itself was counted: its one exec (sh into cat).
    assert_eq!(count_of(&s, "execve"), 1, "{s}");
}

#[test]
fn per_process_counts() {
    let _g = serial();
    let comm = std::fs::read_to_string(format!("/proc/self/task/{}/comm", unsafe {
        libc::gettid()
    }))
    .unwrap()
    .trim()
    .to_string();
    let t = start(
        "syscount",
        &["-P", "--syscall", "getppid", "--json", "-T", "1000"],
    );
    getppid_n(777);
    let s = summary(&t.stop());
    let procs = s["processes"].as_array().expect("a processes array");
    let mine: Vec<_> = procs
        .iter()
        .filter(|p| p["pid"] == std::process::id())
        .collect();
    assert_eq!(mine.len(), 1, "{s}");
    assert_eq!(mine[0]["count"], 777);
    assert_eq!(mine[0]["comm"], comm.as_str());

    let t = start("syscount", &["-P", "-p", &me(), "--syscall", "getppid"]);
    getppid_n(55);
    let f = t.stop();
    assert_eq!(f.stdout[2], "PID    COMM               COUNT");
    let row = f
        .stdout
        .iter()
        .find(|l| l.starts_with(&format!("{} ", me())))
        .expect("our row");
    assert_eq!(row.split_whitespace().last(), Some("55"), "{row}");
    assert_eq!(f.stdout.len(), 4, "only our process: {:?}", f.stdout);
}

#[test]
fn failures_and_errno_filters() {
    let _g = serial();
    let x = start("syscount", &["-p", &me(), "-x", "--json", "-T", "100"]);
    let e = start("syscount", &["-p", &me(), "-e", "ESRCH", "--json"]);
    let n = start("syscount", &["-p", &me(), "-e", "2", "--json", "-T", "100"]);
    getppid_n(100);
    failing_getpgid_n(42);
    let (x, e, n) = (summary(&x.stop()), summary(&e.stop()), summary(&n.stop()));
    assert_eq!(count_of(&x, "getpgid"), 42, "{x}");
    assert_eq!(
        count_of(&x, "getppid"),
        0,
        "-x counted successful calls: {x}"
    );
    assert_eq!(count_of(&e, "getpgid"), 42, "{e}");
    assert_eq!(count_of(&e, "getppid"), 0);
    assert_eq!(
        count_of(&n, "getpgid"),
        0,
        "-e ENOENT counted ESRCH failures: {n}"
    );
}

#[test]
fn latency_columns() {
    let _g = serial();
    let t = start(
        "syscount",
        &["-p", &me(), "-L", "--syscall", "getppid", "--json"],
    );
    getppid_n(400);
    let s = summary(&t.stop());
    let row = &s["syscalls"][0];
    assert_eq!(row["syscall"], "getppid");
    assert_eq!(row["count"], 400);
    let ns = row["total_ns"].as_u64().unwrap();
    // Each call takes some time, and 400 getppid calls far less than a second.
    assert!((400..1_000_000_000).contains(&ns), "{s}");

    let t = start(
        "syscount",
        &["-p", &me(), "-L", "-m", "--syscall", "getppid"],
    );
    getppid_n(10);
    let f = t.stop();
    assert_eq!(
        f.stdout[2],
        "SYSCALL                   COUNT        TIME (ms)"
    );
    let row = f
        .stdout
        .iter()
        .find(|l| l.starts_with("getppid "))
        .expect("row");
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], "10");
    let ms: f64 = cols[2].parse().unwrap();
    assert!(ms > 0.0 && ms < 1000.0, "{row}");
}

#[test]
fn intervals_reset_the_counts() {
    let _g = serial();
    let t = start(
        "syscount",
        &["-p", &me(), "-i", "0.5", "--json", "--syscall", "getppid"],
    );
    getppid_n(300);
    let first = t.wait_for(Duration::from_secs(5), |l| l.contains("\"count\":300"));
    assert!(
        first.is_some(),
        "no interval with the first 300 calls: {:?}",
        t.lines()
    );
    getppid_n(200);
    let second = t.wait_for(Duration::from_secs(5), |l| l.contains("\"count\":200"));
    assert!(
        second.is_some(),
        "no interval with the next 200 calls: {:?}",
        t.lines()
    );
    let f = t.stop();
    let total: u64 = f.json().iter().map(|o| count_of(o, "getppid")).sum();
    assert_eq!(total, 500, "{:?}", f.stdout);
    assert!(f.json().len() >= 2);
}

#[test]
fn cgroup_filter() {
    let _g = serial();
    let cg = TestCgroup::new("syscount");
    let path = cg.0.to_str().unwrap().to_string();
    let t = start("syscount", &["-c", &path, "-P", "--json"]);
    getppid_n(10);
    let mut child = cg
        .command("cat", &["/proc/self/stat"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let s = summary(&t.stop());
    let procs = s["processes"].as_array().unwrap();
    assert!(
        procs.iter().any(|p| p["pid"] == pid && p["comm"] == "cat"),
        "{s}"
    );
    assert!(
        procs.iter().all(|p| p["pid"] == pid),
        "a process outside the cgroup: {s}"
    );
}

#[test]
fn duration_ends_it() {
    let _g = serial();
    let t = start(
        "syscount",
        &["-p", &me(), "-d", "1", "--json", "--syscall", "getppid"],
    );
    getppid_n(5);
    let f = t.wait(Duration::from_secs(10));
    assert_eq!(count_of(&summary(&f), "getppid"), 5);
}

#[test]
fn list_names() {
    let (st, out, err) = run_to_end("syscount", &["-l"]);
    assert!(st.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"  0 read"));
    assert!(lines.contains(&"257 openat"));
    assert!(lines.contains(&"110 getppid"));
    assert!(lines.len() > 300);
}

#[test]
fn bad_input() {
    assert_one_line_error("syscount", &["-e", "EBOGUS"], 2, "not an errno name");
    assert_one_line_error(
        "syscount",
        &["--syscall", "nosuchcall"],
        2,
        "no syscall named",
    );
    assert_one_line_error("syscount", &["-m"], 2, "use it with -L");
    assert_one_line_error("syscount", &["-i", "0"], 2, "positive");
    assert_one_line_error("syscount", &["-p", "0"], 2, "not a valid process id");
    assert_one_line_error(
        "syscount",
        &["--syscall", "5000"],
        2,
        "syscall numbers go up to",
    );
    assert_one_line_error(
        "syscount",
        &["--attach", "fentry"],
        2,
        "no fentry hook path",
    );
}
