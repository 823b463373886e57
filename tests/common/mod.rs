//! Shared by the host tests: start a tool, wait until it is attached, run a
//! workload, stop the tool, and read its rows or JSON lines.
#![allow(dead_code)]

pub mod loopdev;
pub mod loopfs;
pub mod net;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The built binary of a tool (cargo builds every bin for integration tests).
pub fn bin(tool: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<triple>/<profile>/deps/test-xxxx -> target/<triple>/<profile>/<tool>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join(tool);
    assert!(p.exists(), "{} is not built", p.display());
    p
}

/// The calling thread's id: a test that does its workload on its own thread
/// filters the tool with `--tid` and sees nothing of parallel tests.
pub fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

/// Host tests load BPF: they must run as root; failing loudly beats a
/// silently skipped test.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "these tests load BPF programs: run them as root"
    );
}

pub struct Traced {
    pub child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    /// BPF object ids the tool held while running: (kind, id).
    pub bpf_ids: BTreeSet<(String, u32)>,
}

pub struct Finished {
    pub stdout: Vec<String>,
    pub stderr: String,
    pub status: ExitStatus,
    pub bpf_ids: BTreeSet<(String, u32)>,
}

/// Start `tool ARGS` and wait until it says it is attached.
pub fn start(tool: &str, args: &[&str]) -> Traced {
    start_cmd(Command::new(bin(tool)).args(args))
}

/// Spawn a tool with its output piped and its readiness line switched on.
pub fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.env("IRONSCOPE_READY", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tool")
}

pub fn start_cmd(cmd: &mut Command) -> Traced {
    require_root();
    let mut child = spawn_piped(cmd);
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let (o, e) = (stdout.clone(), stderr.clone());
    let readers = vec![
        std::thread::spawn(move || {
            for line in BufReader::new(out).split(b'\n').map_while(Result::ok) {
                o.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&line).into_owned());
            }
        }),
        std::thread::spawn(move || {
            let mut r = BufReader::new(err);
            let mut buf = [0u8; 4096];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                e.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }),
    ];
    let mut t = Traced {
        child,
        stdout,
        stderr,
        readers,
        bpf_ids: BTreeSet::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if t.stderr.lock().unwrap().contains(": ready") {
            break;
        }
        if let Ok(Some(st)) = t.child.try_wait() {
            std::thread::sleep(Duration::from_millis(100));
            panic!("tool exited early ({st}): {}", t.stderr.lock().unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "tool not ready: {}",
            t.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    t.bpf_ids = bpf_ids_of(t.child.id());
    t
}

impl Traced {
    pub fn lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait until a stdout line satisfies `pred`; returns it.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(l) = self.lines().into_iter().find(|l| pred(l)) {
                return Some(l);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// SIGINT, then wait (bounded) for exit and the output.
    pub fn stop(self) -> Finished {
        self.signal(libc::SIGINT);
        self.wait(Duration::from_secs(10))
    }

    pub fn wait(mut self, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                break st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tool did not exit in {timeout:?}: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Finished {
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
            status,
            bpf_ids: self.bpf_ids.clone(),
        }
    }
}

impl Finished {
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.stdout
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

/// The BPF programs, maps and links a process holds, from /proc/PID/fdinfo.
pub fn bpf_ids_of(pid: u32) -> BTreeSet<(String, u32)> {
    let mut ids = BTreeSet::new();
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return ids;
    };
    for e in rd.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        for line in text.lines() {
            for kind in ["prog_id", "map_id", "link_id"] {
                if let Some(v) = line.strip_prefix(kind).and_then(|r| r.strip_prefix(':')) {
                    if let Ok(id) = v.trim().parse() {
                        ids.insert((kind.to_string(), id));
                    }
                }
            }
        }
    }
    ids
}

/// Whether a BPF object with this id still exists in the kernel.
pub fn bpf_id_exists(kind: &str, id: u32) -> bool {
    // SAFETY: libbpf's get-fd-by-id calls; a returned fd is closed at once.
    let fd = unsafe {
        match kind {
            "prog_id" => libbpf_sys::bpf_prog_get_fd_by_id(id),
            "map_id" => libbpf_sys::bpf_map_get_fd_by_id(id),
            _ => libbpf_sys::bpf_link_get_fd_by_id(id),
        }
    };
    if fd >= 0 {
        unsafe { libc::close(fd) };
        true
    } else {
        false
    }
}

/// Assert that none of the tool's BPF objects outlives it (the kernel frees
/// them shortly after the last reference goes, so allow a moment).
pub fn assert_no_bpf_left(f: &Finished) {
    assert!(
        f.bpf_ids.iter().any(|(k, _)| k == "prog_id")
            || f.bpf_ids.iter().any(|(k, _)| k == "link_id"),
        "the tool held no BPF program or link while running: {:?}",
        f.bpf_ids
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<_> = f
            .bpf_ids
            .iter()
            .filter(|(k, id)| bpf_id_exists(k, *id))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "BPF objects left after exit: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run a tool to completion with a timeout (for bad-input checks).
pub fn run_to_end(tool: &str, args: &[&str]) -> (ExitStatus, String, String) {
    let out = Command::new(bin(tool))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tool");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The cgroup v2 mount point (hybrid hosts mount it at .../unified).
pub fn cgroup2_root() -> PathBuf {
    let mounts = std::fs::read_to_string("/proc/mounts").expect("/proc/mounts");
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
        })
        .next()
        .expect("no cgroup2 mount on this host")
}

/// A fresh cgroup v2 directory, removed on drop.
pub struct TestCgroup(pub PathBuf);

impl TestCgroup {
    pub fn new(tag: &str) -> TestCgroup {
        let p = cgroup2_root().join(format!("ironscope-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir(&p);
        std::fs::create_dir(&p).expect("create cgroup");
        TestCgroup(p)
    }

    /// A command that joins this cgroup, then execs `program args`.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && exec \"$@\"",
                self.0.display()
            ))
            .arg("sh")
            .arg(program)
            .args(args);
        c
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Assert a bad invocation fails with one line on stderr and `code`.
pub fn assert_one_line_error(tool: &str, args: &[&str], code: i32, needle: &str) {
    let (status, _out, err) = run_to_end(tool, args);
    assert_eq!(status.code(), Some(code), "{tool} {args:?}: stderr {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{tool} {args:?}: want one line, got: {err}");
    assert!(
        lines[0].starts_with(&format!("{tool}: ")),
        "{tool} {args:?}: {err}"
    );
    assert!(
        lines[0].contains(needle),
        "{tool} {args:?}: want '{needle}' in: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// Compile a C test program once per test binary run (tests run in
/// parallel and share it); `name` must be unique within the test file.
/// Lands under cargo's target tmp dir, not /tmp.
pub fn build_c(name: &str, source: &str, cflags: &[&str]) -> PathBuf {
    static BUILT: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap();
    if let Some((_, p)) = built.iter().find(|(n, _)| n == name) {
        return p.clone();
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create build dir");
    let src = dir.join(format!("{name}.c"));
    let bin = dir.join(name);
    std::fs::write(&src, source).expect("write C source");
    let out = Command::new("gcc")
        .args(cflags)
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("run gcc (apt-get install gcc)");
    assert!(
        out.status.success(),
        "gcc {name}.c failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    built.push((name.to_string(), bin.clone()));
    bin
}
