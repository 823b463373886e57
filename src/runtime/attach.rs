//! A tool's hook plan: alternatives in order of preference, each a set of
//! the skeleton's programs. The hook kind of an alternative follows from its
//! programs' sections (fentry/, kprobe/, tracepoint/, tp_btf/, ...), so the
//! requirement checks and `--attach` matching need nothing more from a tool.

use std::fmt;

use crate::runtime::cli::AttachMode;
use crate::runtime::kernel::{self, Kernel};

/// One way of hooking the kernel: the programs to load together.
#[derive(Debug, Clone, Copy)]
pub struct Alt {
    /// Shown by --verbose and in errors, e.g. "fentry on vfs_read/vfs_write".
    pub label: &'static str,
    /// Program (function) names in the skeleton; all others are not loaded.
    pub progs: &'static [&'static str],
}

/// Alternatives, best first.
pub type Plan = &'static [Alt];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hook {
    Fentry,
    Kprobe,
    Tracepoint,
    Uprobe,
    PerfEvent,
    Other,
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hook::Fentry => "fentry",
            Hook::Kprobe => "kprobe",
            Hook::Tracepoint => "tracepoint",
            Hook::Uprobe => "uprobe",
            Hook::PerfEvent => "perf_event",
            Hook::Other => "other",
        })
    }
}

/// What a program section needs from the kernel.
#[derive(Debug, PartialEq, Eq)]
enum Need {
    Function(String),
    Kprobe(String),
    Tracepoint(String, String),
    BtfTracepoint(String),
    Nothing,
}

fn classify(section: &str) -> (Hook, Need) {
    let (kind, target) = section.split_once('/').unwrap_or((section, ""));
    let target = target.to_string();
    match kind {
        "fentry" | "fexit" | "fmod_ret" | "fentry.s" | "fexit.s" => {
            (Hook::Fentry, Need::Function(target))
        }
        "kprobe" | "kretprobe" => (Hook::Kprobe, Need::Kprobe(target)),
        "ksyscall" | "kretsyscall" => (Hook::Kprobe, Need::Kprobe(String::new())),
        "kprobe.multi" | "kretprobe.multi" => (Hook::Kprobe, Need::Kprobe(String::new())),
        "tracepoint" | "tp" => {
            let (cat, name) = target.split_once('/').unwrap_or(("", &target));
            (
                Hook::Tracepoint,
                Need::Tracepoint(cat.to_string(), name.to_string()),
            )
        }
        "tp_btf" | "raw_tp" | "raw_tracepoint" | "raw_tp.w" | "raw_tracepoint.w" => {
            (Hook::Tracepoint, Need::BtfTracepoint(target))
        }
        k if k.starts_with("uprobe") || k.starts_with("uretprobe") || k.starts_with("usdt") => {
            (Hook::Uprobe, Need::Nothing)
        }
        "perf_event" => (Hook::PerfEvent, Need::Nothing),
        _ => (Hook::Other, Need::Nothing),
    }
}

/// The kind of an alternative: its most specific program kind.
pub fn hook_of(sections: &[String]) -> Hook {
    sections
        .iter()
        .map(|s| classify(s).0)
        .min()
        .unwrap_or(Hook::Other)
}

pub fn mode_allows(mode: AttachMode, hook: Hook) -> bool {
    match mode {
        AttachMode::Auto => true,
        AttachMode::Fentry => hook == Hook::Fentry,
        AttachMode::Kprobe => hook == Hook::Kprobe,
        AttachMode::Tracepoint => hook == Hook::Tracepoint,
    }
}

/// Why this kernel cannot run these sections, or None when it may. Only
/// the answers that cost nothing are asked here (a missing function or BTF
/// type shows at load or attach, which names it): reading ftrace's function
/// list or parsing kernel BTF for this took 0.2 s per start under emulation.
pub fn missing(kernel: &Kernel, sections: &[String]) -> Option<String> {
    for s in sections {
        match classify(s).1 {
            Need::Function(f) if !f.is_empty() => {
                if let Some(why) = kernel.fentry_refused() {
                    return Some(why);
                }
            }
            Need::Kprobe(_) if !kernel.has_kprobes() => {
                return Some("this kernel has no kprobes (CONFIG_KPROBES unset)".into());
            }
            Need::Tracepoint(c, n) => {
                if let Err(e) = kernel::ensure_tracefs() {
                    return Some(format!("{e:#}"));
                }
                if !kernel.has_tracepoint(&c, &n) {
                    return Some(format!("this kernel has no tracepoint {c}:{n}"));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_kinds() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            hook_of(&s(&[
                "fentry/vfs_read",
                "tracepoint/sched/sched_process_exit"
            ])),
            Hook::Fentry
        );
        assert_eq!(hook_of(&s(&["kprobe/tcp_connect"])), Hook::Kprobe);
        assert_eq!(hook_of(&s(&["tp_btf/sched_switch"])), Hook::Tracepoint);
        assert_eq!(hook_of(&s(&["perf_event"])), Hook::PerfEvent);
        assert!(mode_allows(AttachMode::Tracepoint, Hook::Tracepoint));
        assert!(!mode_allows(AttachMode::Fentry, Hook::Tracepoint));
        assert_eq!(
            classify("tracepoint/syscalls/sys_enter_openat").1,
            Need::Tracepoint("syscalls".into(), "sys_enter_openat".into())
        );
    }
}
