//! The `missed` counter of src/bpf/common/missed.bpf.h: work a tool skipped
//! because a bounded map was full, reported once at exit.

use libbpf_rs::{MapCore, MapFlags, Object};

use crate::runtime::ctx::find_map;
use crate::runtime::hist::sum_percpu_u64;
use crate::runtime::Ctx;

/// The total of the object's `missed` counter (0 when it has none).
pub fn missed(obj: &Object) -> u64 {
    let Ok(map) = find_map(obj, "missed") else {
        return 0;
    };
    match map.lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY) {
        Ok(Some(per_cpu)) => sum_percpu_u64(&per_cpu),
        _ => 0,
    }
}

/// Say on stderr how many `what` (e.g. "I/O requests") were not counted.
pub fn report(ctx: &Ctx, obj: &Object, what: &str) {
    let n = missed(obj);
    if n > 0 {
        eprintln!("{}: {n} {what} not counted (a BPF map was full)", ctx.tool);
    }
}
