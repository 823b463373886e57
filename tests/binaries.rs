//! The shipped binaries: static, and the multicall dispatches by name.

mod common;

use std::process::Command;

use common::bin;

fn tools() -> Vec<String> {
    let out = Command::new(bin("ironscope"))
        .arg("--list")
        .output()
        .expect("ironscope --list");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains(" alias of "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn every_binary_is_static() {
    let mut names = tools();
    names.push("ironscope".into());
    for name in names {
        let p = bin(&name);
        let file = Command::new("file")
            .arg("-L")
            .arg(&p)
            .output()
            .expect("file(1)");
        let file = String::from_utf8_lossy(&file.stdout);
        assert!(
            file.contains("statically linked") || file.contains("static-pie linked"),
            "{file}"
        );
        let ldd = Command::new("ldd").arg(&p).output().expect("ldd");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&ldd.stdout),
            String::from_utf8_lossy(&ldd.stderr)
        );
        assert!(
            text.contains("statically linked") || text.contains("not a dynamic executable"),
            "{}: {text}",
            p.display()
        );
    }
}

/// A tool's own binary links that tool, not the whole suite: an operator
/// copying one tool onto a host should not carry the other eighteen.
#[test]
fn a_tool_binary_holds_one_tool() {
    let size = |name: &str| {
        std::fs::metadata(bin(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .len()
    };
    let all = size("ironscope");
    for name in tools() {
        let one = size(&name);
        // The biggest (funccount, profile: symbolisation) are near 60%.
        assert!(
            one * 4 < all * 3,
            "{name} is {one} bytes, the multicall {all}: it links other tools"
        );
    }
}

#[test]
fn multicall_lists_and_dispatches() {
    let names = tools();
    assert!(names.iter().any(|n| n == "execsnoop"), "{names:?}");
    // `ironscope <tool> --help` and a symlink named after the tool.
    let out = Command::new(bin("ironscope"))
        .args(["execsnoop", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: execsnoop"));
    let dir = std::env::temp_dir().join(format!("ironscope-link-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("execsnoop");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(bin("ironscope"), &link).unwrap();
    let out = Command::new(&link).arg("--help").output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: execsnoop"));
    // Every tool's own binary has --help with examples.
    for n in &names {
        let out = Command::new(bin(n)).arg("--help").output().unwrap();
        assert!(out.status.success(), "{n} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Examples:") || text.contains("EXAMPLES"),
            "{n} --help has no examples"
        );
    }
    let out = Command::new(bin("ironscope"))
        .arg("nosuchtool")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}
