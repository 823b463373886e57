//! Storms: exec and open storms at full speed from two processes each for
//! ten seconds, with every ring-buffer tool watching (execsnoop and opensnoop
//! in table and JSON form). The tools are stopped (SIGSTOP) for a few seconds
//! in the middle so their rings overflow for sure. Each tool must keep
//! running with bounded memory, count and report what it lost (the running
//! reports adding up to the total), tear no line, and print only JSON that
//! parses, even with stderr on the same pipe as stdout.

use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::common;
use crate::suite::{self, TempDir, Workload};

/// Peak RSS a tool may reach in the storm.
const MAX_HWM_KB: u64 = 64 * 1024;

/// Rows for one workload event must be whole: a line holding `first` holds
/// `last` too.
#[derive(Clone)]
struct Expect {
    first: String,
    last: String,
    /// The storm must make this tool lose events (its ring is full while it
    /// is stopped).
    must_lose: bool,
}

#[derive(Default)]
struct Seen {
    lines: usize,
    matched: usize,
    bad: Vec<String>,
}

struct Running {
    label: String,
    tool: String,
    child: Child,
    seen: Arc<Mutex<Seen>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    expect: Option<Expect>,
    json: bool,
}

fn is_control(c: char) -> bool {
    (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32))
}

/// Check one stdout line, counting it if it is a workload event.
fn check_line(line: &[u8], json: bool, expect: &Option<Expect>, seen: &mut Seen) {
    seen.lines += 1;
    let mut bad = |why: &str| {
        if seen.bad.len() < 5 {
            seen.bad
                .push(format!("{why}: {:?}", String::from_utf8_lossy(line)));
        }
    };
    let Ok(text) = std::str::from_utf8(line) else {
        return bad("not UTF-8");
    };
    if text.chars().any(is_control) {
        return bad("control character");
    }
    if json {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => {}
            _ => return bad("not a JSON object"),
        }
    }
    if let Some(e) = expect {
        if text.contains(&e.first) {
            if text.contains(&e.last) {
                seen.matched += 1;
            } else {
                bad("torn row");
            }
        }
    }
}

/// Start a tool. With `merged`, stdout and stderr share one pipe (as with
/// `tool > log 2>&1`): lines starting "<tool>: " are its messages.
fn spawn(
    label: &str,
    tool: &str,
    args: &[String],
    json: bool,
    merged: bool,
    expect: Option<Expect>,
) -> Running {
    let mut cmd = suite::command_for(tool);
    cmd.args(args)
        .env("IRONSCOPE_READY", "1")
        .stdin(Stdio::null());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut readers = Vec::new();
    let prefix = format!("{tool}: ");
    let (out_reader, child): (Box<dyn Read + Send>, Child) = if merged {
        let (r, w) = suite::pipe();
        let w2: OwnedFd = w.try_clone().expect("dup");
        let child = cmd
            .stdout(Stdio::from(w))
            .stderr(Stdio::from(w2))
            .spawn()
            .expect("spawn");
        (Box::new(r), child)
    } else {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let err = child.stderr.take().expect("stderr");
        readers.push(suite::collect(err, stderr.clone(), 1 << 20));
        (Box::new(child.stdout.take().expect("stdout")), child)
    };
    let (s, e, x) = (seen.clone(), stderr.clone(), expect.clone());
    readers.push(std::thread::spawn(move || {
        let mut r = BufReader::with_capacity(1 << 20, out_reader);
        let mut line = Vec::new();
        let mut header = !json;
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if line.last() != Some(&b'\n') {
                s.lock().unwrap().bad.push(format!(
                    "last line has no newline: {:?}",
                    String::from_utf8_lossy(&line)
                ));
                break;
            }
            line.pop();
            if merged && line.starts_with(prefix.as_bytes()) {
                let mut e = e.lock().unwrap();
                e.push_str(&String::from_utf8_lossy(&line));
                e.push('\n');
                continue;
            }
            if header {
                // The table's header line.
                header = false;
                continue;
            }
            check_line(&line, json, &x, &mut s.lock().unwrap());
        }
    }));
    Running {
        label: label.to_string(),
        tool: tool.to_string(),
        child,
        seen,
        stderr,
        readers,
        expect,
        json,
    }
}

/// (running reports summed, total at exit) from a tool's messages.
fn lost_counts(tool: &str, stderr: &str) -> (u64, Option<u64>) {
    let mut sum = 0;
    let mut total = None;
    for l in stderr.lines() {
        let Some(rest) = l.strip_prefix(&format!("{tool}: lost ")) else {
            continue;
        };
        let n: u64 = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if rest.ends_with("in all") {
            total = Some(n);
        } else {
            sum += n;
        }
    }
    (sum, total)
}

#[test]
fn storms_exec_and_open() {
    common::require_root();
    let dir = TempDir::new("storm");
    let file = dir.0.join("hs-open-file");
    std::fs::write(&file, b"x\n").expect("write storm file");
    let file = file.to_str().expect("utf-8 temp path").to_string();
    let exec_args: Vec<String> = (0..18)
        .map(|i| format!("hsarg{i:02}_{}", "x".repeat(80)))
        .collect();
    let exec_expect = Expect {
        first: "hsarg00_".into(),
        last: exec_args[17].clone(),
        must_lose: true,
    };
    let open_expect = Expect {
        first: dir.0.to_str().unwrap().to_string(),
        last: "hs-open-file".into(),
        must_lose: true,
    };

    let mut tools: Vec<Running> = Vec::new();
    for t in suite::ring_tools() {
        let base = t.run_args();
        let expect = match t.name {
            "execsnoop" => Some(exec_expect.clone()),
            "opensnoop" => Some(open_expect.clone()),
            _ => None,
        };
        let mut json = base.clone();
        json.push("--json".into());
        if expect.is_some() {
            tools.push(spawn(
                &format!("{} (table)", t.name),
                t.name,
                &base,
                false,
                false,
                expect.clone(),
            ));
        }
        tools.push(spawn(
            &format!("{} --json 2>&1", t.name),
            t.name,
            &json,
            true,
            true,
            expect,
        ));
    }
    assert!(
        tools.iter().any(|r| r.tool == "execsnoop"),
        "execsnoop is not a ring tool?"
    );
    for r in &mut tools {
        if let Err(e) = suite::wait_ready(&mut r.child, &r.stderr, Duration::from_secs(30)) {
            panic!("{}: {e}", r.label);
        }
    }

    let mut storm = Workload::new();
    // The arguments travel in the environment, so that only /bin/true's
    // execs carry them.
    let joined = exec_args.join(" ");
    for _ in 0..2 {
        storm.shell_env(
            "while :; do /bin/true $HS_ARGS; done",
            &[],
            &[("HS_ARGS", &joined)],
        );
        storm.shell(r#"while :; do : < "$1"; done"#, &[&file]);
    }
    std::thread::sleep(Duration::from_secs(3));
    for r in &tools {
        suite::signal(r.child.id(), libc::SIGSTOP);
    }
    std::thread::sleep(Duration::from_secs(3));
    for r in &tools {
        suite::signal(r.child.id(), libc::SIGCONT);
    }
    std::thread::sleep(Duration::from_secs(4));

    let mut failures = Vec::new();
    let mut hwm = Vec::new();
    for r in &mut tools {
        hwm.push(suite::status_kb(r.child.id(), "VmHWM").unwrap_or(0));
        if let Ok(Some(st)) = r.child.try_wait() {
            failures.push(format!(
                "{}: died during the storm ({})",
                r.label,
                suite::describe(&st)
            ));
        }
    }
    storm.stop();
    for r in &tools {
        suite::signal(r.child.id(), libc::SIGINT);
    }
    for (r, hwm) in tools.iter_mut().zip(hwm) {
        let status = suite::wait_bounded(&mut r.child, Duration::from_secs(30));
        for h in r.readers.drain(..) {
            let _ = h.join();
        }
        let stderr = r.stderr.lock().unwrap().clone();
        let seen = r.seen.lock().unwrap();
        let l = &r.label;
        match status {
            Some(st) if st.code() == Some(0) => {}
            Some(st) => failures.push(format!(
                "{l}: {} after SIGINT; stderr: {stderr}",
                suite::describe(&st)
            )),
            None => failures.push(format!("{l}: did not exit after SIGINT")),
        }
        if stderr.contains("panicked") {
            failures.push(format!("{l}: panicked: {stderr}"));
        }
        if hwm > MAX_HWM_KB {
            failures.push(format!("{l}: peak RSS {hwm} kB > {MAX_HWM_KB} kB"));
        }
        for b in &seen.bad {
            failures.push(format!("{l}: {b}"));
        }
        for m in stderr
            .lines()
            .filter(|m| !m.starts_with(&format!("{}: ", r.tool)))
        {
            failures.push(format!("{l}: stray stderr line {m:?}"));
        }
        let (sum, total) = lost_counts(&r.tool, &stderr);
        if total.is_some_and(|t| t != sum) {
            failures.push(format!(
                "{l}: lost reports add up to {sum}, total says {total:?}"
            ));
        }
        if let Some(e) = &r.expect {
            if seen.matched < 100 {
                failures.push(format!(
                    "{l}: only {} workload events seen ({} lines)",
                    seen.matched, seen.lines
                ));
            }
            if e.must_lose && total.unwrap_or(0) == 0 {
                failures.push(format!(
                    "{l}: no lost events reported after its ring overflowed; stderr: {stderr}"
                ));
            }
        }
        eprintln!(
            "storm: {l}: {} lines, {} workload events, lost {:?}, peak RSS {hwm} kB{}",
            seen.lines,
            seen.matched,
            total,
            if r.json { "" } else { " (table)" }
        );
    }
    suite::assert_all_ok("storm", failures);
}
