//! Name patterns as bcc's generic tools take them: `*` wildcards by default
//! (`vfs_*`, `*tcp*send*`), or with `-r` a regular expression matched from
//! the start of the name, as Python's re.match does (`^vfs.*`, `(read|write)$`).

use anyhow::Result;

use crate::runtime::error::usage;

#[derive(Debug, Clone)]
pub enum Matcher {
    /// No wildcard: the name itself.
    Exact(String),
    /// `*` matches any run of characters, `?` one character.
    Glob(String),
    Regex(regex::Regex),
}

impl Matcher {
    pub fn new(pattern: &str, regex: bool) -> Result<Matcher> {
        if pattern.is_empty() {
            return Err(usage("an empty pattern matches nothing"));
        }
        if regex {
            // Anchored at the start only, like re.match.
            let re = regex::Regex::new(&format!("^(?:{pattern})")).map_err(|e| {
                usage(format!(
                    "bad regular expression '{pattern}': {}",
                    last_line(&e.to_string())
                ))
            })?;
            return Ok(Matcher::Regex(re));
        }
        if pattern.contains(['*', '?']) {
            Ok(Matcher::Glob(pattern.to_string()))
        } else {
            Ok(Matcher::Exact(pattern.to_string()))
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == name,
            Matcher::Glob(g) => glob(g.as_bytes(), name.as_bytes()),
            Matcher::Regex(r) => r.is_match(name),
        }
    }

    /// The single name this pattern stands for, if it has no wildcard.
    pub fn exact(&self) -> Option<&str> {
        match self {
            Matcher::Exact(s) => Some(s),
            _ => None,
        }
    }
}

/// regex's errors end with the one line that says what is wrong.
fn last_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("invalid")
        .to_string()
}

/// Wildcard match with backtracking to the last `*` (linear in practice).
pub fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(b"vfs_*", b"vfs_read"));
        assert!(glob(b"*tcp*send*", b"__tcp_v4_send_check"));
        assert!(!glob(b"*tcp*send*", b"tcp_recvmsg"));
        assert!(glob(b"*", b""));
        assert!(glob(b"a?c", b"abc"));
        assert!(!glob(b"a?c", b"ac"));
        assert!(glob(b"sched_*", b"sched_"));
        assert!(!glob(b"vfs_read", b"vfs_readv"));
        assert!(glob(b"*a*a*a*b", b"aaaaaaaaaaaaab"));
    }

    #[test]
    fn matchers() {
        let m = Matcher::new("vfs_read", false).unwrap();
        assert_eq!(m.exact(), Some("vfs_read"));
        assert!(m.matches("vfs_read") && !m.matches("vfs_readv"));
        let r = Matcher::new("(write|read)$", true).unwrap();
        assert!(
            r.matches("read") && r.matches("write") && !r.matches("pread") && !r.matches("readv")
        );
        let r = Matcher::new("vfs", true).unwrap();
        assert!(r.matches("vfs_read") && !r.matches("do_vfs"));
        assert!(Matcher::new("(", true).is_err());
        assert!(Matcher::new("", false).is_err());
    }
}
