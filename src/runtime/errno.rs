//! errno numbers and names ("ENOENT"), from the table src/runtime/gen-tables.sh
//! generates out of the kernel UAPI headers (`make tables`), plus the few
//! kernel-internal values a syscall exit tracepoint can show before the
//! kernel turns them into something else.

#[path = "errno_generic.rs"]
mod table;

/// Kernel-internal errnos (include/linux/errno.h, not part of the UAPI
/// headers): a syscall interrupted by a signal leaves with ERESTART* at
/// raw_syscalls:sys_exit, and ENOTSUPP leaks out of some drivers.
static INTERNAL: &[(i32, &str, &str)] = &[
    (512, "ERESTARTSYS", "Restart the call (kernel-internal)"),
    (513, "ERESTARTNOINTR", "Restart the call (kernel-internal)"),
    (
        514,
        "ERESTARTNOHAND",
        "Restart if no handler (kernel-internal)",
    ),
    (515, "ENOIOCTLCMD", "No ioctl command (kernel-internal)"),
    (
        516,
        "ERESTART_RESTARTBLOCK",
        "Restart by calling restart_syscall (kernel-internal)",
    ),
    (
        524,
        "ENOTSUPP",
        "Operation is not supported (kernel-internal)",
    ),
];

fn entries() -> impl Iterator<Item = &'static (i32, &'static str, &'static str)> {
    table::ERRNOS.iter().chain(INTERNAL.iter())
}

/// The name of a positive errno, e.g. 2 -> "ENOENT".
pub fn name(errno: i32) -> Option<&'static str> {
    entries().find(|e| e.0 == errno).map(|e| e.1)
}

/// The kernel's description of a positive errno.
pub fn describe(errno: i32) -> Option<&'static str> {
    entries().find(|e| e.0 == errno).map(|e| e.2)
}

/// An errno by name (any case, aliases such as EWOULDBLOCK too).
pub fn number(name: &str) -> Option<i32> {
    let upper = name.to_ascii_uppercase();
    let canonical = table::ALIASES
        .iter()
        .find(|a| a.0 == upper)
        .map_or(upper.as_str(), |a| a.1);
    entries().find(|e| e.1 == canonical).map(|e| e.0)
}

/// A user's `-e` value: a name ("ENOENT", "enoent") or a positive number.
pub fn parse(s: &str) -> Result<i32, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i64>() {
        return match i32::try_from(n) {
            Ok(n) if n > 0 && n < 4096 => Ok(n),
            _ => Err(format!("errno {n} is out of range (1 to 4095)")),
        };
    }
    number(t).ok_or_else(|| format!("'{s}' is not an errno name (e.g. ENOENT) or number"))
}

/// The name, or the number as text when the table does not know it.
pub fn display(errno: i32) -> String {
    match name(errno) {
        Some(n) => n.to_string(),
        None => errno.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(name(1), Some("EPERM"));
        assert_eq!(name(2), Some("ENOENT"));
        assert_eq!(name(11), Some("EAGAIN"));
        assert_eq!(name(13), Some("EACCES"));
        assert_eq!(name(110), Some("ETIMEDOUT"));
        assert_eq!(name(512), Some("ERESTARTSYS"));
        assert_eq!(name(0), None);
        assert_eq!(describe(2), Some("No such file or directory"));
        assert_eq!(number("ENOENT"), Some(2));
        assert_eq!(number("enoent"), Some(2));
        assert_eq!(number("EWOULDBLOCK"), Some(11));
        assert_eq!(number("EDEADLOCK"), Some(35));
        assert_eq!(number("ENOPE"), None);
        assert_eq!(parse("13"), Ok(13));
        assert_eq!(parse("EEXIST"), Ok(17));
        assert!(parse("0").is_err());
        assert!(parse("-2").is_err());
        assert!(parse("EWHAT").is_err());
        assert_eq!(display(2), "ENOENT");
        assert_eq!(display(4000), "4000");
    }

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(table::ERRNOS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    /// The committed tables are what the generator makes from the headers
    /// installed here: a hand edit or a forgotten `make tables` fails.
    #[test]
    fn committed_tables_match_the_headers() {
        let root = env!("CARGO_MANIFEST_DIR");
        let headers = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
        if !std::path::Path::new(headers).exists() {
            eprintln!("skipped: no {headers} (install linux-libc-dev)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("ironscope-tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let st = std::process::Command::new("sh")
            .arg(format!("{root}/src/runtime/gen-tables.sh"))
            .env("TABLES_OUT", &dir)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        // The header line names the package version, which moves with
        // Debian's updates; the tables themselves are what must match.
        let body = |t: String| -> String {
            t.lines()
                .filter(|l| !l.starts_with("// @generated"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for f in ["syscalls_x86_64.rs", "errno_generic.rs"] {
            let fresh = body(std::fs::read_to_string(dir.join(f)).unwrap());
            let committed =
                body(std::fs::read_to_string(format!("{root}/src/runtime/{f}")).unwrap());
            assert!(
                fresh == committed,
                "src/runtime/{f} is stale: run `make tables`"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
