//! Where a uprobe goes: a binary named as bcc's tools name it (a path, an
//! executable on PATH, or a library such as `c` for the libc a process
//! uses) and its functions matching a pattern, as file offsets.

use std::collections::HashMap;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use blazesym::inspect::source::{Elf, Source};
use blazesym::inspect::Inspector;
use blazesym::SymType;

use crate::runtime::error::usage;
use crate::runtime::pattern::Matcher;

/// One function to probe: the offset is into the file, as uprobes want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UFunc {
    pub name: String,
    pub offset: u64,
}

const LIB_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
];

fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// Whether a file name is the library `name` refers to: `c` is libc.so.6,
/// `pthread` libpthread.so.0 or libpthread-2.31.so; a full file name
/// (`libc.so.6`) is itself.
fn is_library_named(file: &str, name: &str) -> bool {
    if file == name {
        return true;
    }
    let lib = if name.starts_with("lib") {
        name.to_string()
    } else {
        format!("lib{name}")
    };
    file == format!("{lib}.so")
        || file.starts_with(&format!("{lib}.so."))
        || (file.starts_with(&format!("{lib}-")) && file.ends_with(".so"))
}

/// The files mapped by a process, in map order, without duplicates.
fn mapped_files(pid: u32) -> Result<Vec<PathBuf>> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|e| anyhow!("cannot read the mappings of process {pid}: {e}"))?;
    let mut seen = Vec::new();
    for line in maps.lines() {
        // "start-end perms offset dev inode path": the path may hold spaces.
        let Some(path) = line.splitn(6, char::is_whitespace).nth(5).map(str::trim) else {
            continue;
        };
        if path.starts_with('/') && !path.ends_with(" (deleted)") {
            let p = PathBuf::from(path);
            if !seen.contains(&p) {
                seen.push(p);
            }
        }
    }
    Ok(seen)
}

/// Directories the dynamic linker searches: ld.so.conf's (one level of
/// `include`) and the usual ones.
fn library_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut confs = vec![PathBuf::from("/etc/ld.so.conf")];
    if let Ok(rd) = std::fs::read_dir("/etc/ld.so.conf.d") {
        let mut extra: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        extra.sort();
        confs.extend(extra);
    }
    for conf in confs {
        let Ok(text) = std::fs::read_to_string(&conf) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            if line.starts_with('/') {
                dirs.push(PathBuf::from(line));
            }
        }
    }
    dirs.extend(LIB_DIRS.iter().map(PathBuf::from));
    let mut uniq = Vec::new();
    for d in dirs {
        if !uniq.contains(&d) {
            uniq.push(d);
        }
    }
    uniq
}

fn find_library(name: &str) -> Option<PathBuf> {
    for dir in library_dirs() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut hits: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|f| is_library_named(f, name))
            })
            .map(|e| e.path())
            // libc.so is a linker script, not the library.
            .filter(|p| is_elf(p))
            .collect();
        // The versioned name (libc.so.6) before the development link.
        hits.sort_by_key(|p| {
            (
                p.file_name()
                    .is_some_and(|f| f.to_string_lossy().ends_with(".so")),
                p.clone(),
            )
        });
        if let Some(p) = hits.into_iter().next() {
            return Some(p);
        }
    }
    None
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file() && is_elf(p))
}

/// The binary a bcc-style name refers to: a path (`/usr/bin/x`, `./x`), a
/// library the process `pid` has mapped (`c` -> its libc), a library in the
/// linker's directories, or an executable on PATH.
pub fn find_binary(spec: &str, pid: Option<u32>) -> Result<PathBuf> {
    if spec.is_empty() {
        return Err(usage("an empty library or binary name"));
    }
    if spec.contains('/') {
        let p = Path::new(spec);
        if !p.exists() {
            return Err(usage(format!("{spec}: no such file")));
        }
        if !is_elf(p) {
            return Err(usage(format!("{spec}: not an ELF binary")));
        }
        return Ok(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()));
    }
    if let Some(pid) = pid {
        for p in mapped_files(pid)? {
            let hit = p
                .file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| is_library_named(f, spec) || f == spec);
            if hit {
                // Through the process's root, so a container's libc is its own.
                let rooted = PathBuf::from(format!("/proc/{pid}/root"))
                    .join(p.strip_prefix("/").unwrap_or(&p));
                return Ok(if rooted.exists() { rooted } else { p });
            }
        }
    }
    if let Some(p) = find_library(spec) {
        return Ok(p);
    }
    if let Some(p) = find_in_path(spec) {
        return Ok(p);
    }
    Err(usage(format!(
        "cannot find a library or executable named '{spec}'{} (give its path)",
        pid.map(|p| format!(" mapped by process {p} or"))
            .unwrap_or_default()
    )))
}

/// Leading underscores count against a name: malloc before __libc_malloc.
fn name_rank(n: &str) -> (usize, usize, String) {
    (
        n.len() - n.trim_start_matches('_').len(),
        n.len(),
        n.to_string(),
    )
}

/// The functions of `path` whose names match, one per address (aliases
/// collapse to the plainest name), sorted by name.
pub fn find_functions(path: &Path, matcher: &Matcher) -> Result<Vec<UFunc>> {
    let inspector = Inspector::new();
    let mut elf = Elf::new(path);
    // Only debug symbols would be listed otherwise.
    elf.debug_syms = false;
    let src = Source::Elf(elf);
    let mut by_offset: HashMap<u64, String> = HashMap::new();
    let mut keep = |name: &str, offset: Option<u64>, addr: u64, ty: SymType| {
        let Some(off) = offset else { return };
        if addr == 0 || ty != SymType::Function || !matcher.matches(name) {
            return;
        }
        by_offset
            .entry(off)
            .and_modify(|cur| {
                if name_rank(name) < name_rank(cur) {
                    *cur = name.to_string();
                }
            })
            .or_insert_with(|| name.to_string());
    };
    let result = match matcher.exact() {
        Some(name) => inspector.lookup(&src, &[name]).map(|found| {
            for s in found.iter().flatten() {
                keep(&s.name, s.file_offset, s.addr, s.sym_type);
            }
        }),
        None => inspector.for_each(&src, |s| {
            keep(&s.name, s.file_offset, s.addr, s.sym_type);
            ControlFlow::Continue(())
        }),
    };
    result.map_err(|e| anyhow!("cannot read the symbols of {}: {e}", path.display()))?;
    let mut funcs: Vec<UFunc> = by_offset
        .into_iter()
        .map(|(offset, name)| UFunc { name, offset })
        .collect();
    funcs.sort_by(|a, b| a.name.cmp(&b.name).then(a.offset.cmp(&b.offset)));
    Ok(funcs)
}

/// One function by exact name.
pub fn find_function(path: &Path, name: &str) -> Result<Option<UFunc>> {
    let m = Matcher::Exact(name.to_string());
    Ok(find_functions(path, &m)?.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names() {
        assert!(is_library_named("libc.so.6", "c"));
        assert!(is_library_named("libc.so.6", "libc"));
        assert!(is_library_named("libc.so.6", "libc.so.6"));
        assert!(is_library_named("libpthread-2.31.so", "pthread"));
        assert!(is_library_named("libreadline.so.8", "readline"));
        assert!(!is_library_named("libcap.so.2", "c"));
        assert!(!is_library_named("libcrypt.so.1", "c"));
    }

    #[test]
    fn libc_of_this_process() {
        // This test binary is static (crt-static); bash is dynamic.
        let sh = find_binary("/bin/bash", None).unwrap();
        assert!(sh.is_absolute());
        let libc = find_binary("c", None).unwrap();
        assert!(
            libc.to_string_lossy().contains("libc.so"),
            "{}",
            libc.display()
        );
        let f = find_function(&libc, "getpid")
            .unwrap()
            .expect("getpid in libc");
        assert!(f.offset > 0);
        let m = Matcher::new("*malloc", false).unwrap();
        let all = find_functions(&libc, &m).unwrap();
        assert!(all.iter().any(|f| f.name == "malloc"), "{all:?}");
        // One entry per address.
        let offs: std::collections::HashSet<u64> = all.iter().map(|f| f.offset).collect();
        assert_eq!(offs.len(), all.len());
        assert!(find_binary("no-such-lib-here", None).is_err());
        assert!(find_binary("/no/such/file", None).is_err());
    }
}
