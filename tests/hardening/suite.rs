//! What the hardening tests share: the tool list and how to start each tool,
//! bounded runs, workloads, and BPF map occupancy.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use libbpf_rs::{MapCore, MapHandle, MapType};

use crate::common;

/// Arguments a tool needs to start and to print on its own that its --help
/// cannot tell: required positionals, mostly. Interval tools get "1" from
/// their usage line without an entry here.
pub const RUN_ARGS: &[(&str, &[&str])] = &[
    ("fsslower", &["-t", "ext4"]),
    ("fsdist", &["-t", "ext4", "1"]),
    // Tracepoints work on every kernel; kernel functions need kprobes/fentry.
    (
        "funccount",
        &["--interval", "1", "t:syscalls:sys_enter_openat"],
    ),
];

/// Tool-specific bad input: (tool or alias, all its arguments, a word the
/// error must name). Each must fail with one line and exit 2 (or 1 where the
/// kernel is asked). Generic cases need no entry.
pub const BAD_ARGS: &[(&str, &[&str], &str)] = &[
    ("execsnoop", &["--max-args", "0"], "max-args"),
    ("execsnoop", &["-P", "abc"], "abc"),
    ("opensnoop", &["-f", "O_BOGUS"], "O_BOGUS"),
    ("opensnoop", &["-b", "3"], "3"),
    ("opensnoop", &["-n", "0123456789abcdefg"], "-n"),
    ("syscount", &["--syscall", "nosuchcall"], "nosuchcall"),
    ("syscount", &["--errno", "EBOGUS"], "EBOGUS"),
    ("fsslower", &["-t", "nosuchfs"], "nosuchfs"),
    ("fsslower", &[], "-t"),
    ("fsslower", &["-t", "ext4", "--csv", "--json"], "--csv"),
    (
        "fsslower",
        &["-t", "ext4", "-m", "1", "2"],
        "two thresholds",
    ),
    ("ext4slower", &["-t", "xfs"], "xfs"),
    ("fsdist", &["-t", "nosuchfs"], "nosuchfs"),
    ("filetop", &["-s", "bogus"], "bogus"),
    ("tcpconnect", &["-P", "70000"], "70000"),
    ("tcpconnect", &["-c", "-T"], "--count"),
    ("tcpconnect", &["-4", "-6"], "--ipv4"),
    ("tcpaccept", &["-P", "abc"], "abc"),
    ("tcplife", &["-L", "0"], "--localport"),
    ("tcpretrans", &["-c", "-s"], "--count"),
    ("tcptop", &["--sort", "bogus"], "bogus"),
    ("funccount", &[], "PATTERN"),
    (
        "funccount",
        &["-r", "t:syscalls:sys_enter_open("],
        "regular expression",
    ),
    ("funccount", &["t:nosuch:nosuch"], "nosuch"),
    (
        "funccount",
        &["--interval", "0", "t:syscalls:sys_enter_openat"],
        "0",
    ),
    ("profile", &["-F", "0"], "0"),
];

/// Where a tool takes its reporting interval, read from its --help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interval {
    None,
    /// bcc's positional `[interval]`.
    Positional,
    /// A flag such as `-i/--interval SECS`.
    Flag(String),
}

pub struct ToolInfo {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// The `Usage:` line of --help.
    pub usage: String,
    pub help: String,
    pub interval: Interval,
}

impl ToolInfo {
    /// Arguments that make the tool start and print without further input.
    pub fn run_args(&self) -> Vec<String> {
        if let Some((_, a)) = RUN_ARGS.iter().find(|(n, _)| *n == self.name) {
            return a.iter().map(|s| s.to_string()).collect();
        }
        assert!(
            !self.has_required_positional(),
            "{} needs arguments to run ({}): add it to RUN_ARGS in tests/hardening/suite.rs",
            self.name,
            self.usage
        );
        match &self.interval {
            Interval::None => vec![],
            Interval::Positional => vec!["1".into()],
            Interval::Flag(f) => vec![f.clone(), "1".into()],
        }
    }

    fn has_required_positional(&self) -> bool {
        self.usage
            .split_whitespace()
            .skip(2)
            .any(|w| w.starts_with('<'))
    }

    /// A command running this tool (its own binary, else the multicall one).
    pub fn command(&self) -> Command {
        command_for(self.name)
    }
}

/// A command for a tool or alias name.
pub fn command_for(name: &str) -> Command {
    let own = bin_dir().join(name);
    if own.exists() && is_tool(name) {
        Command::new(own)
    } else {
        let mut c = Command::new(bin_dir().join("ironscope"));
        c.arg(name);
        c
    }
}

fn is_tool(name: &str) -> bool {
    ironscope::tools::ALL.iter().any(|t| t.name == name)
}

pub fn bin_dir() -> PathBuf {
    common::bin("ironscope")
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

fn parse_interval(usage: &str, help: &str) -> Interval {
    let u = usage.to_ascii_lowercase();
    if u.split_whitespace()
        .any(|w| w == "[interval]" || w == "<interval>")
    {
        return Interval::Positional;
    }
    if help.contains("--interval <") || help.contains("--interval=<") {
        return Interval::Flag("--interval".into());
    }
    Interval::None
}

/// Every tool in the registry, with what its --help says.
pub fn tools() -> &'static [ToolInfo] {
    static TOOLS: OnceLock<Vec<ToolInfo>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        par_map(ironscope::tools::ALL.to_vec(), 4, |t| {
            let out = command_for(t.name)
                .arg("--help")
                .stdin(Stdio::null())
                .output()
                .expect("run --help");
            let help = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.status.success(), "{} --help failed: {help}", t.name);
            let usage = help
                .lines()
                .find(|l| l.starts_with("Usage:"))
                .unwrap_or_else(|| panic!("{} --help has no Usage: line", t.name))
                .to_string();
            let interval = parse_interval(&usage, &help);
            ToolInfo {
                name: t.name,
                aliases: t.aliases,
                usage,
                help,
                interval,
            }
        })
    })
}

pub fn tool(name: &str) -> Option<&'static ToolInfo> {
    tools().iter().find(|t| t.name == name)
}

/// Source of a tool module, for conventions the compiler cannot check.
pub fn tool_source(name: &str) -> Option<String> {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/tools")
            .join(format!("{name}.rs")),
    )
    .ok()
}

/// The runtime functions that hand ring records to a tool: `run_ring` and,
/// found in src/runtime, every function calling one of them (such as
/// `net::print_events`), to a fixed point.
pub fn ring_consumers() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runtime");
    let mut fns: Vec<(String, String)> = Vec::new();
    for e in std::fs::read_dir(dir).expect("src/runtime").flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        // Each function: its name and its text up to the next function.
        let starts: Vec<usize> = text.match_indices("fn ").map(|(i, _)| i).collect();
        for (k, &i) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(text.len());
            let name: String = text[i + 3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            fns.push((name, text[i..end].to_string()));
        }
    }
    let mut found = vec!["run_ring".to_string()];
    loop {
        let more: Vec<String> = fns
            .iter()
            .filter(|(n, body)| !found.contains(n) && found.iter().any(|f| calls_fn(body, f)))
            .map(|(n, _)| n.clone())
            .collect();
        if more.is_empty() {
            return found;
        }
        found.extend(more);
    }
}

/// Whether `text` calls function `f` (not merely defines it or a longer name).
fn calls_fn(text: &str, f: &str) -> bool {
    text.match_indices(&format!("{f}(")).any(|(i, _)| {
        let before = &text[..i];
        let prev = before.chars().last().unwrap_or(' ');
        !(prev.is_alphanumeric() || prev == '_' || before.ends_with("fn "))
    })
}

/// Tools that stream records from a ring buffer (they call a ring consumer).
pub fn ring_tools() -> Vec<&'static ToolInfo> {
    let consumers = ring_consumers();
    tools()
        .iter()
        .filter(|t| tool_source(t.name).is_some_and(|s| consumers.iter().any(|f| calls_fn(&s, f))))
        .collect()
}

/// Run `f` over `items` on `threads` threads; results in input order.
pub fn par_map<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let n = items.len();
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let item = slots[i].lock().unwrap().take().expect("item");
                let r = f(item);
                *results[i].lock().unwrap() = Some(r);
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().unwrap().expect("result"))
        .collect()
}

/// Run a check, turning a panic (a failed assertion) into its message, so one
/// test can report every tool's failures at once.
pub fn catch(f: impl FnOnce()) -> Result<(), String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// Panic with every failure, one per line.
pub fn assert_all_ok(what: &str, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{what}: {} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Run a command to its end, killing it after `timeout`.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<Outcome, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let to = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let te = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = wait_bounded(&mut child, timeout);
    let stdout = String::from_utf8_lossy(&to.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&te.join().unwrap_or_default()).into_owned();
    match status {
        Some(status) => Ok(Outcome {
            status,
            stdout,
            stderr,
        }),
        None => Err(format!("did not exit within {timeout:?}; stderr: {stderr}")),
    }
}

/// Wait for a child up to `timeout`; on timeout kill it and return None.
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How a process ended, for messages.
pub fn describe(st: &ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!(
            "killed by signal {s}{}",
            if st.core_dumped() {
                " (core dumped)"
            } else {
                ""
            }
        ),
        _ => format!("{st}"),
    }
}

/// stderr without the `<tool>: ready` line IRONSCOPE_READY adds.
pub fn stderr_without_ready(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.ends_with(": ready"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A pid no process can have: pid_max itself (pids stay below it). A free
/// pid below it could be taken at any moment while the workloads fork.
pub fn free_pid() -> u32 {
    let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768);
    assert!(!Path::new(&format!("/proc/{max}")).exists());
    max
}

/// A field of /proc/PID/status in kB (VmRSS, VmHWM).
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a child of ours.
    unsafe { libc::kill(pid as i32, sig) };
}

/// A pipe whose write end can be given to a child as both stdout and stderr
/// (as `tool > log 2>&1` does).
pub fn pipe() -> (std::fs::File, OwnedFd) {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills two fds we then own.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2");
    use std::os::fd::FromRawFd;
    // SAFETY: fresh fds from pipe2.
    unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            OwnedFd::from_raw_fd(fds[1]),
        )
    }
}

/// Copy a stream into a shared string (its first `cap` bytes) on a thread.
pub fn collect(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
    cap: usize,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut s = into.lock().unwrap();
            if s.len() < cap {
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    })
}

/// A tool started with IRONSCOPE_READY and piped output, its stderr being
/// collected; stdout is the caller's to read.
pub struct Spawned {
    pub child: Child,
    pub stdout: ChildStdout,
    pub stderr: Arc<Mutex<String>>,
    pub reader: JoinHandle<()>,
}

pub fn spawn_tool(cmd: &mut Command) -> Spawned {
    let mut child = crate::common::spawn_piped(cmd);
    let stderr = Arc::new(Mutex::new(String::new()));
    let reader = collect(
        child.stderr.take().expect("stderr"),
        stderr.clone(),
        1 << 20,
    );
    let stdout = child.stdout.take().expect("stdout");
    Spawned {
        child,
        stdout,
        stderr,
        reader,
    }
}

/// Wait until stderr so far says the tool is attached; None if it exited.
pub fn wait_ready(
    child: &mut Child,
    stderr: &Mutex<String>,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if stderr.lock().unwrap().contains(": ready") {
            return Ok(());
        }
        if let Ok(Some(st)) = child.try_wait() {
            std::thread::sleep(Duration::from_millis(100));
            return Err(format!(
                "exited early ({}): {}",
                describe(&st),
                stderr.lock().unwrap()
            ));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "not ready within {timeout:?}: {}",
                stderr.lock().unwrap()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Background workload processes, killed (whole process group) on drop.
pub struct Workload {
    children: Vec<Child>,
}

impl Workload {
    pub fn new() -> Workload {
        Workload {
            children: Vec::new(),
        }
    }

    /// A `sh -c` loop in its own process group, at the lowest priority so the
    /// tools under test keep up on a busy machine.
    pub fn shell(&mut self, script: &str, args: &[&str]) -> u32 {
        self.shell_env(script, args, &[])
    }

    /// As `shell`, with environment variables (which, unlike arguments, do
    /// not show in the shell's own exec).
    pub fn shell_env(&mut self, script: &str, args: &[&str], env: &[(&str, &str)]) -> u32 {
        let child = Command::new("nice")
            .envs(env.iter().copied())
            .args(["-n", "10", "/bin/sh", "-c", script, "sh"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn workload");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    pub fn stop(&mut self) {
        for c in &mut self.children {
            // SAFETY: kill(2) on the process group we created.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
        }
        for mut c in self.children.drain(..) {
            let _ = c.wait();
        }
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A scratch directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "ironscope-hardening-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One BPF map of a running tool and how full it is.
#[derive(Debug, Clone)]
pub struct MapUse {
    pub id: u32,
    pub name: String,
    pub kind: MapType,
    pub entries: usize,
    pub max_entries: u32,
}

/// Maps whose entries are keys that come and go (pid, socket, request...):
/// the ones that can leak. Arrays, rings and the like have fixed occupancy.
pub fn is_keyed(kind: MapType) -> bool {
    matches!(
        kind,
        MapType::Hash | MapType::PercpuHash | MapType::LruHash | MapType::LruPercpuHash
    )
}

/// Occupancy of the keyed maps a process holds. Iteration on a map that
/// changes under us may restart, so keys are deduplicated and the walk is
/// bounded.
pub fn map_usage(pid: u32) -> Vec<MapUse> {
    let mut out = Vec::new();
    for (kind, id) in common::bpf_ids_of(pid) {
        if kind != "map_id" {
            continue;
        }
        let Ok(m) = MapHandle::from_map_id(id) else {
            continue;
        };
        if !is_keyed(m.map_type()) {
            continue;
        }
        let limit = m.max_entries() as usize * 4 + 64;
        let keys: HashSet<Vec<u8>> = m.keys().take(limit).collect();
        out.push(MapUse {
            id,
            name: m.name().to_string_lossy().into_owned(),
            kind: m.map_type(),
            entries: keys.len(),
            max_entries: m.max_entries(),
        });
    }
    out
}
