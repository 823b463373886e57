//! bashreadline on this host: a real interactive bash on a pseudo-terminal
//! is typed a unique command; the tool must report it with bash's pid.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;

/// An interactive bash whose terminal is a pty we hold the master side of.
struct PtyBash {
    child: Child,
    master: File,
}

impl PtyBash {
    fn start() -> PtyBash {
        let (mut m, mut s) = (-1, -1);
        // SAFETY: openpty fills two fds; no name, termios or winsize.
        let rc = unsafe {
            libc::openpty(
                &mut m,
                &mut s,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: fresh fds we own.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        let mut cmd = Command::new("/bin/bash");
        cmd.args(["--norc", "--noprofile", "-i"])
            .env_clear()
            .env("TERM", "dumb")
            .env("HISTFILE", "/dev/null")
            .env("PS1", "$ ")
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec: a new
        // session whose controlling terminal is the pty (stdin).
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn bash");
        drop(cmd);
        let master = File::from(master);
        // Drain what bash writes so it never blocks on a full terminal.
        let mut reader = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
        });
        PtyBash { child, master }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    fn exit(mut self) {
        self.type_line("exit");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn marker(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("ironscope-{tag}-{}-{nanos}-marker", std::process::id())
}

#[test]
fn typed_command_in_table_with_bash_pid() {
    let t = start("bashreadline", &[]);
    let mut bash = PtyBash::start();
    let m = marker("table");
    bash.type_line(&format!("echo {m}"));
    let line = t.wait_for(Duration::from_secs(10), |l| l.contains(&m));
    let pid = bash.pid();
    bash.exit();
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let line = line.unwrap_or_else(|| panic!("no line with {m}: {:?} {}", f.stdout, f.stderr));
    assert_eq!(f.stdout[0], "TIME      PID    COMMAND");
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols.len(), 4, "{line}");
    assert_eq!(cols[0].len(), 8, "HH:MM:SS in {line}");
    assert_eq!(cols[1], pid.to_string(), "{line}");
    assert_eq!(cols[2..], ["echo", m.as_str()], "{line}");
    assert_no_bpf_left(&f);
}

#[test]
fn json_and_pid_filter() {
    let mut bash = PtyBash::start();
    let mut other = PtyBash::start();
    let t = start("bashreadline", &["--json", "-p", &bash.pid().to_string()]);
    let (mine, theirs) = (marker("mine"), marker("theirs"));
    // Both shells were already inside readline() when the probe went in: a
    // uretprobe sees calls that begin after it, so finish those first.
    bash.type_line("true");
    other.type_line("true");
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains("\"command\":\"true\"")
    });
    other.type_line(&format!("echo {theirs}"));
    bash.type_line(&format!("echo {mine}"));
    let got = t.wait_for(Duration::from_secs(10), |l| l.contains(&mine));
    // The other shell's line went through readline before ours was read.
    std::thread::sleep(Duration::from_millis(300));
    let (pid, other_pid) = (bash.pid(), other.pid());
    bash.exit();
    other.exit();
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert!(got.is_some(), "no line with {mine}: {:?}", f.stdout);
    let rows = f.json();
    let ev = rows
        .iter()
        .find(|v| v["command"] == format!("echo {mine}"))
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(ev["pid"], pid);
    assert_eq!(ev["comm"], "bash");
    assert_eq!(ev["uid"], 0);
    assert_eq!(ev["truncated"], false);
    assert_eq!(ev["time"].as_str().map(str::len), Some(8));
    assert!(
        !rows
            .iter()
            .any(|v| v["pid"] == other_pid
                || v["command"].as_str().is_some_and(|c| c.contains(&theirs))),
        "-p let another bash through: {rows:?}"
    );
}

#[test]
fn shared_library_mode_needs_readline() {
    // A library without readline, and a path that does not exist.
    assert_one_line_error(
        "bashreadline",
        &["-s", "/bin/true"],
        2,
        "has no readline function",
    );
    assert_one_line_error(
        "bashreadline",
        &["-s", "/no/such/libreadline.so"],
        2,
        "no such file",
    );
    assert_one_line_error("bashreadline", &["-p", "0"], 2, "not a valid process id");
}
