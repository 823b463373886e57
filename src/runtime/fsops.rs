//! What fsslower and fsdist share (their kernel side is src/bpf/fsops.bpf.h):
//! the filesystems they know, the name they were called as (ext4slower picks
//! ext4), each filesystem's hook plan, and the operation names.

use anyhow::Result;

use crate::runtime::attach::Alt;
use crate::runtime::error::usage;

/// One filesystem the fs tools can trace.
#[derive(Debug)]
pub struct Fs {
    /// As given to `-t` and in the alias names (ext4slower).
    pub name: &'static str,
    /// Superblock magic (linux/magic.h).
    pub magic: u64,
    /// `file_system_type` name to require besides the magic ("" = any with
    /// the magic: nfs and nfs4 share one).
    pub type_name: &'static str,
    /// Alternatives, best first.
    pub plan: &'static [Alt],
}

/// The syscall tracepoint programs, shared by every filesystem.
const SYSCALLS: &[&str] = &[
    "tp_enter_read",
    "tp_exit_read",
    "tp_enter_write",
    "tp_exit_write",
    "tp_enter_readv",
    "tp_exit_readv",
    "tp_enter_writev",
    "tp_exit_writev",
    "tp_enter_pread64",
    "tp_exit_pread64",
    "tp_enter_pwrite64",
    "tp_exit_pwrite64",
    "tp_enter_preadv",
    "tp_exit_preadv",
    "tp_enter_pwritev",
    "tp_exit_pwritev",
    "tp_enter_fsync",
    "tp_exit_fsync",
    "tp_enter_fdatasync",
    "tp_exit_fdatasync",
    "tp_enter_openat",
    "tp_exit_openat",
    "tp_enter_openat2",
    "tp_exit_openat2",
    // Last, so the arm64 alternative (no open(2)) is a prefix.
    "tp_enter_open",
    "tp_exit_open",
];

const SYSCALL_ALTS: [Alt; 2] = [
    Alt {
        label: "syscall tracepoints (read, write, pread64, pwrite64, readv, writev, preadv, pwritev, \
                open, openat, openat2, fsync, fdatasync), kept when fd -> file -> superblock is the \
                filesystem; latency is the whole syscall's",
        progs: SYSCALLS,
    },
    Alt {
        label: "syscall tracepoints as above, without open(2) (this architecture has none)",
        progs: SYSCALLS.split_at(SYSCALLS.len() - 2).0,
    },
];

/// fentry, kprobe and syscall alternatives for one filesystem whose file
/// operations are the four functions given.
macro_rules! fs_plan {
    ($fs:ident, $rd:literal, $wr:literal, $op:literal, $sy:literal) => {
        &[
            Alt {
                label: concat!("fentry/fexit on ", $rd, ", ", $wr, ", ", $op, ", ", $sy),
                progs: &[
                    concat!("fentry_", stringify!($fs), "_read"),
                    concat!("fexit_", stringify!($fs), "_read"),
                    concat!("fentry_", stringify!($fs), "_write"),
                    concat!("fexit_", stringify!($fs), "_write"),
                    concat!("fentry_", stringify!($fs), "_open"),
                    concat!("fexit_", stringify!($fs), "_open"),
                    concat!("fentry_", stringify!($fs), "_fsync"),
                    concat!("fexit_", stringify!($fs), "_fsync"),
                ],
            },
            Alt {
                label: concat!("kprobe/kretprobe on ", $rd, ", ", $wr, ", ", $op, ", ", $sy),
                progs: &[
                    concat!("kprobe_", stringify!($fs), "_read"),
                    concat!("kretprobe_", stringify!($fs), "_read"),
                    concat!("kprobe_", stringify!($fs), "_write"),
                    concat!("kretprobe_", stringify!($fs), "_write"),
                    concat!("kprobe_", stringify!($fs), "_open"),
                    concat!("kretprobe_", stringify!($fs), "_open"),
                    concat!("kprobe_", stringify!($fs), "_fsync"),
                    concat!("kretprobe_", stringify!($fs), "_fsync"),
                ],
            },
            SYSCALL_ALTS[0],
            SYSCALL_ALTS[1],
        ]
    };
}

pub static FILESYSTEMS: &[Fs] = &[
    Fs {
        name: "ext4",
        magic: 0xEF53,
        type_name: "ext4",
        plan: fs_plan!(
            ext4,
            "ext4_file_read_iter",
            "ext4_file_write_iter",
            "ext4_file_open",
            "ext4_sync_file"
        ),
    },
    Fs {
        name: "xfs",
        magic: 0x5846_5342,
        type_name: "xfs",
        plan: fs_plan!(
            xfs,
            "xfs_file_read_iter",
            "xfs_file_write_iter",
            "xfs_file_open",
            "xfs_file_fsync"
        ),
    },
    Fs {
        name: "btrfs",
        magic: 0x9123_683E,
        type_name: "btrfs",
        plan: fs_plan!(
            btrfs,
            "btrfs_file_read_iter",
            "btrfs_file_write_iter",
            "btrfs_file_open",
            "btrfs_sync_file"
        ),
    },
    Fs {
        name: "nfs",
        magic: 0x6969,
        type_name: "",
        plan: fs_plan!(
            nfs,
            "nfs_file_read",
            "nfs_file_write",
            "nfs_file_open",
            "nfs_file_fsync"
        ),
    },
];

fn names() -> String {
    FILESYSTEMS
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn find(name: &str) -> Option<&'static Fs> {
    FILESYSTEMS.iter().find(|f| f.name == name)
}

/// The filesystem a tool works on: the one its alias names (ext4slower,
/// xfsdist), else `-t`. `tool` is the tool's own name ("fsslower"), whose
/// suffix the aliases share ("slower").
pub fn choose(called_as: &str, tool: &str, flag: Option<&str>) -> Result<&'static Fs> {
    let suffix = tool.trim_start_matches("fs");
    let from_alias = called_as
        .strip_suffix(suffix)
        .filter(|_| called_as != tool)
        .and_then(find);
    match (from_alias, flag) {
        (Some(fs), None) => Ok(fs),
        (Some(fs), Some(t)) if t == fs.name => Ok(fs),
        (Some(fs), Some(t)) => Err(usage(format!(
            "{called_as} traces {}; for {t} use {tool} -t {t}",
            fs.name
        ))),
        (None, Some(t)) => {
            find(t).ok_or_else(|| usage(format!("unknown filesystem '{t}' (known: {})", names())))
        }
        (None, None) => Err(usage(format!(
            "which filesystem? -t FS ({}), or call it as ext4{suffix} etc.",
            names()
        ))),
    }
}

/// The `file_system_type` name as the BPF side's `char[16]` wants it.
pub fn type_name_bytes(fs: &Fs) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (d, s) in b.iter_mut().zip(fs.type_name.bytes().take(15)) {
        *d = s;
    }
    b
}

/// enum fsop in src/bpf/fsops.h, in order.
pub const OPS: [&str; 4] = ["read", "write", "open", "fsync"];
/// bcc's T column letters.
pub const OP_LETTERS: [char; 4] = ['R', 'W', 'O', 'S'];

pub fn op_name(op: u32) -> &'static str {
    OPS.get(op as usize).copied().unwrap_or("?")
}

pub fn op_letter(op: u32) -> char {
    OP_LETTERS.get(op as usize).copied().unwrap_or('?')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_and_flag() {
        assert_eq!(choose("ext4slower", "fsslower", None).unwrap().name, "ext4");
        assert_eq!(choose("xfsdist", "fsdist", None).unwrap().name, "xfs");
        assert_eq!(
            choose("fsslower", "fsslower", Some("btrfs")).unwrap().name,
            "btrfs"
        );
        assert_eq!(
            choose("nfsslower", "fsslower", Some("nfs")).unwrap().name,
            "nfs"
        );
        assert!(choose("fsslower", "fsslower", None).is_err());
        assert!(choose("fsslower", "fsslower", Some("zfs")).is_err());
        assert!(choose("ext4slower", "fsslower", Some("xfs")).is_err());
        assert_eq!(&type_name_bytes(find("ext4").unwrap())[..5], b"ext4\0");
    }

    #[test]
    fn plans_name_real_programs() {
        for fs in FILESYSTEMS {
            assert_eq!(fs.plan.len(), 4);
            assert!(fs.plan[0].progs.iter().all(|p| p.contains(fs.name)));
        }
        assert_eq!(SYSCALL_ALTS[1].progs.len() + 2, SYSCALLS.len());
        assert!(!SYSCALL_ALTS[1].progs.contains(&"tp_enter_open"));
    }
}
