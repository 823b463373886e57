//! What the block tools (biosnoop, biolatency, bitesize) share on the user
//! side: their hook plans, the op and flag codes of src/bpf/common/blk.bpf.h
//! in bcc's and blktrace's words, and disk names from dev_t numbers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;

use crate::runtime::attach::Alt;
use crate::runtime::error::usage;

/// Hook plans. Every alternative is BTF-typed tracepoints; they differ in
/// where the issuer is recorded (common/blk.bpf.h): block_io_start (6.5+)
/// sees every request made from a bio in its submitter's context; older
/// kernels have only insert and issue. Kernels before 6.5 inline
/// blk_account_io_start, so neither fentry nor kprobes could do better.
pub const PLAN: &[Alt] = &[
    Alt {
        label: "tp_btf block_io_start, block_rq_issue, block_rq_complete, block_rq_merge",
        progs: &[
            "blk_io_start",
            "blk_rq_issue",
            "blk_rq_complete",
            "blk_rq_merge",
        ],
    },
    Alt {
        label: "tp_btf block_rq_insert, block_rq_issue, block_rq_complete, block_rq_merge",
        progs: &[
            "blk_rq_insert",
            "blk_rq_issue",
            "blk_rq_complete",
            "blk_rq_merge",
        ],
    },
];

/// The same for tools done with a request once it is issued (bitesize).
pub const PLAN_ISSUE: &[Alt] = &[
    Alt {
        label: "tp_btf block_io_start, block_rq_issue, block_rq_merge",
        progs: &["blk_io_start", "blk_rq_issue", "blk_rq_merge"],
    },
    Alt {
        label: "tp_btf block_rq_insert, block_rq_issue, block_rq_merge",
        progs: &["blk_rq_insert", "blk_rq_issue", "blk_rq_merge"],
    },
];

// Op codes and flag bits as common/blk.bpf.h encodes them (op | flags << 8).
pub const OP_READ: u32 = 0;
pub const OP_WRITE: u32 = 1;
pub const OP_FLUSH: u32 = 2;
pub const OP_DISCARD: u32 = 3;
pub const OP_SECURE_ERASE: u32 = 4;
pub const OP_WRITE_ZEROES: u32 = 5;
pub const OP_ZONE_APPEND: u32 = 6;
pub const OP_ZONE_RESET: u32 = 7;
pub const OP_ZONE_RESET_ALL: u32 = 8;
pub const OP_ZONE_OPEN: u32 = 9;
pub const OP_ZONE_CLOSE: u32 = 10;
pub const OP_ZONE_FINISH: u32 = 11;
pub const OP_DRV_IN: u32 = 12;
pub const OP_DRV_OUT: u32 = 13;

pub const F_SYNC: u32 = 1 << 0;
pub const F_META: u32 = 1 << 1;
pub const F_PRIO: u32 = 1 << 2;
pub const F_NOMERGE: u32 = 1 << 3;
pub const F_IDLE: u32 = 1 << 4;
pub const F_INTEGRITY: u32 = 1 << 5;
pub const F_FUA: u32 = 1 << 6;
pub const F_PREFLUSH: u32 = 1 << 7;
pub const F_RAHEAD: u32 = 1 << 8;
pub const F_BACKGROUND: u32 = 1 << 9;
pub const F_NOWAIT: u32 = 1 << 10;

pub fn op(opflags: u32) -> u32 {
    opflags & 0xff
}

pub fn flags(opflags: u32) -> u32 {
    opflags >> 8
}

/// (code, JSON name, bcc's name)
const OPS: &[(u32, &str, &str)] = &[
    (OP_READ, "read", "Read"),
    (OP_WRITE, "write", "Write"),
    (OP_FLUSH, "flush", "Flush"),
    (OP_DISCARD, "discard", "Discard"),
    (OP_SECURE_ERASE, "secure_erase", "SecureErase"),
    (OP_WRITE_ZEROES, "write_zeroes", "WriteZeros"),
    (OP_ZONE_APPEND, "zone_append", "ZoneAppend"),
    (OP_ZONE_RESET, "zone_reset", "ZoneReset"),
    (OP_ZONE_RESET_ALL, "zone_reset_all", "ZoneResetAll"),
    (OP_ZONE_OPEN, "zone_open", "ZoneOpen"),
    (OP_ZONE_CLOSE, "zone_close", "ZoneClose"),
    (OP_ZONE_FINISH, "zone_finish", "ZoneFinish"),
    (OP_DRV_IN, "drv_in", "DrvIn"),
    (OP_DRV_OUT, "drv_out", "DrvOut"),
];

/// The operation for JSON: "read", "write", ... ("other" if unknown).
pub fn op_name(opflags: u32) -> &'static str {
    let o = op(opflags);
    OPS.iter().find(|e| e.0 == o).map_or("other", |e| e.1)
}

/// Flag bits in bcc biolatency -F's words, outermost first: bcc prefixes
/// each set flag to the op name ("Sync-Write"), NoWait ending up first.
const BCC_FLAGS: &[(u32, &str)] = &[
    (F_NOWAIT, "NoWait"),
    (F_BACKGROUND, "Background"),
    (F_RAHEAD, "ReadAhead"),
    (F_IDLE, "Idle"),
    (F_NOMERGE, "NoMerge"),
    (F_PRIO, "Priority"),
    (F_PREFLUSH, "PreFlush"),
    (F_FUA, "ForcedUnitAccess"),
    (F_META, "Metadata"),
    (F_SYNC, "Sync"),
];

/// biolatency -F's label, e.g. "Idle-Sync-Write".
pub fn bcc_flags(opflags: u32) -> String {
    let o = op(opflags);
    let f = flags(opflags);
    let mut parts: Vec<&str> = BCC_FLAGS
        .iter()
        .filter(|(bit, _)| f & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    parts.push(OPS.iter().find(|e| e.0 == o).map_or("Unknown", |e| e.2));
    parts.join("-")
}

/// Flag names for JSON, e.g. ["sync", "idle"].
pub fn flag_names(opflags: u32) -> Vec<&'static str> {
    const NAMES: &[(u32, &str)] = &[
        (F_SYNC, "sync"),
        (F_META, "meta"),
        (F_PRIO, "prio"),
        (F_NOMERGE, "nomerge"),
        (F_IDLE, "idle"),
        (F_INTEGRITY, "integrity"),
        (F_FUA, "fua"),
        (F_PREFLUSH, "preflush"),
        (F_RAHEAD, "rahead"),
        (F_BACKGROUND, "background"),
        (F_NOWAIT, "nowait"),
    ];
    let f = flags(opflags);
    NAMES
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// The kernel's rwbs letters (blktrace, the block tracepoints, libbpf-tools'
/// biosnoop T column): e.g. "W", "WS", "RA", "FWFS", "D".
pub fn rwbs(opflags: u32) -> String {
    let f = flags(opflags);
    let mut s = String::new();
    if f & F_PREFLUSH != 0 {
        s.push('F');
    }
    s.push_str(match op(opflags) {
        OP_WRITE => "W",
        OP_READ => "R",
        OP_DISCARD => "D",
        OP_SECURE_ERASE => "DE",
        OP_FLUSH => "F",
        _ => "N",
    });
    for (bit, c) in [(F_FUA, 'F'), (F_RAHEAD, 'A'), (F_SYNC, 'S'), (F_META, 'M')] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// A kernel dev_t (major << 20 | minor) as "major:minor".
pub fn dev_string(dev: u32) -> String {
    format!("{}:{}", dev >> 20, dev & 0xfffff)
}

/// Disk names by dev_t, from /sys/dev/block (devices that appear while a
/// tool runs, such as a new loop device, are found on first sight).
#[derive(Default)]
pub struct Disks {
    names: RefCell<HashMap<u32, String>>,
}

impl Disks {
    pub fn name(&self, dev: u32) -> String {
        if dev == 0 {
            return "?".to_string();
        }
        if let Some(n) = self.names.borrow().get(&dev) {
            return n.clone();
        }
        let link = std::fs::read_link(format!("/sys/dev/block/{}", dev_string(dev)));
        match link
            .ok()
            .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()))
        {
            Some(n) => {
                self.names.borrow_mut().insert(dev, n.clone());
                n
            }
            // Gone already or never named: show the numbers, ask again next time.
            None => dev_string(dev),
        }
    }
}

/// A `-d DISK` filter: the device's dev_t and whether it is a partition.
#[derive(Debug, Clone)]
pub struct DiskFilter {
    pub name: String,
    pub dev: u32,
    pub is_part: bool,
}

/// Resolve `-d` ("sda", "/dev/nvme0n1p1", "loop3") through /sys/class/block.
pub fn resolve_disk(arg: &str) -> Result<DiskFilter> {
    let name = arg.trim().trim_start_matches("/dev/");
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(usage(format!(
            "'{arg}' is not a disk name (e.g. sda, nvme0n1, loop0)"
        )));
    }
    let dir = Path::new("/sys/class/block").join(name);
    let text = std::fs::read_to_string(dir.join("dev")).map_err(|_| {
        usage(format!(
            "no disk or partition named '{name}' (see /proc/partitions)"
        ))
    })?;
    let (maj, min) = text
        .trim()
        .split_once(':')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .ok_or_else(|| usage(format!("cannot read the device number of '{name}'")))?;
    Ok(DiskFilter {
        name: name.to_string(),
        dev: maj << 20 | min,
        is_part: dir.join("partition").exists(),
    })
}

/// Copy a `-d` filter into a block tool's rodata: `set_disk_filter!(ro, filter)`.
#[macro_export]
macro_rules! set_disk_filter {
    ($rodata:expr, $filter:expr) => {{
        if let Some(f) = &$filter {
            let r = &mut *$rodata;
            r.blk_filter_dev = f.dev;
            r.blk_filter_is_part = f.is_part;
        }
    }};
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns().
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let direct_write = OP_WRITE | (F_SYNC | F_IDLE) << 8;
        assert_eq!(bcc_flags(direct_write), "Idle-Sync-Write");
        assert_eq!(rwbs(direct_write), "WS");
        assert_eq!(op_name(direct_write), "write");
        assert_eq!(flag_names(direct_write), ["sync", "idle"]);
        assert_eq!(bcc_flags(OP_READ), "Read");
        assert_eq!(rwbs(OP_READ | F_RAHEAD << 8), "RA");
        assert_eq!(rwbs(OP_WRITE | (F_PREFLUSH | F_FUA | F_SYNC) << 8), "FWFS");
        assert_eq!(rwbs(OP_FLUSH), "F");
        assert_eq!(rwbs(OP_SECURE_ERASE), "DE");
        assert_eq!(bcc_flags(15), "Unknown");
        assert_eq!(op_name(15), "other");
        assert_eq!(dev_string(259 << 20 | 3), "259:3");
    }

    #[test]
    fn disks() {
        assert!(resolve_disk("no-such-disk-here").is_err());
        assert!(resolve_disk("../../etc").is_err());
        assert!(resolve_disk("").is_err());
        // Every host has some block device; check one round trip.
        if let Some(e) = std::fs::read_dir("/sys/class/block")
            .ok()
            .and_then(|mut d| d.next())
        {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let f = resolve_disk(&format!("/dev/{name}")).unwrap();
            assert_eq!(Disks::default().name(f.dev), name);
        }
    }
}
