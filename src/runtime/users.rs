//! User names from /etc/passwd, read directly: glibc's NSS (getpwuid) does
//! not work in a static binary.

use std::collections::HashMap;

fn entries() -> Vec<(String, u32)> {
    let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((name.to_string(), uid))
        })
        .collect()
}

pub fn uid_of(name: &str) -> Option<u32> {
    entries()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, u)| u)
}

/// uid -> name, for tools that print user names.
pub fn names() -> HashMap<u32, String> {
    entries().into_iter().map(|(n, u)| (u, n)).collect()
}
