//! Read-only by construction. The compiled BPF objects (build.rs keeps them
//! next to the skeletons) hold only tracing programs, calling no helper that
//! writes user memory, changes a return value, sends a signal or writes the
//! global trace buffer. And a tool run writes no file: not in its working
//! directory, $HOME, /tmp, /var/tmp or /dev/shm.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common;
use crate::suite;

/// Helpers no tool may call (BPF_FUNC_<name> in vmlinux.h).
const FORBIDDEN_HELPERS: &[&str] = &[
    "probe_write_user",
    "override_return",
    "send_signal",
    "send_signal_thread",
    "set_retval",
    "trace_printk",
    "trace_vprintk",
    "setsockopt",
    "sys_bpf",
    "sys_close",
    "skb_store_bytes",
    "l3_csum_replace",
    "l4_csum_replace",
    "redirect",
    "clone_redirect",
    "sk_assign",
    "sysctl_set_new_value",
];

/// kfuncs (extern symbols) with the same effects.
const FORBIDDEN_SYMBOLS: &[&str] = &[
    "bpf_send_signal_task",
    "bpf_probe_write_user",
    "bpf_override_return",
];

/// Program section kinds that only observe (the part before any '/'; a
/// program attached by the tool itself may have the bare kind). fmod_ret,
/// lsm, struct_ops, writable raw tracepoints (raw_tp.w), networking and
/// cgroup hooks can change what the kernel does, so they are not here.
const TRACING_KINDS: &[&str] = &[
    "tracepoint",
    "tp",
    "raw_tp",
    "raw_tracepoint",
    "tp_btf",
    "fentry",
    "fentry.s",
    "fexit",
    "fexit.s",
    "kprobe",
    "kretprobe",
    "kprobe.multi",
    "kretprobe.multi",
    "ksyscall",
    "kretsyscall",
    "uprobe",
    "uprobe.s",
    "uretprobe",
    "uretprobe.s",
    "uprobe.multi",
    "uretprobe.multi",
    "usdt",
    "perf_event",
];

fn helper_ids() -> HashMap<i32, String> {
    let h = Path::new(env!("CARGO_MANIFEST_DIR")).join("vmlinux/x86/vmlinux.h");
    let text = std::fs::read_to_string(&h).expect("vmlinux.h");
    text.lines()
        .filter_map(|l| {
            let (name, id) = l.trim().strip_prefix("BPF_FUNC_")?.split_once(" = ")?;
            Some((id.trim_end_matches(',').parse().ok()?, name.to_string()))
        })
        .collect()
}

struct Section {
    name: String,
    flags: u64,
    kind: u32,
    data: Vec<u8>,
    link: u32,
}

fn u16le(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64le(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

fn cstr_at(b: &[u8], o: usize) -> String {
    let s = &b[o.min(b.len())..];
    let n = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..n]).into_owned()
}

/// The sections of a little-endian ELF64 BPF object.
fn sections(obj: &[u8]) -> Vec<Section> {
    assert!(
        obj.len() > 64 && &obj[..4] == b"\x7fELF" && obj[4] == 2 && obj[5] == 1,
        "not an ELF64 LE object"
    );
    let shoff = u64le(obj, 0x28) as usize;
    let shentsize = u16le(obj, 0x3a) as usize;
    let shnum = u16le(obj, 0x3c) as usize;
    let shstrndx = u16le(obj, 0x3e) as usize;
    let raw: Vec<(u32, u32, u64, usize, usize, u32)> = (0..shnum)
        .map(|i| {
            let h = shoff + i * shentsize;
            (
                u32le(obj, h),                 // name
                u32le(obj, h + 4),             // type
                u64le(obj, h + 8),             // flags
                u64le(obj, h + 0x18) as usize, // offset
                u64le(obj, h + 0x20) as usize, // size
                u32le(obj, h + 0x28),          // link
            )
        })
        .collect();
    let (_, _, _, stroff, strsize, _) = raw[shstrndx];
    let strtab = &obj[stroff..stroff + strsize];
    raw.iter()
        .map(|&(name, kind, flags, off, size, link)| Section {
            name: cstr_at(strtab, name as usize),
            flags,
            kind,
            data: if kind == 8 {
                vec![]
            } else {
                obj[off..off + size].to_vec()
            }, // SHT_NOBITS
            link,
        })
        .collect()
}

const SHF_EXECINSTR: u64 = 4;
const SHT_SYMTAB: u32 = 2;

/// Problems in one object: forbidden helper calls, kfuncs, program kinds.
fn inspect(obj: &[u8], helpers: &HashMap<i32, String>) -> Vec<String> {
    let secs = sections(obj);
    let mut problems = Vec::new();
    let mut programs = 0;
    for s in secs
        .iter()
        .filter(|s| s.flags & SHF_EXECINSTR != 0 && !s.data.is_empty())
    {
        if s.name != ".text" {
            programs += 1;
            let kind = s.name.split('/').next().unwrap_or("");
            if !TRACING_KINDS.contains(&kind) {
                problems.push(format!("program section {} is not a tracing hook", s.name));
            }
        }
        for insn in s.data.chunks_exact(8) {
            // BPF_JMP | BPF_CALL with src_reg 0: a helper call, id in imm.
            if insn[0] == 0x85 && insn[1] >> 4 == 0 {
                let id = i32::from_le_bytes(insn[4..8].try_into().unwrap());
                let name = helpers.get(&id).map(String::as_str).unwrap_or("?");
                if FORBIDDEN_HELPERS.contains(&name) {
                    problems.push(format!("{} calls bpf_{name} (helper {id})", s.name));
                }
            }
        }
    }
    if programs == 0 {
        problems.push("no program sections found (is this the right object?)".into());
    }
    for s in secs.iter().filter(|s| s.kind == SHT_SYMTAB) {
        let strtab = &secs[s.link as usize].data;
        for sym in s.data.chunks_exact(24) {
            let name = cstr_at(strtab, u32le(sym, 0) as usize);
            if FORBIDDEN_SYMBOLS.contains(&name.as_str()) {
                problems.push(format!("references {name}"));
            }
        }
    }
    problems
}

fn objects_dir() -> PathBuf {
    PathBuf::from(env!("OUT_DIR"))
}

#[test]
fn bpf_objects_only_observe() {
    let helpers = helper_ids();
    for name in [
        "probe_write_user",
        "override_return",
        "send_signal",
        "send_signal_thread",
    ] {
        assert!(
            helpers.values().any(|h| h == name),
            "vmlinux.h lacks BPF_FUNC_{name}"
        );
    }
    let bpf_src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bpf");
    let mut failures = Vec::new();
    let mut n = 0;
    for e in std::fs::read_dir(&bpf_src).expect("src/bpf").flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(tool) = file.strip_suffix(".bpf.c") else {
            continue;
        };
        let obj = objects_dir().join(format!("{tool}.bpf.o"));
        let Ok(bytes) = std::fs::read(&obj) else {
            failures.push(format!("{}: no compiled object at {}", file, obj.display()));
            continue;
        };
        n += 1;
        failures.extend(
            inspect(&bytes, &helpers)
                .into_iter()
                .map(|p| format!("{tool}: {p}")),
        );
    }
    assert!(n > 0, "no BPF objects inspected");
    suite::assert_all_ok("read-only BPF", failures);
}

/// The inspection itself finds what it looks for: execsnoop's object with one
/// helper call patched into bpf_probe_write_user is rejected.
#[test]
fn inspection_catches_a_writer() {
    let helpers = helper_ids();
    let good = std::fs::read(objects_dir().join("execsnoop.bpf.o")).expect("execsnoop object");
    assert!(inspect(&good, &helpers).is_empty());
    // Patch the first helper call of the first program into helper 36.
    let mut bad = good.clone();
    let secs = sections(&good);
    let shoff = u64le(&good, 0x28) as usize;
    let shentsize = u16le(&good, 0x3a) as usize;
    let (i, _) = secs
        .iter()
        .enumerate()
        .find(|(_, s)| s.flags & SHF_EXECINSTR != 0 && s.name.starts_with("tracepoint/"))
        .expect("a program");
    let off = u64le(&good, shoff + i * shentsize + 0x18) as usize;
    let size = u64le(&good, shoff + i * shentsize + 0x20) as usize;
    let call = (off..off + size)
        .step_by(8)
        .find(|&p| bad[p] == 0x85 && bad[p + 1] >> 4 == 0)
        .expect("a helper call");
    bad[call + 4..call + 8].copy_from_slice(&36i32.to_le_bytes());
    let problems = inspect(&bad, &helpers);
    assert!(
        problems.iter().any(|p| p.contains("bpf_probe_write_user")),
        "{problems:?}"
    );
    // And a program kind that can change the kernel's behaviour: rename
    // a section to fmod_ret (same length, so the object stays valid).
    let mut bad = good.clone();
    let from = b"tracepoint/syscalls/sys_enter_execve";
    let at: Vec<usize> = (0..bad.len() - from.len())
        .filter(|&i| &bad[i..i + from.len()] == from)
        .collect();
    assert!(!at.is_empty(), "section name not found");
    for i in at {
        bad[i..i + 10].copy_from_slice(b"fmod_ret/x");
    }
    let problems = inspect(&bad, &helpers);
    assert!(
        problems.iter().any(|p| p.contains("fmod_ret/x")),
        "{problems:?}"
    );
}

/// Run a tool for a second in a private mount namespace with empty tmpfs on
/// /tmp, /var/tmp and /dev/shm (its cwd and $HOME inside /tmp), then list
/// what exists there: only the two directories may.
fn files_written(t: &suite::ToolInfo) -> Result<(), String> {
    let script = r#"
mkdir /tmp/cwd /tmp/home || exit 99
cd /tmp/cwd || exit 99
HOME=/tmp/home "$@" > /dev/null
echo "rc=$?"
find /tmp /var/tmp /dev/shm -mindepth 1
"#;
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", script, "sh"]);
    let tool = t.command();
    cmd.arg(tool.get_program()).args(tool.get_args());
    cmd.args(t.run_args()).args(["--duration", "1"]);
    cmd.env_remove("IRONSCOPE_READY");
    // SAFETY: only async-signal-safe syscalls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let none = c"none".as_ptr();
            let root = c"/".as_ptr();
            if libc::mount(
                none,
                root,
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            for dir in [c"/tmp", c"/var/tmp", c"/dev/shm"] {
                if libc::mount(
                    c"tmpfs".as_ptr(),
                    dir.as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let o = suite::run_bounded(&mut cmd, Duration::from_secs(30))?;
    let mut lines = o.stdout.lines();
    let rc = lines.next().unwrap_or("");
    if rc != "rc=0" {
        return Err(format!(
            "{rc} ({}); stderr: {}",
            suite::describe(&o.status),
            o.stderr
        ));
    }
    let created: Vec<&str> = lines
        .filter(|l| *l != "/tmp/cwd" && *l != "/tmp/home")
        .collect();
    if !created.is_empty() {
        return Err(format!("created {created:?}"));
    }
    Ok(())
}

#[test]
fn tools_write_no_files() {
    common::require_root();
    let failures: Vec<String> = suite::par_map(suite::tools().iter().collect(), 4, |t| {
        files_written(t).map_err(|e| format!("{}: {e}", t.name))
    })
    .into_iter()
    .filter_map(Result::err)
    .collect();
    suite::assert_all_ok("files written", failures);
}
