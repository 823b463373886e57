//! profile: sample stack traces on a timer and count them.
//! Kernel side: src/bpf/profile.bpf.c (map layouts: src/bpf/profile.h).

use std::os::fd::{AsRawFd, IntoRawFd};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use libbpf_rs::{Link, MapCore, MapFlags};
use serde_json::{json, Value};

use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, Common};
use crate::runtime::ctx::find_map;
use crate::runtime::error::usage;
use crate::runtime::missed;
use crate::runtime::perf::{self, Sampling};
use crate::runtime::syms::{KernelSyms, UserBatch, UserSyms};
use crate::runtime::{escape, record, Ctx};
use crate::set_filter;
use crate::skel::profile::{types, ProfileSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "profile",
    about: "Profile CPU usage by sampling stack traces at a timed interval",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  profile               # profile stack traces at 49 Hertz until Ctrl-C
  profile -F 99         # profile stack traces at 99 Hertz
  profile -c 1000000    # one sample every 1,000,000 ns of CPU time
  profile 5             # profile at 49 Hertz for 5 seconds only
  profile -f 5          # folded output for flame graphs, 5 seconds
  profile -adf 10 > out.folded   # with _[k] annotations and a - delimiter
  profile -p 185        # only process 185
  profile -L 185        # only thread 185
  profile -U            # only user stacks (no kernel)
  profile -K            # only kernel stacks (no user)
  profile -C 0          # only CPU 0
  profile --json 5      # one JSON object per unique stack

Samples come from the software CPU clock perf event on each CPU, which
exists in VMs too. Kernel frames are named from /proc/kallsyms; user frames
with the process's ELF and DWARF symbols, so processes that exit before the
end show [unknown]. User stacks are walked by frame pointers: code built
without them shows short or broken user stacks. --stack-storage-size
defaults to 1024 as in libbpf-tools (bcc's Python tool uses 16384, about
16 MiB of kernel memory); a warning says when it was too small.";

/// Profile CPU stack traces at a timed interval
#[derive(Parser, Debug)]
#[command(name = "profile", version, after_help = EXAMPLES)]
struct Args {
    /// Show stacks from user space only (no kernel space stacks)
    #[arg(short = 'U', long = "user-stacks-only", conflicts_with = "kernel_only")]
    user_only: bool,
    /// Show stacks from kernel space only (no user space stacks)
    #[arg(short = 'K', long = "kernel-stacks-only")]
    kernel_only: bool,
    /// Sample frequency, Hertz [default: 49]
    #[arg(short = 'F', long = "frequency", value_name = "HZ", conflicts_with = "count",
          value_parser = cli::parse_count)]
    frequency: Option<u64>,
    /// Sample period: one sample every COUNT nanoseconds of CPU clock
    #[arg(short = 'c', long = "count", value_name = "COUNT", value_parser = cli::parse_count)]
    count: Option<u64>,
    /// Insert a delimiter between kernel and user stacks
    #[arg(short = 'd', long = "delimited")]
    delimited: bool,
    /// Add _[k] annotations to kernel frames
    #[arg(short = 'a', long = "annotations")]
    annotations: bool,
    /// Include CPU idle stacks
    #[arg(short = 'I', long = "include-idle")]
    include_idle: bool,
    /// Output folded format, one line per stack (for flame graphs)
    #[arg(short = 'f', long = "folded")]
    folded: bool,
    /// The number of unique stack traces that can be stored and displayed
    /// (each takes about 1 KiB of kernel memory)
    #[arg(long = "stack-storage-size", value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1 << 20))]
    stack_storage_size: u32,
    /// Sample this CPU only
    #[arg(short = 'C', long = "cpu", value_name = "CPU")]
    cpu: Option<u32>,
    /// Duration of the trace, in seconds
    // Its own id: "duration" is the common --duration's (clap would mix them).
    #[arg(id = "duration_pos", value_name = "DURATION", value_parser = cli::parse_duration)]
    duration: Option<Duration>,
    #[command(flatten)]
    common: Common,
}

const DEFAULT_HZ: u64 = 49;

const EFAULT: i32 = 14;
/// The BPF side's id for a stack that was not asked for (-U / -K).
const NOT_COLLECTED: i32 = -1;

const PLAN: &[Alt] = &[Alt {
    label: "perf_event on the software CPU clock",
    progs: &["do_sample"],
}];

unsafe impl plain::Plain for types::profile_key {}

/// One side of a sample's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stack {
    /// Addresses, leaf first.
    Frames(Vec<u64>),
    /// Not asked for, or there is none (user mode has no kernel stack).
    None,
    /// It existed but could not be stored (stack map full or a collision).
    Missed,
}

impl Stack {
    fn of(id: i32, stacks: &libbpf_rs::Map<'_>) -> Stack {
        if id == NOT_COLLECTED || id == -EFAULT {
            return Stack::None;
        }
        if id < 0 {
            return Stack::Missed;
        }
        match stacks.lookup(&(id as u32).to_ne_bytes(), MapFlags::ANY) {
            Ok(Some(bytes)) => Stack::Frames(
                bytes
                    .chunks_exact(8)
                    .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
                    .take_while(|&a| a != 0)
                    .collect(),
            ),
            _ => Stack::Missed,
        }
    }

    fn present(&self) -> bool {
        !matches!(self, Stack::None)
    }
}

/// One unique stack and how often it was sampled.
struct Sample {
    pid: u32,
    comm: Vec<u8>,
    user: Stack,
    kernel: Stack,
    count: u64,
}

/// A frame as printed: name, or None for [unknown].
#[derive(Debug, Clone)]
struct Frame {
    addr: u64,
    name: Option<String>,
    offset: u64,
    module: Option<String>,
    kernel: bool,
}

struct Symbols {
    kernel: Option<KernelSyms>,
    user: UserBatch,
}

impl Symbols {
    fn frames(&self, s: &Sample, stack: &Stack, kernel: bool) -> Vec<Frame> {
        let Stack::Frames(addrs) = stack else {
            return Vec::new();
        };
        addrs
            .iter()
            .map(|&addr| {
                let (name, offset, module) = if kernel {
                    match self.kernel.as_ref().and_then(|k| k.find(addr)) {
                        Some(k) => (Some(k.name.to_string()), k.offset, k.module.map(str::to_string)),
                        None => (None, 0, None),
                    }
                } else {
                    match self.user.get(s.pid, addr) {
                        Some(u) => (Some(u.name.clone()), u.offset, u.module.clone()),
                        None => (None, 0, None),
                    }
                };
                Frame { addr, name, offset, module, kernel }
            })
            .collect()
    }
}

struct Style {
    delimited: bool,
    annotations: bool,
}

impl Style {
    fn name(&self, f: &Frame) -> String {
        // User symbol names come from whatever binary ran: never raw.
        let n = f
            .name
            .as_deref()
            .map_or_else(|| "[unknown]".to_string(), |n| escape::printable(n.as_bytes()));
        if f.kernel && self.annotations {
            format!("{n}_[k]")
        } else {
            n.to_string()
        }
    }
}

/// bcc's default output: kernel frames then user frames, leaf first, the
/// process line, the count.
fn stack_lines(style: &Style, s: &Sample, kframes: &[Frame], uframes: &[Frame]) -> Vec<String> {
    let mut out = Vec::new();
    match &s.kernel {
        Stack::Missed => out.push("    [Missed Kernel Stack]".to_string()),
        _ => out.extend(kframes.iter().map(|f| format!("    {}", style.name(f)))),
    }
    if style.delimited && s.kernel.present() && s.user.present() {
        out.push("    --".to_string());
    }
    match &s.user {
        Stack::Missed => out.push("    [Missed User Stack]".to_string()),
        _ => out.extend(uframes.iter().map(|f| format!("    {}", style.name(f)))),
    }
    out.push(format!("    {:<16} {} ({})", "-", escape::printable(&s.comm), s.pid));
    out.push(format!("        {}", s.count));
    out.push(String::new());
    out
}

/// Folded: "comm;user frames root first;-;kernel frames root first COUNT".
fn folded_line(style: &Style, s: &Sample, kframes: &[Frame], uframes: &[Frame]) -> String {
    // ';' separates frames and the last space the count: keep them out of names.
    let clean = |t: String| t.replace(';', ":");
    let mut parts = vec![clean(escape::printable(&s.comm))];
    match &s.user {
        Stack::Missed => parts.push("[Missed User Stack]".to_string()),
        _ => parts.extend(uframes.iter().rev().map(|f| clean(style.name(f)))),
    }
    if style.delimited && s.kernel.present() && s.user.present() {
        parts.push("-".to_string());
    }
    match &s.kernel {
        Stack::Missed => parts.push("[Missed Kernel Stack]".to_string()),
        _ => parts.extend(kframes.iter().rev().map(|f| clean(style.name(f)))),
    }
    format!("{} {}", parts.join(";"), s.count)
}

fn frame_json(f: &Frame) -> Value {
    let mut v = json!({
        // Hex text: kernel addresses do not fit a JSON reader's doubles.
        "addr": format!("{:#x}", f.addr),
        "func": f.name,
        "offset": f.offset,
        "space": if f.kernel { "kernel" } else { "user" },
    });
    if let Some(m) = &f.module {
        v["module"] = json!(m);
    }
    v
}

fn to_json(s: &Sample, kframes: &[Frame], uframes: &[Frame]) -> Value {
    json!({
        "pid": s.pid,
        "comm": escape::json_text(&s.comm),
        "count": s.count,
        // Leaf first: kernel frames (if any) above the user frames.
        "frames": kframes.iter().chain(uframes).map(frame_json).collect::<Vec<_>>(),
        "kernel_stack_missed": s.kernel == Stack::Missed,
        "user_stack_missed": s.user == Stack::Missed,
    })
}

/// Hardening hook (tests/hardening.rs): a sample whose frame names, module
/// and comm are the hostile bytes, rendered every way the tool can.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let (name, comm) = data.split_at(data.len() / 2);
    let name = String::from_utf8_lossy(name).into_owned();
    let frame = |kernel| Frame {
        addr: 0x1000,
        name: Some(name.clone()),
        offset: 0x10,
        module: Some(name.clone()),
        kernel,
    };
    let s = Sample {
        pid: 1,
        comm: escape::cstr(&comm[..comm.len().min(16)]).to_vec(),
        user: Stack::Frames(vec![0x1000]),
        kernel: Stack::Frames(vec![0x1000]),
        count: 1,
    };
    let (k, u) = (vec![frame(true)], vec![frame(false)]);
    let mut out = Vec::new();
    for (delimited, annotations) in [(true, true), (false, false)] {
        let style = Style { delimited, annotations };
        out.extend(stack_lines(&style, &s, &k, &u));
        out.push(folded_line(&style, &s, &k, &u));
    }
    out.push(crate::runtime::output::json_string(&to_json(&s, &k, &u)));
    out
}

fn banner(a: &Args, sampling: Sampling, duration: Option<Duration>) -> String {
    let rate = match sampling {
        Sampling::Frequency(hz) => format!("{hz} Hertz"),
        Sampling::Period(n) => format!("every {n} ns of CPU clock"),
    };
    let whom = match (a.common.pid, a.common.tid) {
        (Some(p), _) => format!("PID {p}"),
        (None, Some(t)) => format!("TID {t}"),
        _ => "all threads".to_string(),
    };
    let stacks = if a.user_only {
        "user stack"
    } else if a.kernel_only {
        "kernel stack"
    } else {
        "user + kernel stack"
    };
    let cpu = a.cpu.map(|c| format!(" on CPU#{c}")).unwrap_or_default();
    match duration {
        Some(d) => format!("Sampling at {rate} of {whom} by {stacks}{cpu} for {} secs.", d.as_secs_f64()),
        None => format!("Sampling at {rate} of {whom} by {stacks}{cpu}... Hit Ctrl-C to end."),
    }
}

fn read_samples(obj: &libbpf_rs::Object) -> Result<Vec<Sample>> {
    let counts = find_map(obj, "counts")?;
    let stacks = find_map(obj, "stacks")?;
    let mut out = Vec::new();
    for k in counts.keys() {
        let Some(key) = record::read::<types::profile_key>(&k, k.len()) else { continue };
        let count = match counts.lookup(&k, MapFlags::ANY) {
            Ok(Some(v)) if v.len() >= 8 => u64::from_ne_bytes(v[..8].try_into().unwrap_or([0; 8])),
            _ => continue,
        };
        out.push(Sample {
            pid: key.pid,
            comm: escape::cchars(&key.comm),
            user: Stack::of(key.user_stack_id, &stacks),
            kernel: Stack::of(key.kernel_stack_id, &stacks),
            count,
        });
    }
    // Ascending, as bcc prints: the hottest stacks end up next to the prompt.
    out.sort_by(|a, b| a.count.cmp(&b.count).then(a.pid.cmp(&b.pid)));
    Ok(out)
}

fn report(ctx: &Ctx, a: &Args, obj: &libbpf_rs::Object) -> Result<()> {
    let samples = read_samples(obj)?;
    let kernel = if a.user_only {
        None
    } else {
        match KernelSyms::load() {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("{}: {e:#}", ctx.tool);
                None
            }
        }
    };
    let user_syms = UserSyms::new();
    let mut user = UserBatch::default();
    for s in &samples {
        if let Stack::Frames(addrs) = &s.user {
            user.add(s.pid, addrs);
        }
    }
    user.resolve(&user_syms);
    let syms = Symbols { kernel, user };
    let style = Style { delimited: a.delimited, annotations: a.annotations };
    let mut missed = 0u64;
    for s in &samples {
        if s.user == Stack::Missed || s.kernel == Stack::Missed {
            missed += 1;
        }
        let kframes = syms.frames(s, &s.kernel, true);
        let uframes = syms.frames(s, &s.user, false);
        let mut out = ctx.out();
        if ctx.common.json {
            out.json_line(&to_json(s, &kframes, &uframes))?;
        } else if a.folded {
            out.line(&folded_line(&style, s, &kframes, &uframes))?;
        } else {
            for l in stack_lines(&style, s, &kframes, &uframes) {
                out.line(&l)?;
            }
        }
    }
    ctx.out().flush()?;
    if missed > 0 {
        // bcc's words, after the tool's name like every other message.
        eprintln!(
            "{}: WARNING: {missed} stack traces could not be displayed. Consider increasing --stack-storage-size.",
            ctx.tool
        );
    }
    missed::report(ctx, obj, "samples of new stacks (see --stack-storage-size)");
    Ok(())
}

fn sampling(a: &Args) -> Result<Sampling> {
    if let Some(n) = a.count {
        return Ok(Sampling::Period(n));
    }
    let hz = a.frequency.unwrap_or(DEFAULT_HZ);
    if let Some(max) = perf::max_sample_rate() {
        if hz > max {
            return Err(usage(format!(
                "-F {hz} is above the kernel's limit of {max} Hz (kernel.perf_event_max_sample_rate)"
            )));
        }
    }
    Ok(Sampling::Frequency(hz))
}

fn cpus(a: &Args) -> Result<Vec<u32>> {
    let online = perf::online_cpus()?;
    match a.cpu {
        Some(c) if online.contains(&c) => Ok(vec![c]),
        Some(c) => Err(usage(format!("CPU {c} is not online (online: {})", list(&online)))),
        None => Ok(online),
    }
}

fn list(cpus: &[u32]) -> String {
    cpus.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn run(inv: &Invocation) -> Result<()> {
    let mut args: Args = cli::parse(inv, &[("pid", 'p'), ("tid", 'L')])?;
    if let Some(d) = args.duration {
        args.common.duration = Some(d);
    }
    let sampling = sampling(&args)?;
    let cpus = cpus(&args)?;
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    ctx.hold_ready();
    let storage = args.stack_storage_size;
    let (skel, _alt) = ctx.load::<ProfileSkelBuilder>(PLAN, |open, _alt| {
        open.maps.stacks.set_max_entries(storage)?;
        open.maps.counts.set_max_entries(storage)?;
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("profile's BPF object has no rodata")?;
        set_filter!(ro, ctx);
        ro.kernel_stacks = !args.user_only;
        ro.user_stacks = !args.kernel_only;
        ro.include_idle = args.include_idle;
        Ok(())
    })?;

    let mut links: Vec<Link> = Vec::with_capacity(cpus.len());
    for &cpu in &cpus {
        let fd = perf::open_cpu_clock(cpu, sampling).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::EOPNOTSUPP) => {
                anyhow!("this kernel has no software CPU clock perf event ({e})")
            }
            Some(libc::EINVAL) if matches!(sampling, Sampling::Frequency(_)) => {
                anyhow!("the kernel refused a sampling rate of {sampling:?} ({e})")
            }
            _ => anyhow!("cannot open a CPU clock perf event on CPU {cpu}: {e}"),
        })?;
        let raw = fd.as_raw_fd();
        let link = skel
            .progs
            .do_sample
            .attach_perf_event(raw)
            .with_context(|| format!("cannot attach to the perf event on CPU {cpu}"))?;
        // The link owns the perf event fd now and closes it when dropped.
        let _ = fd.into_raw_fd();
        links.push(link);
    }
    ctx.keep_all(links);
    ctx.verbose(format!("sampling CPUs {}", list(&cpus)));
    ctx.ready();

    if !ctx.common.json && !args.folded {
        ctx.out().line(&banner(&args, sampling, args.common.duration))?;
        ctx.out().flush()?;
    }
    ctx.run_interval(None, None, |_| Ok(()))?;
    // Stop sampling before reading, so the report is one consistent set.
    ctx.detach_all();
    report(&ctx, &args, skel.object())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, kernel: bool) -> Frame {
        Frame { addr: 1, name: Some(name.into()), offset: 0, module: None, kernel }
    }

    fn sample(user: Stack, kernel: Stack) -> Sample {
        Sample { pid: 42, comm: b"dd".to_vec(), user, kernel, count: 7 }
    }

    #[test]
    fn folded_and_plain() {
        let k = vec![frame("vfs_read", true), frame("ksys_read", true)];
        let u = vec![frame("read", false), Frame { name: None, ..frame("", false) }];
        let s = sample(Stack::Frames(vec![1, 2]), Stack::Frames(vec![3, 4]));
        let st = Style { delimited: true, annotations: true };
        assert_eq!(folded_line(&st, &s, &k, &u), "dd;[unknown];read;-;ksys_read_[k];vfs_read_[k] 7");
        let st = Style { delimited: false, annotations: false };
        assert_eq!(folded_line(&st, &s, &k, &u), "dd;[unknown];read;ksys_read;vfs_read 7");
        let lines = stack_lines(&Style { delimited: true, annotations: false }, &s, &k, &u);
        assert_eq!(
            lines,
            vec![
                "    vfs_read",
                "    ksys_read",
                "    --",
                "    read",
                "    [unknown]",
                "    -                dd (42)",
                "        7",
                ""
            ]
        );
        let s = sample(Stack::Missed, Stack::None);
        let st = Style { delimited: true, annotations: false };
        assert_eq!(folded_line(&st, &s, &[], &[]), "dd;[Missed User Stack] 7");
        let v = to_json(&sample(Stack::Frames(vec![1]), Stack::None), &[], &u[..1]);
        assert_eq!(v["frames"][0]["func"], "read");
        assert_eq!(v["frames"][0]["space"], "user");
        assert_eq!(v["kernel_stack_missed"], false);
    }

    #[test]
    fn flags() {
        let a = Args::try_parse_from(["profile", "-adf", "-F", "99", "5"]).unwrap();
        assert!(a.annotations && a.delimited && a.folded);
        assert_eq!(a.frequency, Some(99));
        assert_eq!(a.duration, Some(Duration::from_secs(5)));
        assert!(Args::try_parse_from(["profile", "-U", "-K"]).is_err());
        assert!(Args::try_parse_from(["profile", "-F", "9", "-c", "10"]).is_err());
        assert!(Args::try_parse_from(["profile", "-F", "0"]).is_err());
        assert!(Args::try_parse_from(["profile", "--stack-storage-size", "0"]).is_err());
        let a = Args::try_parse_from(["profile", "-c", "1000000", "-C", "0"]).unwrap();
        assert_eq!(banner(&a, Sampling::Period(1000000), None),
            "Sampling at every 1000000 ns of CPU clock of all threads by user + kernel stack on CPU#0... Hit Ctrl-C to end.");
        let a = Args::try_parse_from(["profile"]).unwrap();
        assert_eq!(banner(&a, Sampling::Frequency(49), Some(Duration::from_secs(5))),
            "Sampling at 49 Hertz of all threads by user + kernel stack for 5 secs.");
    }
}
