//! Bad input for every tool: one line on stderr starting "<tool>: " that names
//! the problem, exit 2 for usage (1 for what the system lacks), never a
//! panic, a core or libbpf's log.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use crate::common;
use crate::suite::{self, Interval, ToolInfo};

struct Case {
    /// The name the tool is called as (a tool or an alias).
    called: String,
    args: Vec<String>,
    env: Option<(&'static str, String)>,
    unprivileged: bool,
    /// Accepted exit codes.
    codes: &'static [i32],
    /// Words the line must contain (case-insensitive).
    needles: Vec<String>,
    /// A tool that starts (exit 0 after --duration) is fine for this case:
    /// e.g. `--attach fentry` on a kernel where fentry works.
    may_run: bool,
}

fn case(
    called: &str,
    base: &[String],
    extra: &[&str],
    codes: &'static [i32],
    needles: &[&str],
) -> Case {
    let mut args = base.to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    Case {
        called: called.to_string(),
        args,
        env: None,
        unprivileged: false,
        codes,
        needles: needles.iter().map(|s| s.to_string()).collect(),
        may_run: false,
    }
}

const USAGE: &[i32] = &[2];

fn generic_cases(t: &ToolInfo, nopid: &str) -> Vec<Case> {
    let base = t.run_args();
    let n = t.name;
    let mut v = vec![
        case(n, &base, &["--pid", "abc"], USAGE, &["--pid", "abc"]),
        case(n, &base, &["--pid", "-1"], USAGE, &["--pid", "-1"]),
        case(
            n,
            &base,
            &["--pid", "4294967296"],
            USAGE,
            &["--pid", "4294967296"],
        ),
        case(n, &base, &["--pid", nopid], USAGE, &["--pid", nopid]),
        case(
            n,
            &base,
            &["--duration", "-1"],
            USAGE,
            &["--duration", "-1"],
        ),
        case(
            n,
            &base,
            &["--duration", "abc"],
            USAGE,
            &["--duration", "abc"],
        ),
        case(n, &base, &["--duration", "0"], USAGE, &["--duration", "0"]),
        // A tool without --cgroup support may say that instead of the path.
        case(
            n,
            &base,
            &["--cgroup", "/nonexistent"],
            USAGE,
            &["--cgroup"],
        ),
        case(n, &base, &["--uid", "abc"], USAGE, &["--uid", "abc"]),
        case(n, &base, &["--uid", "-1"], USAGE, &["--uid", "-1"]),
        case(n, &base, &["--tid", "abc"], USAGE, &["--tid", "abc"]),
        case(
            n,
            &base,
            &["--comm", "0123456789abcdef"],
            USAGE,
            &["--comm"],
        ),
        case(
            n,
            &base,
            &["--attach", "nosuchkind"],
            USAGE,
            &["--attach", "nosuchkind"],
        ),
        case(n, &base, &["--no-such-flag"], USAGE, &["--no-such-flag"]),
    ];
    // This host has no working fentry: the tool must say so (or that it has
    // no fentry path at all). Bounded by --duration should it run after all.
    let mut c = case(
        n,
        &base,
        &["--attach", "fentry", "--duration", "2"],
        &[1, 2],
        &["fentry"],
    );
    c.may_run = true;
    v.push(c);
    let mut c = case(n, &base, &[], &[1], &["CAP_BPF", "CAP_PERFMON"]);
    c.unprivileged = true;
    v.push(c);
    let btf = "/nonexistent/ironscope-test.btf";
    let mut c = case(n, &base, &[], &[1], &[btf]);
    c.env = Some(("IRONSCOPE_BTF", btf.to_string()));
    v.push(c);
    // Bad intervals, wherever the tool takes one.
    for bad in ["0", "-1", "abc"] {
        match &t.interval {
            Interval::None => {}
            Interval::Positional => {
                let mut args: Vec<String> = base.clone();
                if let Some(p) = args.iter().position(|a| a == "1") {
                    args[p] = bad.into();
                } else {
                    args.push(bad.into());
                }
                // With digit flags (-4/-6) "-1" is an unknown flag rather
                // than a bad interval: the line names it either way.
                v.push(case(n, &args, &[], USAGE, &[bad]));
            }
            Interval::Flag(f) => {
                // In place of the good interval run_args gave.
                let mut args: Vec<String> = base.clone();
                if let Some(p) = args.iter().position(|a| a == f) {
                    args.drain(p..(p + 2).min(args.len()));
                }
                v.push(case(n, &args, &[f.as_str(), bad], USAGE, &[bad]));
            }
        }
    }
    // An alias must name itself in its errors.
    for a in t.aliases {
        v.push(case(
            a,
            &base,
            &["--no-such-flag"],
            USAGE,
            &["--no-such-flag"],
        ));
        v.push(case(a, &base, &["--pid", "abc"], USAGE, &["abc"]));
    }
    v
}

fn check(c: &Case) -> Result<(), String> {
    let mut cmd = suite::command_for(&c.called);
    cmd.args(&c.args)
        .env_remove("IRONSCOPE_READY")
        .env_remove("RUST_BACKTRACE");
    if let Some((k, v)) = &c.env {
        cmd.env(k, v);
    }
    if c.unprivileged {
        // Dropping root this way also drops every capability.
        cmd.uid(65534).gid(65534).current_dir("/");
    }
    let what = format!(
        "{}{} {}",
        if c.unprivileged {
            "(as uid 65534) "
        } else {
            ""
        },
        c.called,
        c.args.join(" ")
    );
    let o = suite::run_bounded(&mut cmd, Duration::from_secs(30))
        .map_err(|e| format!("{what}: {e}"))?;
    if c.may_run && o.status.code() == Some(0) {
        return Ok(());
    }
    let lines: Vec<&str> = o.stderr.lines().collect();
    let mut problems = Vec::new();
    match o.status.code() {
        Some(code) if c.codes.contains(&code) => {}
        _ => problems.push(format!(
            "{} (want exit {:?})",
            suite::describe(&o.status),
            c.codes
        )),
    }
    if lines.len() != 1 {
        problems.push(format!("{} stderr lines (want 1)", lines.len()));
    }
    if let Some(first) = lines.first() {
        if !first.starts_with(&format!("{}: ", c.called)) {
            problems.push(format!("line does not start with '{}: '", c.called));
        }
        let low = first.to_lowercase();
        for n in &c.needles {
            if !low.contains(&n.to_lowercase()) {
                problems.push(format!("line does not name '{n}'"));
            }
        }
    }
    if o.stderr.contains("panicked") || o.stderr.contains("libbpf:") {
        problems.push("panic or libbpf log".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {}; stderr: {:?}",
            problems.join(", "),
            o.stderr
        ))
    }
}

#[test]
fn bad_input_every_tool() {
    common::require_root();
    let nopid = suite::free_pid().to_string();
    let mut cases: Vec<Case> = suite::tools()
        .iter()
        .flat_map(|t| generic_cases(t, &nopid))
        .collect();
    for (name, args, needle) in suite::BAD_ARGS {
        let known = suite::tools()
            .iter()
            .any(|t| t.name == *name || t.aliases.contains(name));
        if known {
            // Names checked against the kernel (funccount's patterns) may
            // fail with 1 rather than as usage.
            cases.push(case(name, &[], args, &[1, 2], &[needle]));
        }
    }
    let failures: Vec<String> = suite::par_map(cases, 4, |c| check(&c))
        .into_iter()
        .filter_map(Result::err)
        .collect();
    suite::assert_all_ok("bad input", failures);
}

/// `ironscope --list` shows exactly the registry (the suite's tool list).
#[test]
fn list_matches_registry() {
    let out = std::process::Command::new(suite::bin_dir().join("ironscope"))
        .arg("--list")
        .output()
        .expect("ironscope --list");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut listed: Vec<(String, Option<String>)> = text
        .lines()
        .map(|l| {
            let (name, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let alias_of = rest.trim().strip_prefix("alias of ").map(str::to_string);
            (name.to_string(), alias_of)
        })
        .collect();
    let mut want: Vec<(String, Option<String>)> = Vec::new();
    for t in ironscope::tools::ALL {
        want.push((t.name.to_string(), None));
        for a in t.aliases {
            want.push((a.to_string(), Some(t.name.to_string())));
        }
    }
    listed.sort();
    want.sort();
    assert_eq!(listed, want, "ironscope --list:\n{text}");
    assert!(!want.is_empty());
    // Every tool has its own binary too (make install copies them).
    for t in ironscope::tools::ALL {
        assert!(
            suite::bin_dir().join(t.name).exists(),
            "no binary for {} (src/bin/{}.rs)",
            t.name,
            t.name
        );
    }
}
