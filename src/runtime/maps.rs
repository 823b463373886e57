//! Reading summary maps from user space.

use anyhow::{Context, Result};
use libbpf_rs::{MapCore, MapFlags, Object};

use crate::runtime::ctx::find_map;
use crate::runtime::{hist, record};

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

/// Slot 0 of a per-CPU array whose value is u64 counters, summed word by
/// word over the CPUs.
pub fn percpu_words(obj: &Object, name: &str) -> Result<Vec<u64>> {
    let map = find_map(obj, name)?;
    let per_cpu = map
        .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
        .with_context(|| format!("reading map {name}"))?
        .unwrap_or_default();
    Ok(hist::sum_percpu_words(&per_cpu))
}

/// Counters that BPF only adds to (a per-CPU array slot), read as what they
/// gained since the last reading: an interval tool never clears a map BPF
/// is writing, so no count falls between a read and a clear.
#[derive(Default)]
pub struct Gains {
    last: Vec<u64>,
}

impl Gains {
    pub fn take(&mut self, obj: &Object, name: &str) -> Result<Vec<u64>> {
        let now = percpu_words(obj, name)?;
        Ok(self.gained(now))
    }

    fn gained(&mut self, now: Vec<u64>) -> Vec<u64> {
        let gained = now
            .iter()
            .enumerate()
            .map(|(i, v)| v.wrapping_sub(self.last.get(i).copied().unwrap_or(0)))
            .collect();
        self.last = now;
        gained
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gains_are_differences() {
        let mut g = Gains::default();
        assert_eq!(g.gained(vec![3, 5]), [3, 5]);
        assert_eq!(g.gained(vec![3, 9]), [0, 4]);
        assert_eq!(g.gained(vec![10, 9]), [7, 0]);
    }
}
