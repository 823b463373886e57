//! Hostile records: every tool's decoder and formatters (its `fuzz_record`,
//! collected by build.rs into `ironscope::tools::FUZZ`) get arbitrary bytes:
//! truncated records, non-UTF-8 names, control characters and terminal
//! escape sequences. No panic; no control character (C0, DEL, C1) in any row
//! or JSON line; every JSON line parses, with snake_case keys.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::suite;

/// Cases per tool; PROPTEST_CASES overrides.
const CASES: u32 = 2000;

/// Pieces that break terminals or parsers.
const NASTY: &[&[u8]] = &[
    b"\x1b[2J\x1b[H",          // clear screen
    b"\x1b]0;pwned\x07",       // set window title (OSC)
    b"\x1b]8;;http://x\x1b\\", // hyperlink (OSC 8, ST)
    "\u{9b}31m".as_bytes(),    // C1 CSI
    "\u{85}".as_bytes(),       // C1 NEL
    "\u{202e}".as_bytes(),     // right-to-left override
    b"\r\n\t\x08\x7f",
    b"\"},{\"pid\":1}\\",
    b"\xff\xfe\xc0\xaf\xed\xa0\x80", // invalid UTF-8, overlong, surrogate
    b"\xe2\x82",                     // truncated UTF-8
    b"\0\0\0\0",
    b"\xff\xff\xff\xff", // huge sizes and counts
];

/// Random bytes with a third of them turned into the bytes that matter:
/// NUL, 0xff, ESC, '[', newline, the C1 CSI pair 0xc2 0x9b, printable ASCII.
fn skewed(bytes: Vec<u8>) -> Vec<u8> {
    const HOT: &[u8] = &[
        0, 0, 0, 0xff, 0xff, 0x1b, b'[', b'\n', 0xc2, 0x9b, b'a', b'/', b'"', b'\\',
    ];
    bytes
        .into_iter()
        .map(|b| {
            if b % 3 == 0 {
                HOT[(b as usize / 3) % HOT.len()]
            } else {
                b
            }
        })
        .collect()
}

/// Mostly zero and small values, as real records are: type tags, address
/// families and op codes then take their valid values often enough for
/// the decoders to accept records and render their hostile strings.
fn small(bytes: Vec<u8>) -> Vec<u8> {
    const HOT: &[u8] = &[0x1b, b'[', b'\n', 0xc2, 0x9b, 0xff, 0x7f, b'"'];
    bytes
        .into_iter()
        .map(|b| match b {
            0..=127 => 0,
            128..=207 => b % 16 + 1,
            208..=231 => HOT[b as usize % HOT.len()],
            _ => b,
        })
        .collect()
}

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let raw = prop::collection::vec(any::<u8>(), 0..10_000).prop_map(skewed);
    let sparse = prop::collection::vec(any::<u8>(), 0..4096).prop_map(small);
    let piece = prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..64),
        2 => prop::collection::vec(Just(0u8), 0..64),
        2 => prop::sample::select(NASTY).prop_map(|s| s.to_vec()),
        1 => prop::collection::vec(0x20u8..0x7f, 0..256),
    ];
    let pieces = prop::collection::vec(piece, 0..64).prop_map(|v| v.concat());
    prop_oneof![raw, sparse, pieces]
}

fn is_terminal_control(c: char) -> bool {
    (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32))
}

fn snake_case_keys(v: &serde_json::Value) -> Result<(), String> {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let ok = k.starts_with(|c: char| c.is_ascii_lowercase())
                    && k.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !ok {
                    return Err(format!("JSON key {k:?} is not snake_case"));
                }
                snake_case_keys(v)?;
            }
            Ok(())
        }
        serde_json::Value::Array(a) => a.iter().try_for_each(snake_case_keys),
        _ => Ok(()),
    }
}

/// JSON lines are objects as `output::json_string` renders them; anything
/// else is a table line. (A row would need a name starting `{"` and a last
/// column ending `}` to be mistaken for one.)
fn is_json_line(l: &str) -> bool {
    l.starts_with("{\"") && l.ends_with('}')
}

/// What every rendered line must satisfy.
pub fn check_lines(lines: &[String]) -> Result<(), String> {
    for l in lines {
        if let Some(c) = l.chars().find(|&c| is_terminal_control(c)) {
            return Err(format!("raw control character U+{:04X} in {l:?}", c as u32));
        }
        if is_json_line(l) {
            let v: serde_json::Value =
                serde_json::from_str(l).map_err(|e| format!("invalid JSON ({e}): {l:?}"))?;
            if !v.is_object() {
                return Err(format!("JSON line is not an object: {l:?}"));
            }
            snake_case_keys(&v)?;
        }
    }
    Ok(())
}

fn runner() -> TestRunner {
    let config = Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(CASES),
        // No regression files: the suite writes nothing into the tree.
        failure_persistence: None,
        ..Config::default()
    };
    // A fixed seed: the same cases on every run.
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

#[test]
fn every_record_decoder_survives_hostile_bytes() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut failures = Vec::new();
    for (name, fuzz) in ironscope::tools::FUZZ {
        let mut r = runner();
        // A hook that never renders anything would pass vacuously.
        let rendered = AtomicUsize::new(0);
        let result = r.run(&hostile_bytes(), |data| {
            let lines = fuzz(&data);
            if lines.iter().any(|l| is_json_line(l)) && lines.iter().any(|l| !is_json_line(l)) {
                rendered.fetch_add(1, Ordering::Relaxed);
            }
            check_lines(&lines).map_err(TestCaseError::fail)
        });
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        } else if rendered.load(Ordering::Relaxed) == 0 {
            failures.push(format!(
                "{name}: fuzz_record rendered no row and JSON line for any input"
            ));
        }
    }
    suite::assert_all_ok("hostile records", failures);
}

/// The convention's coverage: a tool that streams ring records exports
/// `fuzz_record`, and build.rs found it.
#[test]
fn every_ring_tool_has_a_fuzz_hook() {
    let fuzzed: Vec<&str> = ironscope::tools::FUZZ.iter().map(|(n, _)| *n).collect();
    let missing: Vec<&str> = suite::ring_tools()
        .iter()
        .map(|t| t.name)
        .filter(|n| !fuzzed.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "ring-buffer tools without `pub fn fuzz_record(data: &[u8]) -> Vec<String>` \
         (decode one record, return its table line(s) and JSON line(s)): {missing:?}"
    );
    assert!(fuzzed.contains(&"execsnoop"));
    // The detection itself: execsnoop calls ctx.run_ring directly.
    let ring: Vec<&str> = suite::ring_tools().iter().map(|t| t.name).collect();
    assert!(ring.contains(&"execsnoop"), "ring tools found: {ring:?}");
}

/// The shared escaping itself, on arbitrary bytes.
#[test]
fn shared_escaping_is_terminal_safe() {
    use ironscope::runtime::{escape, output};
    let mut r = runner();
    r.run(&hostile_bytes(), |data| {
        let row = format!("{} {}", escape::printable(&data), escape::quoted(&data));
        let json = output::json_string(&serde_json::json!({ "s": escape::json_text(&data) }));
        check_lines(&[row, json.clone()]).map_err(TestCaseError::fail)?;
        let back: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Ok(s) = std::str::from_utf8(&data) {
            prop_assert_eq!(
                back["s"].as_str(),
                Some(s),
                "valid UTF-8 must round-trip through JSON"
            );
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
}
