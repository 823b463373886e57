//! What this kernel offers, asked once and cheaply: privileges, BTF, tracefs
//! (mounted when missing), kprobes, tracepoints, BTF-typed tracepoints and
//! traceable functions.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub const TRACEFS: &str = "/sys/kernel/tracing";
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

fn effective_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line.trim_start_matches("CapEff:").trim(), 16).ok()
}

/// CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), else a clear error.
pub fn check_privileges() -> Result<()> {
    let caps = effective_caps().unwrap_or(0);
    let has = |c: u32| caps & (1u64 << c) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    bail!("needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) to load BPF programs: run it as root, e.g. with sudo")
}

/// `IRONSCOPE_BTF=PATH` points CO-RE relocation at a BTF file instead of the
/// kernel's own (for kernels built without BTF, e.g. with a BTFHub file).
/// libbpf still needs kernel BTF for fentry and tp_btf programs.
pub const BTF_ENV: &str = "IRONSCOPE_BTF";

/// The BTF file `IRONSCOPE_BTF` names, if set and not empty.
pub fn custom_btf() -> Option<PathBuf> {
    std::env::var_os(BTF_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Kernel BTF (or the custom file) is what CO-RE relocates against.
pub fn check_btf(custom: Option<&Path>) -> Result<()> {
    if let Some(path) = custom {
        if let Err(e) = std::fs::metadata(path) {
            bail!("no BTF file at {} ({BTF_ENV}): {e}", path.display());
        }
        if libbpf_rs::btf::Btf::from_path(path).is_err() {
            bail!("{} ({BTF_ENV}) is not a readable BTF file", path.display());
        }
        return Ok(());
    }
    let path = Path::new(VMLINUX_BTF);
    if std::fs::metadata(path).is_err() {
        bail!(
            "no kernel BTF at {}: this kernel was built without CONFIG_DEBUG_INFO_BTF, which ironscope needs \
             (or set {BTF_ENV} to a BTF file for this kernel)",
            path.display()
        );
    }
    Ok(())
}

/// Mount tracefs at /sys/kernel/tracing when it is not there: tracepoint
/// and kprobe attachment read event ids from it.
pub fn ensure_tracefs() -> Result<()> {
    if Path::new(TRACEFS).join("events").is_dir() {
        return Ok(());
    }
    // An older layout: tracefs under debugfs.
    if Path::new("/sys/kernel/debug/tracing/events").is_dir() {
        return Ok(());
    }
    let src = CString::new("tracefs").expect("no NUL");
    let dst = CString::new(TRACEFS).expect("no NUL");
    // SAFETY: valid NUL-terminated strings; no data argument.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            src.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        bail!("tracefs is not mounted and mounting it at {TRACEFS} failed: {err}");
    }
    Ok(())
}

fn tracefs_root() -> &'static str {
    if Path::new(TRACEFS).join("events").is_dir() {
        TRACEFS
    } else {
        "/sys/kernel/debug/tracing"
    }
}

/// Lazily probed facts about the running kernel.
#[derive(Default)]
pub struct Kernel {
    btf: OnceCell<Option<libbpf_rs::btf::Btf<'static>>>,
    /// ftrace's available_filter_functions, when readable.
    traceable: OnceCell<Option<HashSet<String>>>,
    kallsyms: OnceCell<HashSet<String>>,
    fentry_refusal: OnceCell<Option<String>>,
}

impl Kernel {
    /// Whether the kernel can create kprobes at all.
    pub fn has_kprobes(&self) -> bool {
        Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
            || Path::new(tracefs_root()).join("kprobe_events").exists()
    }

    /// Whether tracepoint `category/name` exists (mounts tracefs if needed).
    pub fn has_tracepoint(&self, category: &str, name: &str) -> bool {
        if ensure_tracefs().is_err() {
            return false;
        }
        Path::new(tracefs_root())
            .join("events")
            .join(category)
            .join(name)
            .is_dir()
    }

    /// Whether kernel BTF has a type of this name (e.g. `btf_trace_sched_switch`
    /// for the tp_btf program of that tracepoint).
    pub fn has_btf_type(&self, name: &str) -> bool {
        let btf = self
            .btf
            .get_or_init(|| libbpf_rs::btf::Btf::from_vmlinux().ok());
        btf.as_ref().is_some_and(|b| {
            b.type_by_name::<libbpf_rs::btf::BtfType<'_>>(name)
                .is_some()
        })
    }

    /// Whether a kernel function can be hooked by fentry or kprobe.
    /// ftrace's list is exact; where it cannot be read (some hosts deny it
    /// even to root), kernel BTF answers for vmlinux functions at once, and
    /// only a name BTF lacks (a module's) costs a scan of /proc/kallsyms,
    /// which takes the kernel ~0.2 s to produce and a set of ~120k names.
    pub fn is_traceable(&self, func: &str) -> bool {
        let ftrace = self.traceable.get_or_init(|| {
            let _ = ensure_tracefs();
            std::fs::read_to_string(Path::new(tracefs_root()).join("available_filter_functions"))
                .ok()
                .map(|list| symbol_names(&list))
        });
        if let Some(names) = ftrace {
            return names.contains(func);
        }
        if self.has_btf_func(func) {
            return true;
        }
        self.kallsyms
            .get_or_init(|| {
                symbol_names(&std::fs::read_to_string("/proc/kallsyms").unwrap_or_default())
            })
            .contains(func)
    }

    fn has_btf_func(&self, name: &str) -> bool {
        let btf = self
            .btf
            .get_or_init(|| libbpf_rs::btf::Btf::from_vmlinux().ok());
        btf.as_ref().is_some_and(|b| {
            b.type_by_name::<libbpf_rs::btf::types::Func<'_>>(name)
                .is_some()
        })
    }

    /// Why this kernel refuses fentry programs outright, if it does (some
    /// hosts refuse every tracing program with EPERM, as here). Asked with a
    /// program that has no target: a kernel that allows fentry rejects it as
    /// invalid (EINVAL). ~0.1 ms, where a tool's real attempt costs a parse
    /// of kernel BTF and CO-RE relocation (~20-100 ms) before failing.
    pub fn fentry_refused(&self) -> Option<String> {
        self.fentry_refusal
            .get_or_init(|| match probe_fentry() {
                Some(libc::EPERM) => Some("the kernel refuses fentry programs (EPERM)".into()),
                Some(libc::EACCES) => Some("the kernel refuses fentry programs (EACCES)".into()),
                _ => None,
            })
            .clone()
    }
}

/// Load `r0 = 0; exit` as an fentry program without a target: the errno.
fn probe_fentry() -> Option<i32> {
    use libbpf_rs::libbpf_sys as sys;
    let mov_r0_0 = sys::bpf_insn {
        code: (sys::BPF_ALU64 | sys::BPF_MOV | sys::BPF_K) as u8,
        ..Default::default()
    };
    let exit = sys::bpf_insn {
        code: (sys::BPF_JMP | sys::BPF_EXIT) as u8,
        ..Default::default()
    };
    let insns = [mov_r0_0, exit];
    let mut opts = sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<sys::bpf_prog_load_opts>() as _,
        expected_attach_type: sys::BPF_TRACE_FENTRY,
        ..Default::default()
    };
    // SAFETY: valid instructions, license string and options for the call.
    let fd = unsafe {
        sys::bpf_prog_load(
            sys::BPF_PROG_TYPE_TRACING,
            std::ptr::null(),
            c"GPL".as_ptr(),
            insns.as_ptr(),
            insns.len() as _,
            &mut opts,
        )
    };
    if fd >= 0 {
        // Not expected without a target; nothing to learn from it.
        // SAFETY: the fd was just returned to us.
        unsafe { libc::close(fd) };
        return None;
    }
    Some(-fd)
}

/// Function names from "func [module]" (ftrace) or "addr t func [module]"
/// (kallsyms) lines.
fn symbol_names(list: &str) -> HashSet<String> {
    list.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let first = f.next()?;
            if first.len() >= 16 && first.bytes().all(|b| b.is_ascii_hexdigit()) {
                f.nth(1)
            } else {
                Some(first)
            }
        })
        .map(str::to_string)
        .collect()
}

/// The first of `names` the kernel can trace (functions renamed across versions).
pub fn first_traceable<'a>(kernel: &Kernel, names: &[&'a str]) -> Option<&'a str> {
    names.iter().copied().find(|n| kernel.is_traceable(n))
}

/// Read a small sysfs/procfs file as a trimmed string, with context.
pub fn read_trimmed(path: &str) -> Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading {path}"))?
        .trim()
        .to_string())
}
