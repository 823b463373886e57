//! Reading summary maps from user space.

use anyhow::{Context, Result};
use libbpf_rs::{MapCore, MapFlags};

/// Every (key, value) of a hash map, removing each entry as it is read so
/// the next interval starts from zero (what bcc's `dist.clear()` does).
pub fn take_all<M: MapCore>(map: &M) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let keys: Vec<Vec<u8>> = map.keys().collect();
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        // One syscall where the kernel has it (hash maps, 5.14+), so no
        // update falls between the read and the delete.
        let v = match map.lookup_and_delete(&k) {
            Ok(v) => v,
            Err(_) => {
                let v = map
                    .lookup(&k, MapFlags::ANY)
                    .with_context(|| format!("reading map {}", map.name().to_string_lossy()))?;
                let _ = map.delete(&k);
                v
            }
        };
        if let Some(v) = v {
            out.push((k, v));
        }
    }
    Ok(out)
}
