//! profile on this host: a CPU-bound program with a known function name
//! must dominate the samples of its pid, named through its PIE mapping; a
//! program living in the kernel must show kernel frames from kallsyms.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const SPIN_C: &str = "volatile unsigned long sink;\n\
__attribute__((noinline)) void ironscope_spin_target(void) { for (;;) sink++; }\n\
int main(void) { ironscope_spin_target(); return 0; }\n";

/// A test program that spins in `ironscope_spin_target` forever; -O0 keeps
/// frame pointers, so main shows up as its caller.
fn spinner() -> PathBuf {
    build_c("spin", SPIN_C, &["-O0", "-g"])
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command) -> Killed {
    Killed(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn workload"),
    )
}

fn count_of(line: &str) -> u64 {
    line.rsplit(' ')
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no count: {line}"))
}

#[test]
fn folded_output_is_dominated_by_the_spinning_function() {
    let spin = spawn(&mut Command::new(spinner()));
    // Another busy process that -p must keep out.
    let dd = spawn(Command::new("dd").args(["if=/dev/zero", "of=/dev/null", "bs=1"]));
    let pid = spin.0.id().to_string();
    let t = start("profile", &["-p", &pid, "-f", "-F", "199", "2"]);
    let f = t.wait(Duration::from_secs(30));
    assert!(f.status.success(), "{}", f.stderr);
    assert!(!f.stdout.is_empty(), "no samples: {}", f.stderr);
    let top = f.stdout.iter().max_by_key(|l| count_of(l)).unwrap();
    assert!(top.starts_with("spin;"), "{top}");
    assert!(
        top.contains("main;ironscope_spin_target"),
        "dominant stack: {top}\nall: {:#?}",
        f.stdout
    );
    let total: u64 = f.stdout.iter().map(|l| count_of(l)).sum();
    let on_target: u64 = f
        .stdout
        .iter()
        .filter(|l| l.contains("ironscope_spin_target"))
        .map(|l| count_of(l))
        .sum();
    assert!(
        on_target * 10 >= total * 9,
        "{on_target} of {total} samples in the target: {:#?}",
        f.stdout
    );
    assert!(
        f.stdout.iter().all(|l| l.starts_with("spin;")),
        "-p let others in: {:#?}",
        f.stdout
    );
    drop(dd);
    assert_no_bpf_left(&f);
}

#[test]
fn json_frames_name_the_function_and_its_file() {
    let bin = spinner();
    let spin = spawn(&mut Command::new(&bin));
    let pid = spin.0.id();
    let t = start(
        "profile",
        &["--json", "-p", &pid.to_string(), "-F", "199", "-U", "2"],
    );
    let f = t.wait(Duration::from_secs(30));
    assert!(f.status.success(), "{}", f.stderr);
    let rows = f.json();
    assert!(!rows.is_empty(), "no samples: {}", f.stderr);
    for r in &rows {
        assert_eq!(r["pid"], pid, "{r}");
        assert_eq!(r["comm"], "spin", "{r}");
        // -U: no kernel frames at all.
        assert!(
            r["frames"]
                .as_array()
                .unwrap()
                .iter()
                .all(|fr| fr["space"] == "user"),
            "{r}"
        );
    }
    let top = rows
        .iter()
        .max_by_key(|r| r["count"].as_u64().unwrap())
        .unwrap();
    let leaf = &top["frames"][0];
    assert_eq!(leaf["func"], "ironscope_spin_target", "{top}");
    assert_eq!(leaf["module"], bin.to_str().unwrap(), "{top}");
    assert!(leaf["addr"].as_str().unwrap().starts_with("0x"), "{top}");
    assert_eq!(top["frames"][1]["func"], "main", "{top}");
}

#[test]
fn kernel_stacks_are_named_from_kallsyms() {
    // dd between /dev/zero and /dev/null spends its time in read/write syscalls.
    let dd = spawn(Command::new("dd").args(["if=/dev/zero", "of=/dev/null", "bs=1"]));
    let pid = dd.0.id().to_string();
    let t = start(
        "profile",
        &["-K", "-a", "-d", "-f", "-p", &pid, "-F", "199", "2"],
    );
    let f = t.wait(Duration::from_secs(30));
    assert!(f.status.success(), "{}", f.stderr);
    assert!(
        f.stdout
            .iter()
            .any(|l| l.starts_with("dd;") && l.contains(";do_syscall_64_[k];")),
        "no named kernel stack: {:#?}",
        f.stdout
    );
    // -K: no user frames, so no delimiter either.
    assert!(
        f.stdout.iter().all(|l| !l.contains(";-;")),
        "{:#?}",
        f.stdout
    );
}

#[test]
fn table_output_and_bad_input() {
    let spin = spawn(&mut Command::new(spinner()));
    let pid = spin.0.id().to_string();
    let t = start("profile", &["-p", &pid, "-F", "99", "1"]);
    let f = t.wait(Duration::from_secs(30));
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0],
        format!("Sampling at 99 Hertz of PID {pid} by user + kernel stack for 1 secs.")
    );
    let proc_line = format!("    -                spin ({pid})");
    let i = f
        .stdout
        .iter()
        .rposition(|l| *l == proc_line)
        .unwrap_or_else(|| panic!("{:#?}", f.stdout));
    assert!(
        f.stdout[i - 1].trim() == "main"
            || f.stdout[..i]
                .iter()
                .any(|l| l.trim() == "ironscope_spin_target")
    );
    assert!(
        f.stdout[i + 1].trim().parse::<u64>().is_ok(),
        "{:#?}",
        f.stdout
    );

    assert_one_line_error("profile", &["-C", "4096"], 2, "not online");
    assert_one_line_error("profile", &["-U", "-K"], 2, "cannot be used with");
    assert_one_line_error("profile", &["-F", "0"], 2, "not a positive count");
    assert_one_line_error(
        "profile",
        &["-F", "100000000"],
        2,
        "perf_event_max_sample_rate",
    );
    assert_one_line_error(
        "profile",
        &["-p", "999999999"],
        2,
        "no process with id 999999999",
    );
}
