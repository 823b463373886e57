//! execsnoop on this kernel: real execs with known pids and arguments.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(5);

/// Run a command to completion; its pid.
fn run(cmd: &mut Command) -> u32 {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn workload");
    let pid = child.id();
    child.wait().expect("wait workload");
    pid
}

fn event_for(f: &Finished, pid: u32) -> Value {
    f.json()
        .into_iter()
        .find(|v| v["pid"] == pid)
        .unwrap_or_else(|| {
            panic!(
                "no event for pid {pid}: {:?}\nstderr: {}",
                f.stdout, f.stderr
            )
        })
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

#[test]
fn awkward_args_table_and_json() {
    let t = start("execsnoop", &["--json"]);
    let pid = run(Command::new("/bin/echo")
        .arg("two words")
        .arg("say \"hi\"")
        .arg(OsStr::from_bytes(b"\xff\xfebad"))
        .arg("esc\x1b[31mape"));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let e = event_for(&f, pid);
    assert_eq!(e["ppid"], std::process::id());
    assert_eq!(e["ret"], 0);
    assert_eq!(e["comm"], "echo");
    assert_eq!(
        strs(&e["args"]),
        [
            "/bin/echo",
            "two words",
            "say \"hi\"",
            "\\xff\\xfebad",
            "esc\x1b[31mape"
        ]
    );
    assert_eq!(e["args_truncated"], false);
    assert_no_bpf_left(&f);

    // The same exec as a table row, escaped and (with -q) quoted.
    let t = start("execsnoop", &["-q"]);
    let pid = run(Command::new("/bin/echo").arg("two words").arg("esc\x1bx"));
    let row = t
        .wait_for(WAIT, |l| {
            l.split_whitespace().nth(1) == Some(pid.to_string().as_str())
        })
        .expect("row for the exec");
    let f = t.stop();
    assert_eq!(
        f.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["PCOMM", "PID", "PPID", "RET", "ARGS"]
    );
    let want = format!(
        "{:<16} {:<7} {:<7} {:>3} \"/bin/echo\" \"two words\" \"esc\\x1bx\"",
        "echo",
        pid,
        std::process::id(),
        0
    );
    assert_eq!(row, want);
    assert!(!row.contains('\x1b'));
}

#[test]
fn truncates_at_max_args() {
    let t = start("execsnoop", &["--json"]);
    let args: Vec<String> = (1..=25).map(|i| format!("arg{i}")).collect();
    let pid = run(Command::new("/bin/true").args(&args));
    let t2 = start("execsnoop", &["--max-args", "3"]);
    let pid2 = run(Command::new("/bin/true").args(&args));
    let row = t2
        .wait_for(WAIT, |l| l.contains(&format!(" {pid2} ")))
        .expect("row");
    t2.stop();
    let f = t.stop();
    let e = event_for(&f, pid);
    let got = strs(&e["args"]);
    assert_eq!(got.len(), 20, "{got:?}");
    assert_eq!(got[0], "/bin/true");
    assert_eq!(got[19], "arg19");
    assert_eq!(e["args_truncated"], true);
    assert!(row.ends_with("/bin/true arg1 arg2 ..."), "{row}");
}

/// A child that execs straight after fork, with arguments that live in the
/// parent's read-only data: pages the child has not touched yet.
#[test]
fn fork_then_exec_string_literals() {
    let t = start("execsnoop", &["--json"]);
    // SAFETY: the child only calls async-signal-safe execv/_exit.
    let pid = unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let argv = [
                c"/bin/true".as_ptr(),
                c"literal-one".as_ptr(),
                c"literal two".as_ptr(),
                std::ptr::null(),
            ];
            libc::execv(argv[0], argv.as_ptr());
            libc::_exit(127);
        }
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
        pid as u32
    };
    let f = t.stop();
    let e = event_for(&f, pid);
    assert_eq!(
        strs(&e["args"]),
        ["/bin/true", "literal-one", "literal two"]
    );
    assert_eq!(e["ppid"], std::process::id());
}

/// A failed exec, from a child whose argv is on its heap (as a shell's is).
fn fail_exec(missing: &str, extra: &str) -> u32 {
    let path = std::ffi::CString::new(missing).unwrap();
    let arg = std::ffi::CString::new(extra).unwrap();
    // SAFETY: the child only calls async-signal-safe execv/_exit.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let argv = [path.as_ptr(), arg.as_ptr(), std::ptr::null()];
            libc::execv(path.as_ptr(), argv.as_ptr());
            libc::_exit(127);
        }
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
        pid as u32
    }
}

#[test]
fn failed_exec_and_fails_only() {
    let missing = format!("/nonexistent/ironscope-{}", std::process::id());
    let t = start("execsnoop", &["--json", "-x"]);
    let failed = fail_exec(&missing, "--flag");
    let ok = run(Command::new("/bin/true").arg("fine"));
    let f = t.stop();
    let events = f.json();
    let e = event_for(&f, failed);
    assert_eq!(e["ret"], -2);
    assert_eq!(e["ppid"], std::process::id());
    assert_eq!(strs(&e["args"]), [missing.as_str(), "--flag"]);
    assert_eq!(e["args_truncated"], false);
    assert!(
        events.iter().all(|v| v["pid"] != ok),
        "-x let a success through"
    );

    // The table shows the negative errno in RET.
    let t = start("execsnoop", &[]);
    let failed = fail_exec(&missing, "x");
    let row = t
        .wait_for(WAIT, |l| l.contains(&format!(" {failed} ")))
        .expect("row");
    t.stop();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[3..], ["-2", missing.as_str(), "x"]);
}

/// A failed exec's arguments come from the caller's memory; a string in a
/// page the child has not touched cannot be read, and the list says so.
#[test]
fn failed_exec_with_unpaged_literal_is_marked_incomplete() {
    let t = start("execsnoop", &["--json", "-x"]);
    // SAFETY: the child only calls async-signal-safe execv/_exit.
    let pid = unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let argv = [
                c"/nonexistent/ironscope-literal".as_ptr(),
                c"lit".as_ptr(),
                std::ptr::null(),
            ];
            libc::execv(argv[0], argv.as_ptr());
            libc::_exit(127);
        }
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
        pid as u32
    };
    let f = t.stop();
    let e = event_for(&f, pid);
    assert_eq!(e["ret"], -2);
    let args = strs(&e["args"]);
    if args != ["/nonexistent/ironscope-literal", "lit"] {
        assert_eq!(e["args_truncated"], true, "{e}");
    }
}

#[test]
fn uid_and_ppid_filters() {
    let t = start("execsnoop", &["--json", "-u", "65534"]);
    let as_nobody = run(Command::new("/bin/true")
        .arg("as-nobody")
        .uid(65534)
        .gid(65534));
    let as_root = run(Command::new("/bin/true").arg("as-root"));
    let f = t.stop();
    let e = event_for(&f, as_nobody);
    assert_eq!(e["uid"], 65534);
    assert!(
        f.json().iter().all(|v| v["pid"] != as_root),
        "root's exec leaked through -u"
    );

    // -P: only children of a given parent. sh is the parent of its echo.
    let sh = Command::new("/bin/sh")
        .arg("-c")
        .arg("sleep 0.5; /bin/echo child-of-sh; /bin/echo again")
        .stdout(Stdio::null())
        .spawn()
        .expect("sh");
    let ppid = sh.id().to_string();
    let t = start("execsnoop", &["--json", "-P", &ppid]);
    let other = run(Command::new("/bin/echo").arg("not-a-child"));
    let mut sh = sh;
    sh.wait().unwrap();
    let f = t.stop();
    let ev = f.json();
    assert!(ev.iter().all(|v| v["ppid"] == sh.id()), "{ev:?}");
    assert!(
        ev.iter()
            .any(|v| strs(&v["args"]) == ["/bin/echo", "child-of-sh"]),
        "{ev:?}"
    );
    assert!(ev.iter().all(|v| v["pid"] != other));
}

#[test]
fn cgroup_filter() {
    let cg = TestCgroup::new("execsnoop");
    let path = cg.0.to_str().unwrap().to_string();
    let t = start("execsnoop", &["--json", "--cgroup", &path]);
    let inside = run(&mut cg.command("/bin/echo", &["in-cgroup"]));
    let outside = run(Command::new("/bin/echo").arg("outside"));
    let f = t.stop();
    let e = event_for(&f, inside);
    // The sh wrapper joined the cgroup, then exec'd echo: same pid.
    assert_eq!(strs(&e["args"]), ["/bin/echo", "in-cgroup"]);
    assert!(f.json().iter().all(|v| v["pid"] != outside));
}

#[test]
fn name_and_line_filters() {
    let t = start("execsnoop", &["--json", "-n", "echo", "-l", "needle"]);
    let hit = run(Command::new("/bin/echo").arg("a-needle-here"));
    let miss_line = run(Command::new("/bin/echo").arg("haystack"));
    let miss_name = run(Command::new("/bin/true").arg("needle"));
    let f = t.stop();
    event_for(&f, hit);
    assert!(f
        .json()
        .iter()
        .all(|v| v["pid"] != miss_line && v["pid"] != miss_name));
}

#[test]
fn stops_cleanly() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let t = start("execsnoop", &[]);
        t.signal(sig);
        let f = t.wait(Duration::from_secs(5));
        assert!(
            f.status.success(),
            "signal {sig}: {:?} {}",
            f.status,
            f.stderr
        );
        assert_no_bpf_left(&f);
    }
    let t = start("execsnoop", &["--duration", "1"]);
    let f = t.wait(Duration::from_secs(5));
    assert!(f.status.success());
    assert_no_bpf_left(&f);
}

#[test]
fn closed_pipe_exits_quietly() {
    // `execsnoop | head -1`: the header is the one line; the next write fails.
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("{} | head -1", bin("execsnoop").display()))
        .env("IRONSCOPE_READY", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pipeline");
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..20 {
        run(&mut Command::new("/bin/true"));
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("pipeline");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "execsnoop: ready",
        "quiet exit expected, got: {stderr}"
    );
}

/// An idle tool whose reader went away ends at once, without waiting for an
/// event to write.
#[test]
fn closed_pipe_while_idle() {
    let started = std::time::Instant::now();
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("{} -u 65533 | head -1", bin("execsnoop").display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("pipeline");
    assert!(out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn bad_input() {
    assert_one_line_error("execsnoop", &["--uid", "abc"], 2, "--uid");
    assert_one_line_error("execsnoop", &["-u", "abc"], 2, "user");
    assert_one_line_error("execsnoop", &["--duration", "-1"], 2, "positive");
    assert_one_line_error("execsnoop", &["--duration", "abc"], 2, "duration");
    assert_one_line_error(
        "execsnoop",
        &["--cgroup", "/nonexistent"],
        2,
        "No such file",
    );
    assert_one_line_error("execsnoop", &["--cgroup", "/tmp"], 2, "not a cgroup v2");
    assert_one_line_error("execsnoop", &["-P", "999999999"], 2, "process");
    assert_one_line_error(
        "execsnoop",
        &["--attach", "fentry"],
        2,
        "no fentry hook path",
    );
    assert_one_line_error("execsnoop", &["--bogus"], 2, "--bogus");

    // Without privileges: one line saying what is needed.
    let out = Command::new(bin("execsnoop"))
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run unprivileged");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("execsnoop: needs CAP_BPF and CAP_PERFMON"),
        "{err}"
    );
}

#[test]
fn help_has_examples() {
    let (st, out, _) = run_to_end("execsnoop", &["--help"]);
    assert!(st.success());
    for want in [
        "Examples:",
        "execsnoop -x",
        "--max-args",
        "--json",
        "--cgroup",
        "-P, --ppid",
    ] {
        assert!(out.contains(want), "--help lacks {want}: {out}");
    }
}
