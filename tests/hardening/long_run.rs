//! Long run: every tool at once under one mixed workload (exec, file
//! open/read/write, TCP connections on loopback, direct block I/O on a loop
//! device) for IRONSCOPE_LONG_RUN_SECS (300 by default, CI's value). Each
//! tool's RSS and the occupancy of its keyed maps (pid, socket, request...)
//! are sampled after a minute and at the end: both must stay flat, no keyed
//! map may fill up, and every tool must stop cleanly with nothing left.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{self, Finished};
use crate::suite::{self, MapUse, TempDir, ToolInfo, Workload};

const DEFAULT_SECS: u64 = 300;

/// Maps whose growth is the tool's output, kept until exit as bcc's tool
/// keeps it (a full map there loses samples, which the tool reports).
const AGGREGATES: &[(&str, &str)] = &[
    // Samples per (pid, stack); every new process adds keys.
    ("profile", "counts"),
];
/// RSS may grow this much (or a quarter) between the samples.
const RSS_SLACK_KB: u64 = 8 * 1024;

struct Watched {
    tool: &'static ToolInfo,
    child: Child,
    stderr: Arc<Mutex<String>>,
    lines: Arc<AtomicUsize>,
    readers: Vec<JoinHandle<()>>,
    bpf_ids: BTreeSet<(String, u32)>,
}

fn watch(t: &'static ToolInfo) -> Watched {
    let suite::Spawned {
        mut child,
        stdout: mut out,
        stderr,
        reader,
    } = suite::spawn_tool(t.command().args(t.run_args()));
    let lines = Arc::new(AtomicUsize::new(0));
    let n = lines.clone();
    let readers = vec![
        reader,
        // Drain stdout, counting lines: five minutes of rows stay out of memory.
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(k) = out.read(&mut buf) {
                if k == 0 {
                    break;
                }
                n.fetch_add(
                    buf[..k].iter().filter(|&&b| b == b'\n').count(),
                    Ordering::Relaxed,
                );
            }
        }),
    ];
    if let Err(e) = suite::wait_ready(&mut child, &stderr, Duration::from_secs(30)) {
        panic!("{}: {e}", t.name);
    }
    let bpf_ids = common::bpf_ids_of(child.id());
    Watched {
        tool: t,
        child,
        stderr,
        lines,
        readers,
        bpf_ids,
    }
}

struct Sample {
    alive: bool,
    rss_kb: u64,
    maps: Vec<MapUse>,
}

fn sample(w: &mut Watched) -> Sample {
    let alive = matches!(w.child.try_wait(), Ok(None));
    Sample {
        alive,
        rss_kb: suite::status_kb(w.child.id(), "VmRSS").unwrap_or(0),
        maps: suite::map_usage(w.child.id()),
    }
}

/// TCP connections on loopback: connect, send, receive, close.
fn tcp_workload(stop: Arc<AtomicBool>) -> Vec<JoinHandle<()>> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    let s1 = stop.clone();
    let server = std::thread::spawn(move || {
        while !s1.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
                    let mut b = [0u8; 64];
                    let _ = c.read(&mut b);
                    let _ = c.write_all(b"pong");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    });
    let client = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(mut c) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
                let _ = c.write_all(b"ping");
                let mut b = [0u8; 4];
                let _ = c.read_exact(&mut b);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    vec![server, client]
}

/// A loop device over a file, detached on drop.
struct LoopDev(String);

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

/// Direct reads and writes on a loop device (None when the host has none).
fn block_workload(dir: &TempDir, stop: Arc<AtomicBool>) -> Option<(LoopDev, JoinHandle<()>)> {
    let backing = dir.0.join("loop.img");
    std::fs::File::create(&backing)
        .ok()?
        .set_len(32 << 20)
        .ok()?;
    let out = Command::new("losetup")
        .args(["--find", "--show"])
        .arg(&backing)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "long run: no loop device ({}), no block workload",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    let dev = LoopDev(String::from_utf8_lossy(&out.stdout).trim().to_string());
    let path = dev.0.clone();
    let h = std::thread::spawn(move || {
        let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(&path)
        else {
            return;
        };
        // O_DIRECT wants an aligned buffer.
        let layout = std::alloc::Layout::from_size_align(64 * 1024, 4096).expect("layout");
        // SAFETY: a non-zero-sized layout; freed below.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        // SAFETY: ptr is valid for layout.size() bytes.
        let buf = unsafe { std::slice::from_raw_parts_mut(ptr, layout.size()) };
        let mut off = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let _ = f.write_at(buf, off);
            let _ = f.read_at(buf, off);
            off = (off + 64 * 1024) % (32 << 20);
            std::thread::sleep(Duration::from_millis(2));
        }
        // SAFETY: allocated above with this layout.
        unsafe { std::alloc::dealloc(ptr, layout) };
    });
    Some((dev, h))
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

#[test]
fn long_run_every_tool_at_once() {
    common::require_root();
    let secs: u64 = std::env::var("IRONSCOPE_LONG_RUN_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECS);
    let first = Duration::from_secs((secs / 5).clamp(1, 60));
    let dir = TempDir::new("long");

    let mut watched: Vec<Watched> = suite::tools().iter().map(watch).collect();

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Workload::new();
    let d = dir.0.to_str().expect("utf-8 temp path");
    load.shell("while :; do /bin/true; done", &[]);
    load.shell(
        r#"n=0; while :; do n=$(( (n + 1) % 500 )); echo x > "$1/f$n"; read l < "$1/f$n"; done"#,
        &[d],
    );
    let mut threads = tcp_workload(stop.clone());
    let block = block_workload(&dir, stop.clone());

    sleep_until(start + first);
    let at_first: Vec<Sample> = watched.iter_mut().map(sample).collect();
    sleep_until(start + Duration::from_secs(secs));
    let at_end: Vec<Sample> = watched.iter_mut().map(sample).collect();

    stop.store(true, Ordering::Relaxed);
    load.stop();
    if let Some((dev, h)) = block {
        let _ = h.join();
        drop(dev);
    }
    for h in threads.drain(..) {
        let _ = h.join();
    }

    let mut failures = Vec::new();
    for w in &watched {
        suite::signal(w.child.id(), libc::SIGINT);
    }
    for ((w, a), b) in watched.iter_mut().zip(&at_first).zip(&at_end) {
        let name = w.tool.name;
        let status = suite::wait_bounded(&mut w.child, Duration::from_secs(30));
        for h in w.readers.drain(..) {
            let _ = h.join();
        }
        let stderr = w.stderr.lock().unwrap().clone();
        eprintln!(
            "long run: {name}: RSS {} -> {} kB, {} lines, maps {}",
            a.rss_kb,
            b.rss_kb,
            w.lines.load(Ordering::Relaxed),
            b.maps
                .iter()
                .map(|m| {
                    let before = a
                        .maps
                        .iter()
                        .find(|x| x.id == m.id)
                        .map_or(0, |x| x.entries);
                    format!("{} {}->{}/{}", m.name, before, m.entries, m.max_entries)
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !a.alive || !b.alive {
            failures.push(format!("{name}: died during the run; stderr: {stderr}"));
            continue;
        }
        let rss_limit = a.rss_kb + RSS_SLACK_KB.max(a.rss_kb / 4);
        if b.rss_kb > rss_limit {
            failures.push(format!(
                "{name}: RSS grew from {} to {} kB",
                a.rss_kb, b.rss_kb
            ));
        }
        for m in b
            .maps
            .iter()
            .filter(|m| !AGGREGATES.contains(&(name, m.name.as_str())))
        {
            let before = a
                .maps
                .iter()
                .find(|x| x.id == m.id)
                .map_or(0, |x| x.entries);
            if m.entries > before + 64.max(before / 4) {
                failures.push(format!(
                    "{name}: map {} grew from {before} to {} entries",
                    m.name, m.entries
                ));
            }
            if m.max_entries >= 1024 && m.entries as u64 >= u64::from(m.max_entries) * 95 / 100 {
                failures.push(format!(
                    "{name}: map {} is full ({}/{})",
                    m.name, m.entries, m.max_entries
                ));
            }
        }
        match status {
            Some(st) if st.code() == Some(0) => {
                let f = Finished {
                    stdout: vec![],
                    stderr: stderr.clone(),
                    status: st,
                    bpf_ids: w.bpf_ids.clone(),
                };
                if let Err(e) = suite::catch(|| common::assert_no_bpf_left(&f)) {
                    failures.push(format!("{name}: {e}"));
                }
            }
            Some(st) => failures.push(format!(
                "{name}: {} after SIGINT; stderr: {stderr}",
                suite::describe(&st)
            )),
            None => failures.push(format!("{name}: did not exit after SIGINT")),
        }
        if stderr.contains("panicked") {
            failures.push(format!("{name}: panicked: {stderr}"));
        }
        if let Some(l) = stderr
            .lines()
            .find(|l| !l.starts_with(&format!("{name}: ")))
        {
            failures.push(format!("{name}: stray stderr line {l:?}"));
        }
    }
    suite::assert_all_ok("long run", failures);
}
