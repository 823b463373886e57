//! Names for addresses: kernel addresses from /proc/kallsyms, user addresses
//! with blazesym (ELF symbols, DWARF where present; PIE executables and
//! shared libraries through the process's /proc/PID/maps).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use blazesym::symbolize::source::{Process, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};

/// One kernel text symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KEntry {
    addr: u64,
    name: Box<str>,
    module: Option<Box<str>>,
}

/// A kernel address resolved: function, offset into it, module if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSym<'a> {
    pub name: &'a str,
    pub offset: u64,
    pub module: Option<&'a str>,
}

/// The kernel's text symbols, sorted by address.
#[derive(Debug, Default)]
pub struct KernelSyms {
    entries: Vec<KEntry>,
}

impl KernelSyms {
    /// Read /proc/kallsyms. Fails when addresses are hidden (kptr_restrict
    /// or no privileges): every address would read as zero.
    pub fn load() -> Result<KernelSyms> {
        Self::load_from(Path::new("/proc/kallsyms"))
    }

    pub fn load_from(path: &Path) -> Result<KernelSyms> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let syms = Self::parse(&text);
        if syms.entries.is_empty() {
            bail!(
                "{} shows no kernel addresses (kernel.kptr_restrict, or not root): kernel frames cannot be named",
                path.display()
            );
        }
        Ok(syms)
    }

    /// Parse kallsyms text: "ADDR TYPE NAME [MODULE]" per line; text symbols
    /// (t, T, w, W) with a non-zero address are kept.
    pub fn parse(text: &str) -> KernelSyms {
        let mut entries: Vec<KEntry> = text
            .lines()
            .filter_map(|line| {
                let mut f = line.split_whitespace();
                let addr = u64::from_str_radix(f.next()?, 16).ok()?;
                let kind = f.next()?;
                let name = f.next()?;
                let module = f
                    .next()
                    .map(|m| m.trim_start_matches('[').trim_end_matches(']'))
                    .filter(|m| !m.is_empty());
                if addr == 0 || !matches!(kind, "t" | "T" | "w" | "W") {
                    return None;
                }
                Some(KEntry {
                    addr,
                    name: name.into(),
                    module: module.map(Into::into),
                })
            })
            .collect();
        // Stable sort: aliases at one address stay in kallsyms order.
        entries.sort_by_key(|e| e.addr);
        KernelSyms { entries }
    }

    /// The symbol at or below `addr` (of aliases, the first kallsyms lists).
    pub fn find(&self, addr: u64) -> Option<KernelSym<'_>> {
        let last = self
            .entries
            .partition_point(|e| e.addr <= addr)
            .checked_sub(1)?;
        let start = self.entries[last].addr;
        let first = self.entries[..=last].partition_point(|e| e.addr < start);
        let e = self.entries.get(first)?;
        Some(KernelSym {
            name: &e.name,
            offset: addr - e.addr,
            module: e.module.as_deref(),
        })
    }

    /// Every (address, name), aliases included, by address.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &str)> {
        self.entries.iter().map(|e| (e.addr, &*e.name))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A user address resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSym {
    pub name: String,
    pub offset: u64,
    /// The file the address lies in (executable or library), when known.
    pub module: Option<String>,
}

/// Symbolizes user addresses of live processes. blazesym keeps parsed files
/// cached, so one instance should serve a whole run.
pub struct UserSyms {
    symbolizer: Symbolizer,
}

impl Default for UserSyms {
    fn default() -> Self {
        Self::new()
    }
}

impl UserSyms {
    pub fn new() -> UserSyms {
        // Names are all the tools print: no source lines, no inlined frames.
        let symbolizer = Symbolizer::builder()
            .enable_code_info(false)
            .enable_inlined_fns(false)
            .build();
        UserSyms { symbolizer }
    }

    /// Resolve absolute addresses in process `pid`: one entry per address,
    /// None where it cannot be named (process gone, no symbols, JIT code).
    pub fn process(&self, pid: u32, addrs: &[u64]) -> Vec<Option<UserSym>> {
        if addrs.is_empty() {
            return Vec::new();
        }
        let mut proc_src = Process::new(pid.into());
        // perf maps belong to JIT runtimes and are opened relative to /tmp:
        // an unexpected file in a traced process's control.
        proc_src.perf_map = false;
        let src = Source::Process(proc_src);
        match self.symbolizer.symbolize(&src, Input::AbsAddr(addrs)) {
            Ok(syms) => syms
                .into_iter()
                .map(|s| match s {
                    Symbolized::Sym(sym) => Some(UserSym {
                        name: sym.name.into_owned(),
                        offset: sym.offset as u64,
                        module: sym.module.map(|m| m.to_string_lossy().into_owned()),
                    }),
                    Symbolized::Unknown(_) => None,
                })
                .collect(),
            Err(_) => vec![None; addrs.len()],
        }
    }
}

/// Resolves many stacks of many processes with one call per process.
#[derive(Default)]
pub struct UserBatch {
    wanted: HashMap<u32, Vec<u64>>,
    done: HashMap<(u32, u64), Option<UserSym>>,
}

impl UserBatch {
    /// Queue addresses of `pid` for `resolve`.
    pub fn add(&mut self, pid: u32, addrs: &[u64]) {
        self.wanted.entry(pid).or_default().extend_from_slice(addrs);
    }

    pub fn resolve(&mut self, syms: &UserSyms) {
        for (pid, mut addrs) in self.wanted.drain() {
            addrs.sort_unstable();
            addrs.dedup();
            for (a, s) in addrs.iter().zip(syms.process(pid, &addrs)) {
                self.done.insert((pid, *a), s);
            }
        }
    }

    pub fn get(&self, pid: u32, addr: u64) -> Option<&UserSym> {
        self.done.get(&(pid, addr)).and_then(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KALLSYMS: &str = "\
ffffffff81000000 T _stext
ffffffff81000000 T _text
ffffffff81001000 t do_one_initcall
ffffffff81002000 D some_data
ffffffff81003000 T vfs_read
0000000000000000 T hidden
ffffffffc0001000 t ext4_file_read_iter\t[ext4]
";

    #[test]
    fn kallsyms_lookup() {
        let k = KernelSyms::parse(KALLSYMS);
        assert_eq!(k.len(), 5);
        let s = k.find(0xffffffff81003010).unwrap();
        assert_eq!((s.name, s.offset, s.module), ("vfs_read", 0x10, None));
        // Data symbols are skipped: the address belongs to the text before.
        assert_eq!(k.find(0xffffffff81002000).unwrap().name, "do_one_initcall");
        assert_eq!(k.find(0xffffffff81000000).unwrap().name, "_stext");
        assert_eq!(k.find(0xffffffff81000008).unwrap().name, "_stext");
        assert_eq!(k.entries().filter(|e| e.0 == 0xffffffff81000000).count(), 2);
        let m = k.find(0xffffffffc0001004).unwrap();
        assert_eq!((m.name, m.module), ("ext4_file_read_iter", Some("ext4")));
        assert!(k.find(0x1000).is_none());
        assert!(KernelSyms::parse("0000000000000000 T a\n").is_empty());
    }

    #[test]
    fn own_process_symbols() {
        // This test binary's own function, through /proc/self/maps.
        let addr = kallsyms_lookup as *const () as usize as u64;
        let syms = UserSyms::new();
        let got = syms.process(std::process::id(), &[addr]);
        let s = got[0]
            .as_ref()
            .expect("a symbol for a function of this test");
        assert!(s.name.contains("kallsyms_lookup"), "{s:?}");
        assert_eq!(s.offset, 0);
    }
}
