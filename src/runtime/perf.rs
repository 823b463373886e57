//! perf events for sampling tools: the software CPU clock on each CPU, which
//! every kernel and every VM has (hardware counters often do not exist under
//! a hypervisor).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use anyhow::{anyhow, Result};

const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// perf_event_attr.freq: sample_period holds a frequency in Hz.
const ATTR_FREQ: u64 = 1 << 10;

/// perf_event_attr up to sig_data (PERF_ATTR_SIZE_VER7); kernels that know
/// less accept it as long as the fields they do not know are zero.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period_or_freq: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved2: u16,
    aux_sample_size: u32,
    reserved3: u32,
    sig_data: u64,
}

/// How often to sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Samples per second on each CPU.
    Frequency(u64),
    /// One sample every N nanoseconds of CPU clock (bcc's `-c`).
    Period(u64),
}

/// Open the software CPU clock on `cpu` for all processes, sampling as asked.
pub fn open_cpu_clock(cpu: u32, sampling: Sampling) -> io::Result<OwnedFd> {
    let mut attr = PerfEventAttr {
        type_: PERF_TYPE_SOFTWARE,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config: PERF_COUNT_SW_CPU_CLOCK,
        ..Default::default()
    };
    match sampling {
        Sampling::Frequency(hz) => {
            attr.sample_period_or_freq = hz;
            attr.flags |= ATTR_FREQ;
        }
        Sampling::Period(n) => attr.sample_period_or_freq = n,
    }
    // SAFETY: perf_event_open with a valid attr; pid -1 with a cpu means
    // every task on that cpu; the fd returned is ours.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The kernel's limit on sampling frequencies.
pub fn max_sample_rate() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Parse a CPU list such as "0-3,8,10-11".
pub fn parse_cpu_list(s: &str) -> Result<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: u32 = a
            .trim()
            .parse()
            .map_err(|_| anyhow!("bad CPU list '{s}'"))?;
        let b: u32 = b
            .trim()
            .parse()
            .map_err(|_| anyhow!("bad CPU list '{s}'"))?;
        if b < a || b - a > 65536 {
            return Err(anyhow!("bad CPU list '{s}'"));
        }
        cpus.extend(a..=b);
    }
    Ok(cpus)
}

/// The CPUs that are online now.
pub fn online_cpus() -> Result<Vec<u32>> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map_err(|e| anyhow!("reading /sys/devices/system/cpu/online: {e}"))?;
    parse_cpu_list(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,8\n").unwrap(), vec![0, 1, 2, 3, 8]);
        assert_eq!(parse_cpu_list("0").unwrap(), vec![0]);
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("x").is_err());
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 128);
    }
}
