//! One fentry program on many kernel functions. An fentry program is
//! verified against one function's BTF, so each extra function needs its
//! own program: after the skeleton has loaded the program for the first
//! function, its final instructions (map references already resolved) are
//! loaded again for each other function and attached there. Every copy
//! shares the skeleton's maps.
//!
//! The program must not call BPF-to-BPF functions (copies carry no BTF);
//! `static __always_inline` helpers are fine. Copies tell their function
//! apart with `bpf_get_func_ip`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anyhow::{anyhow, Result};
use libbpf_rs::libbpf_sys as sys;

/// A copy attached to one function; detached when dropped.
pub struct FentryCopy {
    // Field order: the link closes before the program.
    _link: OwnedFd,
    _prog: OwnedFd,
}

/// The kernel's BTF, parsed once, to find the functions fentry can reach.
pub struct VmlinuxFuncs {
    btf: std::ptr::NonNull<sys::btf>,
}

impl VmlinuxFuncs {
    pub fn load() -> Result<VmlinuxFuncs> {
        // SAFETY: libbpf reads /sys/kernel/btf/vmlinux; NULL on failure.
        let btf = unsafe { sys::btf__load_vmlinux_btf() };
        std::ptr::NonNull::new(btf)
            .map(|btf| VmlinuxFuncs { btf })
            .ok_or_else(|| {
                anyhow!(
                    "cannot read the kernel's BTF: {}",
                    std::io::Error::last_os_error()
                )
            })
    }

    /// The BTF id of a function in vmlinux (not in modules), if it has one.
    pub fn id(&self, func: &str) -> Option<u32> {
        let name = CString::new(func).ok()?;
        // SAFETY: a live btf object and a valid C string.
        let id = unsafe {
            sys::btf__find_by_name_kind(self.btf.as_ptr(), name.as_ptr(), sys::BTF_KIND_FUNC)
        };
        (id > 0).then_some(id as u32)
    }
}

impl Drop for VmlinuxFuncs {
    fn drop(&mut self) {
        // SAFETY: freed once, by its only owner.
        unsafe { sys::btf__free(self.btf.as_ptr()) };
    }
}

fn last_error(rc: i32) -> std::io::Error {
    std::io::Error::from_raw_os_error(if rc < 0 { -rc } else { libc::EINVAL })
}

/// Load a copy of `prog` (already loaded as fentry) for `func` and attach it.
pub fn attach_copy(
    prog: &libbpf_rs::Program<'_>,
    btf: &VmlinuxFuncs,
    func: &str,
) -> Result<FentryCopy> {
    let id = btf
        .id(func)
        .ok_or_else(|| anyhow!("{func} has no BTF description"))?;
    let insns = prog.insns();
    if insns.is_empty() {
        return Err(anyhow!("the fentry program has no instructions to copy"));
    }
    let name = CString::new(prog.name().to_string_lossy().into_owned()).unwrap_or_default();
    let license = CString::new("GPL").unwrap_or_default();
    // SAFETY: zeroed options are libbpf's defaults; sz tells it the size.
    let mut opts: sys::bpf_prog_load_opts = unsafe { std::mem::zeroed() };
    opts.sz = std::mem::size_of::<sys::bpf_prog_load_opts>() as _;
    opts.expected_attach_type = sys::BPF_TRACE_FENTRY;
    opts.attach_btf_id = id;
    // SAFETY: insns live as long as the loaded program `prog`; strings and
    // opts outlive the call.
    let fd = unsafe {
        sys::bpf_prog_load(
            sys::BPF_PROG_TYPE_TRACING,
            name.as_ptr(),
            license.as_ptr(),
            insns.as_ptr(),
            insns.len() as _,
            &mut opts,
        )
    };
    if fd < 0 {
        return Err(anyhow!("loading fentry for {func}: {}", last_error(fd)));
    }
    // SAFETY: a fresh fd from the kernel.
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain syscall wrappers on our own fd.
    let mut link = unsafe {
        sys::bpf_link_create(
            prog_fd.as_raw_fd(),
            0,
            sys::BPF_TRACE_FENTRY,
            std::ptr::null(),
        )
    };
    if link < 0 {
        // Kernels before link_create for tracing programs.
        link = unsafe { sys::bpf_raw_tracepoint_open(std::ptr::null(), prog_fd.as_raw_fd()) };
    }
    if link < 0 {
        return Err(anyhow!("attaching fentry to {func}: {}", last_error(link)));
    }
    Ok(FentryCopy {
        // SAFETY: a fresh fd from the kernel.
        _link: unsafe { OwnedFd::from_raw_fd(link) },
        _prog: prog_fd,
    })
}
