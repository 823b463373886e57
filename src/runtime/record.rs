//! Records from the ring buffer as the skeleton's generated types.

/// Copy a record into `T`. A record may be shorter than `T` when the BPF side
/// sends only the used part of a trailing buffer; the rest stays zeroed.
/// None when it is shorter than `min_len` (a truncated or foreign record).
pub fn read<T: plain::Plain + Default>(data: &[u8], min_len: usize) -> Option<T> {
    if data.len() < min_len {
        return None;
    }
    let mut v = T::default();
    let n = data.len().min(std::mem::size_of::<T>());
    // SAFETY: T is Plain, so every byte pattern is a valid T.
    let bytes = unsafe { plain::as_mut_bytes(&mut v) };
    bytes[..n].copy_from_slice(&data[..n]);
    Some(v)
}

#[cfg(test)]
mod tests {
    #[derive(Default, Clone, Copy)]
    #[repr(C)]
    struct R {
        a: u32,
        b: [u8; 8],
    }
    unsafe impl plain::Plain for R {}

    #[test]
    fn short_and_full() {
        let r: R = super::read(&[1, 0, 0, 0, b'x'], 4).unwrap();
        assert_eq!(r.a, 1);
        assert_eq!(r.b, [b'x', 0, 0, 0, 0, 0, 0, 0]);
        assert!(super::read::<R>(&[1, 2], 4).is_none());
        let r: R = super::read(&[0u8; 64], 4).unwrap();
        assert_eq!(r.a, 0);
    }
}
