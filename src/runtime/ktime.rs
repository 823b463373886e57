//! Kernel timestamps (bpf_ktime_get_ns, CLOCK_MONOTONIC) as bcc's -t column:
//! seconds since the tool started, taken from when the event happened rather
//! than when user space read it.

/// CLOCK_MONOTONIC now, in nanoseconds (what bpf_ktime_get_ns returns).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000) + ts.tv_nsec as u64
}

/// Converts kernel timestamps to seconds since `start`.
#[derive(Debug, Clone, Copy)]
pub struct KernelClock {
    start_ns: u64,
}

impl Default for KernelClock {
    fn default() -> Self {
        Self::new()
    }
}

impl KernelClock {
    pub fn new() -> KernelClock {
        KernelClock {
            start_ns: monotonic_ns(),
        }
    }

    /// Seconds from the start to `ts_ns`; 0 for events stamped before it.
    pub fn secs(&self, ts_ns: u64) -> f64 {
        ts_ns.saturating_sub(self.start_ns) as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_seconds() {
        let c = KernelClock {
            start_ns: 1_000_000_000,
        };
        assert_eq!(c.secs(3_500_000_000), 2.5);
        assert_eq!(c.secs(10), 0.0);
        let a = monotonic_ns();
        assert!(monotonic_ns() >= a);
    }
}
