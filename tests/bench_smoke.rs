//! The benchmark harness still works (benchmarks themselves stay out of
//! `make test`): `bench/run.sh --smoke` runs one short round of execsnoop
//! against the baseline (and libbpf-tools' execsnoop when installed), and
//! its report and samples must parse with plausible values.

mod common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn samples<'a>(results: &'a Value, metric: &str, imp: &str) -> &'a [Value] {
    results["samples"]["execsnoop"][metric][imp]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("no {metric} samples for {imp}: {results:#}"))
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[test]
fn bench_smoke_round_parses() {
    common::require_root();
    let bin_dir = common::bin("execsnoop")
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let tmp = std::env::temp_dir();
    let tag = std::process::id();
    let md_path: PathBuf = tmp.join(format!("ironscope-bench-smoke-{tag}.md"));
    let json_path: PathBuf = tmp.join(format!("ironscope-bench-smoke-{tag}.json"));
    let out = Command::new("bash")
        .arg("bench/run.sh")
        .arg("--smoke")
        .arg("--out")
        .arg(&md_path)
        .arg("--json")
        .arg(&json_path)
        .env("BENCH_BIN_DIR", &bin_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run bench/run.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench/run.sh --smoke failed: {stderr}"
    );

    let md = std::fs::read_to_string(&md_path).expect("markdown report");
    let json = std::fs::read_to_string(&json_path).expect("JSON samples");
    let _ = std::fs::remove_file(&md_path);
    let _ = std::fs::remove_file(&json_path);
    let r: Value = serde_json::from_str(&json).expect("samples are JSON");

    assert!(
        r["errors"]["execsnoop"]["ours"].is_null(),
        "ours did not run: {}",
        r["errors"]
    );
    for metric in ["overhead", "cost", "startup", "file_paced", "file_max"] {
        for s in samples(&r, metric, "ours") {
            assert!(s.get("error").is_none(), "{metric}: {s}");
        }
    }
    let base = num(&samples(&r, "overhead", "base")[0], "ops_per_s");
    let ours = num(&samples(&r, "overhead", "ours")[0], "ops_per_s");
    assert!(base > 10.0 && ours > 10.0, "exec loop rates: {base} {ours}");

    let cost = &samples(&r, "cost", "ours")[0];
    assert!(
        num(cost, "ns_per_op") > 0.0,
        "no BPF run time counted: {cost}"
    );
    assert!(num(cost, "kmem") > 4096.0, "no kernel memory found: {cost}");
    assert!(num(cost, "rss_kib") > 100.0, "no RSS read: {cost}");

    let startup = num(&samples(&r, "startup", "ours")[0], "startup_ms");
    assert!(startup > 0.0 && startup < 30_000.0, "startup {startup} ms");

    // A few paced execs fit any ring: all must be reported.
    let paced = &samples(&r, "file_paced", "ours")[0];
    assert_eq!(num(paced, "captured"), num(paced, "k"), "{paced}");
    let lat = paced["file_latency_ms"].as_array().expect("latencies");
    assert!(
        !lat.is_empty() && lat.iter().all(Value::is_f64),
        "a marked exec's line never reached the file: {paced}"
    );

    // The markdown has every table, each with an execsnoop row.
    for title in [
        "### Targets",
        "### Overhead",
        "### BPF cost per event",
        "### Startup",
        "### Capture",
        "### Output latency",
        "### Memory",
        "### Binary size",
    ] {
        let start = md
            .find(title)
            .unwrap_or_else(|| panic!("no {title} in:\n{md}"));
        let table = &md[start..];
        let table = &table[..table[4..].find("### ").map_or(table.len(), |e| e + 4)];
        assert!(
            table.contains("| execsnoop"),
            "{title} has no execsnoop row:\n{table}"
        );
    }
    assert!(md.contains("execsnoop: kernel memory <= 4 MiB"), "{md}");
}
