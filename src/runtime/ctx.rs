//! A running tool's context: checks done once at start, the hook plan
//! carried out, and the loops that read events until it is time to stop.

use std::cell::{Cell, RefCell, RefMut};
use std::fs::File;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{AsRawLibbpf, MapCore, MapFlags, Object, OpenObject, PrintLevel};

use crate::runtime::attach::{self, Alt, Hook, Plan};
use crate::runtime::cli::Common;
use crate::runtime::error::usage;
use crate::runtime::kernel::{self, Kernel};
use crate::runtime::output::{Clock, Output};

/// How long one ring-buffer poll waits: output stays prompt without a
/// wake-up per event.
pub const POLL: Duration = Duration::from_millis(10);

/// The common filters as the BPF side's `struct filter_cfg` wants them.
#[derive(Debug, Clone, Copy, Default)]
pub struct FilterValues {
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub cgroup: bool,
    pub comm_set: bool,
    pub comm: [u8; 16],
}

/// Copy the common filters into a skeleton's rodata `filter` (see
/// src/bpf/common/filter.bpf.h): `set_filter!(rodata, ctx)`.
#[macro_export]
macro_rules! set_filter {
    ($rodata:expr, $ctx:expr) => {{
        let f = $ctx.filter();
        let r = &mut *$rodata;
        r.filter.pid = f.pid;
        r.filter.tid = f.tid;
        r.filter.uid = f.uid;
        r.filter.cgroup = f.cgroup as u8;
        r.filter.comm_set = f.comm_set as u8;
        for (d, s) in r.filter.comm.iter_mut().zip(f.comm.iter()) {
            *d = *s as _;
        }
    }};
}

pub struct Ctx {
    /// The name the tool was called as (used in messages).
    pub tool: String,
    pub common: Common,
    pub kernel: Kernel,
    pub clock: Clock,
    stop: Arc<AtomicBool>,
    out: RefCell<Output>,
    cgroup: Option<OwnedFd>,
    deadline: Option<Instant>,
    hook: Cell<Option<Hook>>,
    pub(crate) lost_reported: Cell<u64>,
    ready_held: Cell<bool>,
    /// Everything attached, detached together when the tool ends.
    links: RefCell<Vec<Box<dyn Send>>>,
}

/// libbpf's log under --verbose, kept until the step that made it is done:
/// a load logs thousands of lines, and one write each took seconds under
/// emulation.
static LIBBPF_LOG: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn print_libbpf(_level: PrintLevel, msg: String) {
    if let Ok(mut log) = LIBBPF_LOG.lock() {
        log.push_str(&msg);
    }
}

/// Write out what libbpf logged so far (--verbose only).
pub fn flush_libbpf_log() {
    let text = match LIBBPF_LOG.lock() {
        Ok(mut log) => std::mem::take(&mut *log),
        Err(_) => return,
    };
    if !text.is_empty() {
        use std::io::Write;
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

fn install_stop_handler(stop: Arc<AtomicBool>) -> Result<()> {
    // Handles SIGINT, SIGTERM and SIGHUP (ctrlc's "termination" feature).
    ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
        .map_err(|e| anyhow!("cannot install the signal handler: {e}"))
}

impl Ctx {
    /// Everything a tool checks before loading: flags that need the system,
    /// privileges, BTF, signals, output.
    pub fn new(tool: &str, common: &Common) -> Result<Ctx> {
        // The local UTC offset must be read before any thread starts.
        let clock = Clock::new();
        if common.verbose {
            libbpf_rs::set_print(Some((PrintLevel::Debug, print_libbpf)));
        } else {
            libbpf_rs::set_print(None);
        }
        let cgroup = match &common.cgroup {
            Some(p) => Some(open_cgroup(p)?),
            None => None,
        };
        kernel::check_privileges()?;
        kernel::check_btf(kernel::custom_btf().as_deref())?;
        let stop = Arc::new(AtomicBool::new(false));
        install_stop_handler(stop.clone())?;
        Ok(Ctx {
            tool: tool.to_string(),
            common: common.clone(),
            kernel: Kernel::default(),
            clock,
            stop,
            out: RefCell::new(Output::stdout(common.json)?),
            cgroup,
            deadline: common.duration.map(|d| Instant::now() + d),
            hook: Cell::new(None),
            lost_reported: Cell::new(0),
            ready_held: Cell::new(false),
            links: RefCell::new(Vec::new()),
        })
    }

    /// Reject common flags this tool cannot honour, with the reason.
    pub fn forbid(&self, flags: &[&str], why: &str) -> Result<()> {
        let c = &self.common;
        for f in flags {
            let set = match *f {
                "pid" => c.pid.is_some(),
                "tid" => c.tid.is_some(),
                "uid" => c.uid.is_some(),
                "comm" => c.comm.is_some(),
                "cgroup" => c.cgroup.is_some(),
                _ => false,
            };
            if set {
                return Err(usage(format!(
                    "--{f} is not supported by {}: {why}",
                    self.tool
                )));
            }
        }
        Ok(())
    }

    pub fn filter(&self) -> FilterValues {
        let c = &self.common;
        let mut comm = [0u8; 16];
        if let Some(name) = &c.comm {
            for (d, s) in comm.iter_mut().zip(name.bytes().take(15)) {
                *d = s;
            }
        }
        FilterValues {
            pid: c.pid.unwrap_or(0),
            tid: c.tid.unwrap_or(0),
            uid: c.uid.unwrap_or(u32::MAX),
            cgroup: self.cgroup.is_some(),
            comm_set: c.comm.is_some(),
            comm,
        }
    }

    pub fn verbose(&self, msg: impl AsRef<str>) {
        if self.common.verbose {
            flush_libbpf_log();
            eprintln!("{}: {}", self.tool, msg.as_ref());
        }
    }

    /// The hook kind the plan settled on.
    pub fn hook(&self) -> Option<Hook> {
        self.hook.get()
    }

    /// Carry out a hook plan: for each alternative `--attach` allows and the
    /// kernel has, open the skeleton with only its programs, let the tool set
    /// rodata (`configure`), load and attach. The first that works wins; if
    /// none does, the error names each alternative and why it failed.
    pub fn load<B>(
        &self,
        plan: Plan,
        mut configure: impl FnMut(&mut B::Output, &Alt) -> Result<()>,
    ) -> Result<(<B::Output as OpenSkel<'static>>::Output, Alt)>
    where
        B: SkelBuilder<'static> + Default,
    {
        let mode = self.common.attach;
        // The loops read per-CPU counters, and libbpf learns the CPU count
        // from a file once: read it before anything is attached, so that
        // opensnoop does not report (and wake up for) the tool's own open.
        let _ = libbpf_rs::num_possible_cpus();
        let mut failures: Vec<String> = Vec::new();
        let mut kinds: Vec<Hook> = Vec::new();
        for alt in plan {
            // The object storage must outlive the skeleton; a few bytes per
            // attempt, made once at start-up.
            let storage: &'static mut MaybeUninit<OpenObject> =
                Box::leak(Box::new(MaybeUninit::uninit()));
            let mut open = open_skel(B::default(), storage)
                .with_context(|| format!("cannot open {}'s BPF object", self.tool))?;
            let mut sections = Vec::new();
            for mut prog in open.open_object_mut().progs_mut() {
                let name = prog.name().to_string_lossy().into_owned();
                let wanted = alt.progs.contains(&name.as_str());
                if wanted {
                    sections.push(prog.section().to_string_lossy().into_owned());
                }
                prog.set_autoload(wanted);
            }
            let hook = attach::hook_of(&sections);
            kinds.push(hook);
            if !attach::mode_allows(mode, hook) {
                continue;
            }
            if let Some(why) = attach::missing(&self.kernel, &sections) {
                self.verbose(format!("not using {hook} ({}): {why}", alt.label));
                failures.push(format!("{hook} ({}): {why}", alt.label));
                continue;
            }
            configure(&mut open, alt)?;
            let skel = match open.load() {
                Ok(s) => s,
                Err(e) => {
                    let why = describe_bpf_error("load", &e);
                    self.verbose(format!("not using {hook} ({}): {why}", alt.label));
                    failures.push(format!("{hook} ({}): {why}", alt.label));
                    continue;
                }
            };
            match attach_all(skel.object()) {
                Ok(links) => self.keep_all(links),
                Err(why) => {
                    self.verbose(format!("not using {hook} ({}): {why}", alt.label));
                    failures.push(format!("{hook} ({}): {why}", alt.label));
                    continue;
                }
            }
            if let Some(fd) = &self.cgroup {
                fill_cgroup_map(skel.object(), fd)?;
            }
            self.verbose(format!("using {hook}: {}", alt.label));
            self.hook.set(Some(hook));
            if !self.ready_held.get() {
                self.ready();
            }
            return Ok((skel, *alt));
        }
        if failures.is_empty() {
            kinds.sort();
            kinds.dedup();
            let have: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
            // The tool's name already starts the line.
            return Err(usage(
                format!(
                    "--attach {0:?}: no {0:?} hook path in this tool (it has: {1})",
                    mode,
                    have.join(", ")
                )
                .to_lowercase(),
            ));
        }
        flush_libbpf_log();
        bail!(
            "cannot trace on this kernel: {}{}",
            failures.join("; "),
            if self.common.verbose {
                ""
            } else {
                " (--verbose shows libbpf's log)"
            }
        )
    }

    /// Keep what a tool attached itself (a `Link`, or anything whose drop
    /// detaches) until the tool ends; detached with the rest, in parallel.
    pub fn keep<T: Send + 'static>(&self, link: T) {
        self.links.borrow_mut().push(Box::new(link));
    }

    pub fn keep_all<T: Send + 'static>(&self, links: impl IntoIterator<Item = T>) {
        let mut l = self.links.borrow_mut();
        for link in links {
            l.push(Box::new(link));
        }
    }

    /// Detach everything now (e.g. to stop sampling before a final read).
    pub fn detach_all(&self) {
        detach_in_parallel(std::mem::take(&mut *self.links.borrow_mut()));
    }

    /// For tools that attach programs themselves after `load` (uprobes,
    /// perf events, many targets): `load` then does not announce readiness,
    /// and the tool calls `ready` once everything is attached.
    pub fn hold_ready(&self) {
        self.ready_held.set(true);
    }

    /// Announce that tracing has begun.
    pub fn ready(&self) {
        // Tests and scripts wait for this instead of sleeping: a line on
        // stderr, or with an absolute path, that file created (a check
        // that needs no reading of what may be a long stderr).
        let Some(v) = std::env::var_os("IRONSCOPE_READY") else {
            return;
        };
        eprintln!("{}: ready", self.tool);
        if v.as_encoded_bytes().first() == Some(&b'/') {
            if let Err(e) = File::create(&v) {
                eprintln!("{}: cannot create IRONSCOPE_READY file: {e}", self.tool);
            }
        }
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Ask the loops to stop (e.g. a tool's own count limit was reached).
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn out(&self) -> RefMut<'_, Output> {
        self.out.borrow_mut()
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        detach_in_parallel(std::mem::take(self.links.get_mut()));
        flush_libbpf_log();
    }
}

/// Detach links from many threads at once. Each detach of a tracepoint or
/// fentry waits for an RCU grace period (55-75 ms here for a syscall
/// tracepoint); one after another, fsslower's 26 took 2 s to exit, while
/// waits that overlap share their grace periods.
pub fn detach_in_parallel(links: Vec<Box<dyn Send>>) {
    const THREADS: usize = 32;
    if links.len() <= 1 {
        return;
    }
    let per = links.len().div_ceil(THREADS);
    let mut links = links;
    std::thread::scope(|s| {
        while !links.is_empty() {
            let chunk: Vec<Box<dyn Send>> = links.drain(..per.min(links.len())).collect();
            // A thread that cannot start drops its chunk right here.
            let _ = std::thread::Builder::new().spawn_scoped(s, move || drop(chunk));
        }
    });
}

/// Attach every loaded program that names its own target in its section
/// (what a skeleton's attach does), one link each. Programs libbpf cannot
/// attach by section alone (a uprobe without a path, a perf event) are the
/// tool's to attach. The error names the program that failed.
fn attach_all(obj: &Object) -> std::result::Result<Vec<libbpf_rs::Link>, String> {
    let mut links = Vec::new();
    for prog in obj.progs_mut() {
        if !prog.autoload() {
            continue;
        }
        // SAFETY: a live program of a loaded object.
        let auto = unsafe {
            libbpf_rs::libbpf_sys::bpf_program__autoattach(prog.as_libbpf_object().as_ptr())
        };
        if !auto {
            continue;
        }
        match prog.attach() {
            Ok(l) => links.push(l),
            // EOPNOTSUPP: the section names no target.
            Err(e) if e.kind() == libbpf_rs::ErrorKind::Unsupported => {}
            Err(e) => {
                let why = describe_bpf_error("attach", &e);
                let section = prog.section().to_string_lossy().into_owned();
                detach_in_parallel(
                    links
                        .into_iter()
                        .map(|l| Box::new(l) as Box<dyn Send>)
                        .collect(),
                );
                return Err(format!("{why} ({section})"));
            }
        }
    }
    Ok(links)
}

/// Open a skeleton, relocating against `IRONSCOPE_BTF` when it is set.
fn open_skel<B: SkelBuilder<'static>>(
    builder: B,
    storage: &'static mut MaybeUninit<OpenObject>,
) -> libbpf_rs::Result<B::Output> {
    use std::os::unix::ffi::OsStrExt;
    let Some(path) = kernel::custom_btf() else {
        return builder.open(storage);
    };
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        libbpf_rs::Error::from(std::io::Error::from(std::io::ErrorKind::InvalidInput))
    })?;
    let opts = libbpf_rs::libbpf_sys::bpf_object_open_opts {
        sz: std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_object_open_opts>() as _,
        // libbpf copies the path while opening.
        btf_custom_path: path.as_ptr(),
        ..Default::default()
    };
    builder.open_opts(opts, storage)
}

pub fn find_map<'o>(obj: &'o Object, name: &str) -> Result<libbpf_rs::Map<'o>> {
    obj.maps()
        .find(|m| m.name() == name)
        .ok_or_else(|| anyhow!("BPF object has no map named {name}"))
}

fn open_cgroup(path: &std::path::Path) -> Result<OwnedFd> {
    let f = File::open(path).map_err(|e| usage(format!("--cgroup {}: {e}", path.display())))?;
    if !f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(usage(format!(
            "--cgroup {}: not a directory",
            path.display()
        )));
    }
    // SAFETY: statfs on a valid fd into a zeroed struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::fstatfs(f.as_raw_fd(), &mut st) };
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    if rc != 0 || st.f_type as i64 != CGROUP2_SUPER_MAGIC {
        return Err(usage(format!(
            "--cgroup {}: not a cgroup v2 directory (mount cgroup2 and use a path under it)",
            path.display()
        )));
    }
    Ok(OwnedFd::from(f))
}

fn fill_cgroup_map(obj: &Object, fd: &OwnedFd) -> Result<()> {
    let map = find_map(obj, "cgroup_map")?;
    let val = (fd.as_fd().as_raw_fd() as u32).to_ne_bytes();
    map.update(&0u32.to_ne_bytes(), &val, MapFlags::ANY)
        .context("cannot set the --cgroup filter")
}

/// The errno under a libbpf error, if any. libbpf-rs keeps the io::Error
/// inside without exposing it, so its "(os error N)" text is the way in.
fn errno_of(e: &libbpf_rs::Error) -> Option<i32> {
    let text = e.to_string();
    let start = text.rfind("(os error ")? + "(os error ".len();
    let end = start + text[start..].find(')')?;
    text[start..end].parse().ok()
}

/// libbpf's error in our words; the errno that matters on this platform.
fn describe_bpf_error(step: &str, e: &libbpf_rs::Error) -> String {
    let what = match errno_of(e) {
        Some(libc::EPERM) => "the kernel refused it (EPERM)".to_string(),
        Some(libc::EACCES) => "the verifier rejected a program (EACCES)".to_string(),
        Some(libc::ENOENT) => "a hook target is missing (ENOENT)".to_string(),
        Some(libc::ESRCH) => "a hook target is missing from kernel BTF (ESRCH)".to_string(),
        Some(libc::EINVAL) => "the kernel does not accept it (EINVAL)".to_string(),
        Some(524) => "this kernel does not support it (ENOTSUPP)".to_string(),
        Some(libc::E2BIG) => "a program is too large for this kernel (E2BIG)".to_string(),
        _ => format!("{e}"),
    };
    format!("{step} failed: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bpf_errors_in_our_words() {
        let e = libbpf_rs::Error::from_raw_os_error(libc::EPERM);
        assert_eq!(errno_of(&e), Some(libc::EPERM));
        assert_eq!(
            describe_bpf_error("load", &e),
            "load failed: the kernel refused it (EPERM)"
        );
        let e = libbpf_rs::Error::from_raw_os_error(libc::EACCES);
        assert!(describe_bpf_error("load", &e).contains("verifier"));
        let e = libbpf_rs::Error::from_raw_os_error(libc::ENOENT);
        assert!(describe_bpf_error("attach", &e).contains("ENOENT"));
    }
}
