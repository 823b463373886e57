//! runqlat on this kernel: a process made to wait behind busy threads on
//! one CPU, and an idle one that never runs.

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const WORKLOAD_ENV: &str = "IRONSCOPE_RUNQLAT_WORKLOAD";

fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t with one bit set, for the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
}

/// Not a test: the body of the workload process (this test binary run again
/// with WORKLOAD_ENV set). Once "go" arrives on stdin, two busy threads and
/// this sleeper share one CPU; each of its 200 wake-ups waits for a turn.
#[test]
fn workload_entry() {
    let Ok(cpu) = std::env::var(WORKLOAD_ENV) else {
        return;
    };
    let cpu: usize = cpu.parse().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    pin_to_cpu(cpu);
    // SAFETY: gettid has no preconditions.
    println!("tid={}", unsafe { libc::gettid() });
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                // SAFETY: gettid has no preconditions.
                println!("tid={}", unsafe { libc::gettid() });
                pin_to_cpu(cpu);
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
        })
        .collect();
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Relaxed);
    for s in spinners {
        s.join().unwrap();
    }
}

/// The workload process, waiting for `go`.
fn workload() -> Child {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "workload_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKLOAD_ENV, (cpus - 1).to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn workload")
}

/// Start the workload and wait for it to end; the thread ids it printed.
fn go_and_wait(mut w: Child) -> Vec<u64> {
    w.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut out = String::new();
    w.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "workload did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The harness may print "test workload_entry ... " on the same line.
    out.lines()
        .filter_map(|l| l.split("tid=").nth(1)?.trim().parse().ok())
        .collect()
}

/// An idle process: blocked on a pipe read for as long as the test runs.
fn idle() -> Child {
    Command::new("/bin/sh")
        .args(["-c", "read x"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn idle")
}

fn total(h: &Value) -> u64 {
    h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum()
}

#[test]
fn pid_filter_counts_only_that_process() {
    let w = workload();
    let pid = w.id();
    let t = start("runqlat", &["--json", "-p", &pid.to_string()]);
    go_and_wait(w);
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    let hists = f.json();
    assert_eq!(hists.len(), 1, "{:?}", f.stdout);
    let h = &hists[0];
    assert_eq!(h["unit"], "usecs");
    // 200 wake-ups of the sleeper, plus the spinners' preemptions.
    assert!(total(h) >= 200, "{h}");
    assert_eq!(total(h), h["count"].as_u64().unwrap());
    // Waiting behind two busy threads: some waits are long (>= 64 us).
    let long: u64 = h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["low"].as_u64().unwrap() >= 64)
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert!(long > 0, "{h}");
    assert_no_bpf_left(&f);

    // The same workload while watching an idle process: nothing.
    let mut i = idle();
    let w = workload();
    let t = start("runqlat", &["--json", "-p", &i.id().to_string()]);
    go_and_wait(w);
    let f = t.stop();
    let _ = i.kill();
    let _ = i.wait();
    assert!(f.status.success(), "{}", f.stderr);
    assert!(f.stdout.is_empty(), "{:?}", f.stdout);
}

#[test]
fn per_process_and_per_thread() {
    let mut i = idle();
    let w = workload();
    let pid = w.id();
    let t = start("runqlat", &["-P"]);
    go_and_wait(w);
    let f = t.stop();
    let _ = i.kill();
    let _ = i.wait();
    assert!(f.status.success(), "{}", f.stderr);
    let at = f
        .stdout
        .iter()
        .position(|l| l.starts_with(&format!("pid = {pid} ")))
        .unwrap_or_else(|| panic!("no section for pid {pid}: {:?}", f.stdout));
    assert!(f.stdout[at + 1].contains("usecs") && f.stdout[at + 1].contains("distribution"));
    assert!(!f
        .stdout
        .iter()
        .any(|l| l.starts_with(&format!("pid = {} ", i.id()))));

    // -L: each of the workload's three threads has its own histogram.
    let w = workload();
    let t = start("runqlat", &["--json", "-L"]);
    let tids = go_and_wait(w);
    let f = t.stop();
    assert_eq!(tids.len(), 3, "workload printed {tids:?}");
    let seen: Vec<u64> = f
        .json()
        .iter()
        .map(|h| h["tid"].as_u64().unwrap())
        .collect();
    for tid in tids {
        assert!(
            seen.contains(&tid),
            "no histogram for tid {tid}: {:?}",
            f.stdout
        );
    }
}

#[test]
fn pidns_and_interval() {
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let inum: u64 = ns
        .to_string_lossy()
        .trim_start_matches("pid:[")
        .trim_end_matches(']')
        .parse()
        .unwrap();
    let t = start("runqlat", &["--pidnss", "--json", "-m", "0.3", "2"]);
    let w = workload();
    go_and_wait(w);
    let f = t.wait(Duration::from_secs(10));
    assert!(f.status.success(), "{}", f.stderr);
    let hists = f.json();
    assert!(
        hists
            .iter()
            .any(|h| h["pidns"] == inum && h["unit"] == "msecs"),
        "{:?}",
        f.stdout
    );
}

#[test]
fn bad_input() {
    assert_one_line_error("runqlat", &["-P", "-L"], 2, "cannot be used with");
    assert_one_line_error("runqlat", &["-p", "abc"], 2, "not a process id");
    assert_one_line_error(
        "runqlat",
        &["--cgroup", "/sys/fs/cgroup"],
        2,
        "not supported by runqlat",
    );
    assert_one_line_error("runqlat", &["1", "x"], 2, "not a positive count");
}

/// The raw_tp alternative (kernels whose BTF lacks the tp_btf targets) is
/// never chosen here, so load it directly and check it counts the same way.
#[test]
fn raw_tp_alternative_counts() {
    use ironscope::skel::runqlat::RunqlatSkelBuilder;
    use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
    use libbpf_rs::MapCore;

    require_root();
    let mut storage = std::mem::MaybeUninit::uninit();
    let mut open = RunqlatSkelBuilder::default()
        .open(&mut storage)
        .expect("open");
    for mut p in open.open_object_mut().progs_mut() {
        let raw = p.name().to_string_lossy().starts_with("raw_tp_");
        p.set_autoload(raw);
    }
    let mut skel = open.load().expect("load raw_tp programs");
    skel.attach().expect("attach raw_tp programs");
    let w = workload();
    go_and_wait(w);
    let hists = &skel.maps.hists;
    let v = hists
        .lookup(&0u32.to_ne_bytes(), libbpf_rs::MapFlags::ANY)
        .expect("lookup")
        .expect("no histogram after a busy workload");
    let slots: u64 = v[..32 * 8]
        .chunks(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
        .sum();
    assert!(slots >= 200, "{slots} samples");
}
