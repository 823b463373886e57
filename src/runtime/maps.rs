//! Reading summary maps from user space.

use anyhow::{Context, Result};
use libbpf_rs::{MapCore, MapFlags, Object};

use crate::runtime::ctx::find_map;
use crate::runtime::record;

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

/// `take_all` on the object's map `name`, each entry read as the
/// skeleton's key and value types (entries of another size are skipped).
pub fn take_all_as<K, V>(obj: &Object, name: &str) -> Result<Vec<(K, V)>>
where
    K: plain::Plain + Default,
    V: plain::Plain + Default,
{
    let map = find_map(obj, name)?;
    Ok(take_all(&map)?
        .into_iter()
        .filter_map(|(k, v)| {
            let k = record::read::<K>(&k, std::mem::size_of::<K>())?;
            let v = record::read::<V>(&v, std::mem::size_of::<V>())?;
            Some((k, v))
        })
        .collect())
}
