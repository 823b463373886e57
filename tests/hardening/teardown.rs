//! Every way a tool can be stopped leaves no BPF program, link or map behind:
//! SIGINT, SIGTERM, SIGHUP, --duration, a closed pipe (exit 0, quiet) and
//! SIGKILL.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::common::{self, Finished};
use crate::suite::{self, ToolInfo};

#[derive(Debug, Clone, Copy)]
enum Stop {
    Signal(i32, &'static str),
    Duration,
    ClosedPipe,
}

const STOPS: &[Stop] = &[
    Stop::Signal(libc::SIGINT, "SIGINT"),
    Stop::Signal(libc::SIGTERM, "SIGTERM"),
    Stop::Signal(libc::SIGHUP, "SIGHUP"),
    Stop::Duration,
    Stop::ClosedPipe,
    Stop::Signal(libc::SIGKILL, "SIGKILL"),
];

const EXIT_WAIT: Duration = Duration::from_secs(15);

fn stop_by_signal(t: &ToolInfo, sig: i32) {
    let mut cmd = t.command();
    cmd.args(t.run_args());
    let traced = common::start_cmd(&mut cmd);
    traced.signal(sig);
    let f = traced.wait(EXIT_WAIT);
    if sig == libc::SIGKILL {
        assert_eq!(
            f.status.code(),
            None,
            "SIGKILL: {}",
            suite::describe(&f.status)
        );
    } else {
        assert_eq!(
            f.status.code(),
            Some(0),
            "{}; stderr: {}",
            suite::describe(&f.status),
            f.stderr
        );
        assert!(!f.stderr.contains("panicked"), "{}", f.stderr);
    }
    common::assert_no_bpf_left(&f);
}

/// Also runs the tool with IRONSCOPE_BTF at the kernel's own BTF, which
/// takes the custom-BTF open path.
fn stop_by_duration(t: &ToolInfo) {
    let mut cmd = t.command();
    cmd.args(t.run_args())
        .args(["--duration", "1"])
        .env("IRONSCOPE_BTF", "/sys/kernel/btf/vmlinux");
    let started = Instant::now();
    let f = common::start_cmd(&mut cmd).wait(EXIT_WAIT);
    assert_eq!(
        f.status.code(),
        Some(0),
        "{}; stderr: {}",
        suite::describe(&f.status),
        f.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "--duration 1 took {:?}",
        started.elapsed()
    );
    common::assert_no_bpf_left(&f);
}

/// Read up to the first newline (or for `timeout`) from a pipe.
fn read_first_line(out: &mut std::process::ChildStdout, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !got.contains(&b'\n') {
        let mut p = libc::pollfd {
            fd: out.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, 50) };
        if rc == 1 {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    }
    got
}

/// `tool | head -1`: the reader goes after the first line (or after a few
/// seconds for a tool that prints only at exit); the tool must notice, exit
/// 0 and say nothing.
fn stop_by_closed_pipe(t: &ToolInfo) {
    let suite::Spawned {
        mut child,
        stdout: mut out,
        stderr,
        reader,
    } = suite::spawn_tool(t.command().args(t.run_args()));
    if let Err(e) = suite::wait_ready(&mut child, &stderr, Duration::from_secs(20)) {
        panic!("{e}");
    }
    let bpf_ids = common::bpf_ids_of(child.id());
    // Interval tools print after their interval: give them time for one.
    let first = read_first_line(&mut out, Duration::from_secs(3));
    // What it said before (a start-up banner) is not about the pipe.
    let before = stderr.lock().unwrap().len();
    drop(out);
    let status = suite::wait_bounded(&mut child, EXIT_WAIT);
    let _ = reader.join();
    let stderr = stderr.lock().unwrap().clone();
    let Some(status) = status else {
        panic!(
            "still running {EXIT_WAIT:?} after its reader went (first line {:?})",
            String::from_utf8_lossy(&first)
        );
    };
    assert_eq!(
        status.code(),
        Some(0),
        "{}; stderr: {stderr}",
        suite::describe(&status)
    );
    let said = suite::stderr_without_ready(stderr.get(before..).unwrap_or(""));
    assert!(said.is_empty(), "not quiet after a closed pipe: {said:?}");
    common::assert_no_bpf_left(&Finished {
        stdout: vec![],
        stderr,
        status,
        bpf_ids,
    });
}

#[test]
fn teardown_every_tool_every_way() {
    common::require_root();
    let jobs: Vec<(&ToolInfo, Stop)> = suite::tools()
        .iter()
        .flat_map(|t| STOPS.iter().map(move |s| (t, *s)))
        .collect();
    let failures: Vec<String> = suite::par_map(jobs, 3, |(t, stop)| {
        suite::catch(|| match stop {
            Stop::Signal(sig, _) => stop_by_signal(t, sig),
            Stop::Duration => stop_by_duration(t),
            Stop::ClosedPipe => stop_by_closed_pipe(t),
        })
        .map_err(|e| {
            let how = match stop {
                Stop::Signal(_, name) => name.to_string(),
                Stop::Duration => "--duration 1, IRONSCOPE_BTF=/sys/kernel/btf/vmlinux".into(),
                Stop::ClosedPipe => "closed pipe".into(),
            };
            format!("{} {} ({how}): {e}", t.name, t.run_args().join(" "))
        })
    })
    .into_iter()
    .filter_map(Result::err)
    .collect();
    suite::assert_all_ok("teardown", failures);
}
