//! Syscall numbers and names for the architecture we are built for, from
//! the table src/runtime/gen-tables.sh generates out of the kernel UAPI headers
//! (`make tables`). Numbers the table does not know (a kernel newer than
//! the headers) have no name; callers show them as numbers.

#[cfg(target_arch = "x86_64")]
#[path = "syscalls_x86_64.rs"]
mod table;

#[cfg(not(target_arch = "x86_64"))]
mod table {
    /// No table generated for this architecture yet.
    pub static SYSCALLS: &[(u32, &str)] = &[];
}

/// Every known syscall as (number, name), sorted by number.
pub fn all() -> &'static [(u32, &'static str)] {
    table::SYSCALLS
}

/// The name of syscall `nr`, e.g. 257 -> "openat".
pub fn name(nr: u32) -> Option<&'static str> {
    let t = table::SYSCALLS;
    t.binary_search_by_key(&nr, |&(n, _)| n)
        .ok()
        .map(|i| t[i].1)
}

/// The number of a syscall by name; accepts "openat" and "sys_openat".
pub fn number(name: &str) -> Option<u32> {
    let name = name.strip_prefix("sys_").unwrap_or(name);
    table::SYSCALLS
        .iter()
        .find(|&&(_, n)| n == name)
        .map(|&(nr, _)| nr)
}

/// The name, or bcc's "[unknown: N]" for a number the table lacks.
pub fn display(nr: u32) -> String {
    match name(nr) {
        Some(n) => n.to_string(),
        None => format!("[unknown: {nr}]"),
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn x86_64_entries() {
        assert_eq!(name(0), Some("read"));
        assert_eq!(name(2), Some("open"));
        assert_eq!(name(59), Some("execve"));
        assert_eq!(name(110), Some("getppid"));
        assert_eq!(name(257), Some("openat"));
        assert_eq!(name(437), Some("openat2"));
        assert_eq!(name(335), None); // the gap before the io_uring block
        assert_eq!(number("openat"), Some(257));
        assert_eq!(number("sys_getppid"), Some(110));
        assert_eq!(number("no_such_call"), None);
        assert_eq!(display(100_000), "[unknown: 100000]");
        assert!(
            all().windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, no duplicates"
        );
    }
}
