//! funccount on this host: exact counts of a tracepoint and of user
//! functions called a known number of times by a known pid, and the clear
//! refusal of kernel functions on a kernel without kprobes and fentry.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::*;

const HELPER: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int ironscope_counted(int x) { return x + 1; }
__attribute__((noinline)) int ironscope_counted_too(int x) { return x * 2; }

/* Prints "ready", waits for a line, then makes N getppid() calls, N calls of
 * ironscope_counted and 2N of ironscope_counted_too, prints "done" and waits
 * for another line before exiting. */
int main(int argc, char **argv)
{
    char line[16];
    volatile int acc = 0;
    int n = argc > 1 ? atoi(argv[1]) : 0;

    printf("ready\n");
    fflush(stdout);
    if (!fgets(line, sizeof(line), stdin))
        return 1;
    for (int i = 0; i < n; i++) {
        acc += ironscope_counted(i);
        acc += getppid() > 0;
    }
    for (int i = 0; i < 2 * n; i++)
        acc += ironscope_counted_too(i);
    printf("done\n");
    fflush(stdout);
    fgets(line, sizeof(line), stdin);
    return 0;
}
"#;

fn helper_bin() -> PathBuf {
    build_c("fc-helper", HELPER, &["-O1", "-g"])
}

/// A helper process waiting for its go line.
struct Helper {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Helper {
    fn start(n: u32) -> Helper {
        let mut child = Command::new(helper_bin())
            .arg(n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn helper");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut l = String::new();
        stdout.read_line(&mut l).unwrap();
        assert_eq!(l.trim(), "ready");
        Helper {
            child,
            stdin,
            stdout,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Make the calls and wait until they are done.
    fn go(&mut self) {
        self.stdin.write_all(b"go\n").unwrap();
        let mut l = String::new();
        self.stdout.read_line(&mut l).unwrap();
        assert_eq!(l.trim(), "done");
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"bye\n");
        let _ = self.child.wait();
    }
}

/// The COUNT column of the row for `func`.
fn count_row(lines: &[String], func: &str) -> Option<u64> {
    lines.iter().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some(func))
            .then(|| f.next().and_then(|c| c.parse().ok()))
            .flatten()
    })
}

#[test]
fn tracepoint_counts_exactly_the_calls_of_one_pid() {
    let mut h = Helper::start(37);
    // Same calls from another process: -p must leave them out.
    let mut other = Helper::start(5);
    let t = start(
        "funccount",
        &["-p", &h.pid(), "t:syscalls:sys_enter_getpp*"],
    );
    other.go();
    h.go();
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0],
        "Tracing 1 functions for \"t:syscalls:sys_enter_getpp*\"... Hit Ctrl-C to end."
    );
    assert!(
        f.stdout
            .contains(&"FUNC                                    COUNT".to_string()),
        "{:?}",
        f.stdout
    );
    assert_eq!(
        count_row(&f.stdout, "syscalls:sys_enter_getppid"),
        Some(37),
        "{:?}",
        f.stdout
    );
    assert_eq!(f.stdout.last().map(String::as_str), Some("Detaching..."));
    assert_no_bpf_left(&f);
}

#[test]
fn user_functions_by_path_and_glob_json() {
    let mut h = Helper::start(23);
    let pattern = format!("{}:ironscope_count*", helper_bin().display());
    let t = start("funccount", &["--json", "-p", &h.pid(), &pattern]);
    h.go();
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let rows = f.json();
    let get = |n: &str| {
        rows.iter()
            .find(|v| v["func"] == n)
            .map(|v| v["count"].clone())
    };
    assert_eq!(
        get("ironscope_counted"),
        Some(serde_json::json!(23)),
        "{rows:?}"
    );
    assert_eq!(
        get("ironscope_counted_too"),
        Some(serde_json::json!(46)),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
}

#[test]
fn libc_function_of_the_traced_process() {
    let mut h = Helper::start(11);
    let mut other = Helper::start(4);
    let t = start("funccount", &["-p", &h.pid(), "c:getppid"]);
    h.go();
    other.go();
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(count_row(&f.stdout, "getppid"), Some(11), "{:?}", f.stdout);
}

#[test]
fn regular_expression_and_interval() {
    let mut h = Helper::start(9);
    let pattern = format!("{}:ironscope_counted$", helper_bin().display());
    let t = start(
        "funccount",
        &["-r", "-T", "-i", "1", "-p", &h.pid(), &pattern],
    );
    h.go();
    // Let an interval pass so the calls land in a printed summary.
    std::thread::sleep(Duration::from_millis(1300));
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0],
        format!("Tracing 1 functions for \"{pattern}\"... Hit Ctrl-C to end.")
    );
    let total: u64 = f
        .stdout
        .iter()
        .filter(|l| l.starts_with("ironscope_counted "))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 9, "{:?}", f.stdout);
    assert!(
        !f.stdout
            .iter()
            .any(|l| l.starts_with("ironscope_counted_too")),
        "{:?}",
        f.stdout
    );
    let headers = f.stdout.iter().filter(|l| l.starts_with("FUNC ")).count();
    let times = f
        .stdout
        .iter()
        .filter(|l| l.len() == 8 && l.as_bytes()[2] == b':' && l.as_bytes()[5] == b':')
        .count();
    assert!(headers >= 2 && times == headers, "{:?}", f.stdout);
}

fn has_kprobes() -> bool {
    std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
}

#[test]
fn kernel_functions_without_kprobes_or_fentry_fail_clearly() {
    if has_kprobes() {
        // A kernel with kprobes counts them (the VM case covers this path).
        let (st, out, err) = run_to_end("funccount", &["-d", "0.5", "vfs_read"]);
        assert!(st.success(), "{err}");
        assert!(out.contains("Tracing 1 functions"), "{out}");
        return;
    }
    assert_one_line_error(
        "funccount",
        &["vfs_read"],
        1,
        "kernel functions need kprobes or fentry; this kernel has neither",
    );
    assert_one_line_error(
        "funccount",
        &["--attach", "kprobe", "vfs_*"],
        1,
        "CONFIG_KPROBES unset",
    );
}

#[test]
fn bad_patterns() {
    assert_one_line_error("funccount", &["u:pthread:mutex_*"], 2, "USDT probes");
    assert_one_line_error(
        "funccount",
        &["no-such-lib-xyz:malloc"],
        2,
        "cannot find a library or executable",
    );
    assert_one_line_error(
        "funccount",
        &["t:no_such_category:*"],
        1,
        "no tracepoint matches",
    );
    assert_one_line_error(
        "funccount",
        &["c:no_such_function_xyz"],
        1,
        "no function in",
    );
    assert_one_line_error("funccount", &["-r", "c:("], 2, "bad regular expression");
    assert_one_line_error("funccount", &["x:y:z"], 2, "unknown probe type");
    assert_one_line_error(
        "funccount",
        &["--attach", "fentry", "t:sched:sched_switch"],
        2,
        "no fentry hook path",
    );
    assert_one_line_error("funccount", &[], 2, "PATTERN");
}
