//! funccount: count calls of kernel functions, tracepoints and user
//! functions matching a pattern.
//! Kernel side: src/bpf/funccount.bpf.c.
//!
//! The probe set is known only at run time, so one generic program per hook
//! kind is attached once per target, with the target's index as BPF cookie
//! (kprobe, kprobe.multi, tracepoint, uprobe). fentry programs are verified
//! per function: the loaded program is copied for every further function
//! (runtime::fentry) and counts under the function's address.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use libbpf_rs::skel::Skel;
use libbpf_rs::{KprobeMultiOpts, KprobeOpts, Link, MapCore, MapFlags, TracepointCategory, TracepointOpts, UprobeOpts};
use serde_json::json;

use crate::runtime::attach::Alt;
use crate::runtime::cli::{self, AttachMode, Common};
use crate::runtime::ctx::find_map;
use crate::runtime::error::{usage, Usage};
use crate::runtime::fentry::{self, FentryCopy, VmlinuxFuncs};
use crate::runtime::hist::sum_percpu_u64;
use crate::runtime::kernel;
use crate::runtime::pattern::Matcher;
use crate::runtime::syms::KernelSyms;
use crate::runtime::uprobes;
use crate::runtime::{escape, Ctx};
use crate::set_filter;
use crate::skel::funccount::{FunccountSkel, FunccountSkelBuilder};
use crate::tools::{Invocation, Tool};

pub const TOOL: Tool = Tool {
    name: "funccount",
    about: "Count kernel functions, tracepoints and user functions matching a pattern",
    aliases: &[],
    run,
};

const EXAMPLES: &str = "\
Examples:
  funccount 'vfs_*'              # count kernel functions starting with \"vfs_\"
  funccount -r '^vfs.*'          # the same, with a regular expression
  funccount -Ti 5 'vfs_*'        # every 5 seconds, with a time of day
  funccount -d 10 'vfs_*'        # trace for 10 seconds only
  funccount -p 185 'vfs_*'       # only calls made by PID 185
  funccount t:sched:sched_fork   # the sched_fork tracepoint
  funccount 't:sched:sched_*'    # every sched tracepoint
  funccount c:malloc             # malloc() calls in libc
  funccount -p 185 c:malloc      # in the libc PID 185 has mapped
  funccount ./test:read*         # \"read*\" functions in the ./test binary
  funccount -r 'c:(write|read)$' # libc's write and read

Patterns: FUNC or p::FUNC for kernel functions, t:CATEGORY:EVENT for
tracepoints, LIB:FUNC or p:LIB:FUNC for user functions (LIB is a path, an
executable on PATH, or a library name such as c for libc). `*` is a
wildcard; with -r the pattern is a regular expression matched from the
start of the name. At most 1000 probes.

Kernel functions need fentry or kprobes; on a kernel with neither, the
tracepoint and user-function modes still work.";

/// Count functions, tracepoints and user functions
#[derive(Parser, Debug)]
#[command(name = "funccount", version, after_help = EXAMPLES)]
struct Args {
    /// Print a summary every INTERVAL seconds
    #[arg(short = 'i', long = "interval", value_name = "INTERVAL", value_parser = cli::parse_interval)]
    interval: Option<Duration>,
    /// Include a time of day (HH:MM:SS) on each summary
    #[arg(short = 'T', long = "timestamp")]
    timestamp: bool,
    /// Use regular expressions (default: * wildcards only)
    #[arg(short = 'r', long = "regexp")]
    regexp: bool,
    /// Count on this CPU only
    #[arg(short = 'c', long = "cpu", value_name = "CPU")]
    cpu: Option<u32>,
    /// What to count: FUNC, t:CATEGORY:EVENT, LIB:FUNC (see below)
    #[arg(value_name = "PATTERN")]
    pattern: String,
    #[command(flatten)]
    common: Common,
}

/// bcc's limit; beyond it, attaching takes minutes and the output is noise.
const MAX_TARGETS: usize = 1000;

const KERNEL_PLAN: &[Alt] = &[
    Alt { label: "one program per function", progs: &["fentry_count"] },
    Alt { label: "kprobe.multi, one link for all functions", progs: &["kmulti_count"] },
    Alt { label: "one probe per function", progs: &["kprobe_count"] },
];
const TRACEPOINT_PLAN: &[Alt] = &[Alt { label: "a tracepoint link per event", progs: &["tp_count"] }];
const UPROBE_PLAN: &[Alt] = &[Alt { label: "a uprobe per function", progs: &["uprobe_count"] }];

/// What the pattern asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Spec {
    Kernel(String),
    Tracepoint(String),
    User { lib: String, func: String },
}

/// bcc's pattern syntax: `func`, `p::func`, `lib:func`, `p:lib:func`,
/// `t:category:event`, `u:lib:probe` (USDT, not supported).
fn parse_spec(pattern: &str) -> Result<Spec> {
    let parts: Vec<&str> = pattern.splitn(3, ':').collect();
    let spec = match parts.as_slice() {
        [func] => Spec::Kernel(func.to_string()),
        [lib, func] => Spec::User { lib: lib.to_string(), func: func.to_string() },
        ["t", cat, event] => Spec::Tracepoint(format!("{cat}:{event}")),
        ["p", "", func] => Spec::Kernel(func.to_string()),
        ["p", lib, func] => Spec::User { lib: lib.to_string(), func: func.to_string() },
        ["u", _, _] => {
            return Err(usage("USDT probes (u:LIB:PROBE) are not supported; user functions are LIB:FUNC"));
        }
        [kind, _, _] => {
            return Err(usage(format!("unknown probe type '{kind}:' (p: function, t: tracepoint)")));
        }
        _ => return Err(usage(format!("cannot parse the pattern '{pattern}'"))),
    };
    let empty = match &spec {
        Spec::Kernel(f) => f.is_empty(),
        Spec::Tracepoint(t) => t.starts_with(':') || t.ends_with(':'),
        Spec::User { lib, func } => lib.is_empty() || func.is_empty(),
    };
    if empty {
        return Err(usage(format!("incomplete pattern '{pattern}'")));
    }
    Ok(spec)
}

/// One thing counted. For a user function, `offset` is its file offset.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    name: String,
    offset: u64,
}

/// The kernel functions ftrace can trace (what kprobes and fentry accept),
/// from available_filter_functions, else kallsyms' text symbols.
fn traceable_kernel_functions() -> Vec<String> {
    let _ = kernel::ensure_tracefs();
    let list = ["/sys/kernel/tracing/available_filter_functions", "/sys/kernel/debug/tracing/available_filter_functions"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok());
    let mut names: Vec<String> = match list {
        // "name" or "name [module]"
        Some(text) => text.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect(),
        None => std::fs::read_to_string("/proc/kallsyms")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (_addr, kind, name) = (f.next()?, f.next()?, f.next()?);
                matches!(kind, "t" | "T").then(|| name.to_string())
            })
            .collect(),
    };
    // Functions kprobes refuse, when debugfs shows them.
    if let Ok(bl) = std::fs::read_to_string("/sys/kernel/debug/kprobes/blacklist") {
        let black: std::collections::HashSet<&str> = bl.lines().filter_map(|l| l.split_whitespace().nth(1)).collect();
        names.retain(|n| !black.contains(n.as_str()));
    }
    names.sort();
    names.dedup();
    names
}

fn tracepoints() -> Result<Vec<String>> {
    kernel::ensure_tracefs()?;
    let root = ["/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir())
        .ok_or_else(|| anyhow!("tracefs has no events directory"))?;
    let mut out = Vec::new();
    for cat in std::fs::read_dir(&root).with_context(|| format!("reading {}", root.display()))?.flatten() {
        if !cat.path().is_dir() {
            continue;
        }
        let cname = cat.file_name().to_string_lossy().into_owned();
        let Ok(events) = std::fs::read_dir(cat.path()) else { continue };
        for ev in events.flatten() {
            // An event directory has an id; "enable" and "filter" files do not.
            if ev.path().join("id").exists() || ev.path().join("format").exists() {
                out.push(format!("{cname}:{}", ev.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The targets a pattern resolves to, and the binary for user functions.
fn resolve(spec: &Spec, regexp: bool, pid: Option<u32>) -> Result<(Vec<Target>, Option<PathBuf>)> {
    let named = |names: Vec<String>| names.into_iter().map(|name| Target { name, offset: 0 }).collect::<Vec<_>>();
    let (targets, binary) = match spec {
        Spec::Kernel(pat) => {
            let m = Matcher::new(pat, regexp)?;
            let names: Vec<String> = traceable_kernel_functions().into_iter().filter(|n| m.matches(n)).collect();
            if names.is_empty() {
                bail!("no traceable kernel function matches '{pat}'");
            }
            (named(names), None)
        }
        Spec::Tracepoint(pat) => {
            let m = Matcher::new(pat, regexp)?;
            let names: Vec<String> = tracepoints()?.into_iter().filter(|n| m.matches(n)).collect();
            if names.is_empty() {
                bail!("no tracepoint matches '{pat}'");
            }
            (named(names), None)
        }
        Spec::User { lib, func } => {
            let m = Matcher::new(func, regexp)?;
            let path = uprobes::find_binary(lib, pid)?;
            let funcs = uprobes::find_functions(&path, &m)?;
            if funcs.is_empty() {
                bail!("no function in {} matches '{func}'", path.display());
            }
            let t = funcs.into_iter().map(|f| Target { name: f.name, offset: f.offset }).collect();
            (t, Some(path))
        }
    };
    if targets.len() > MAX_TARGETS {
        bail!(
            "'{}' matches {} probes; at most {MAX_TARGETS} can be counted at once (narrow the pattern)",
            match spec {
                Spec::Kernel(p) | Spec::Tracepoint(p) => p.as_str(),
                Spec::User { func, .. } => func.as_str(),
            },
            targets.len()
        );
    }
    Ok((targets, binary))
}

/// What keeps the probes attached.
#[derive(Default)]
struct Attached {
    links: Vec<Link>,
    copies: Vec<FentryCopy>,
    /// Targets that could not be attached, with why.
    failed: Vec<(String, String)>,
}

impl Attached {
    fn count(&self) -> usize {
        self.links.len() + self.copies.len()
    }

    /// Probes in place: fentry's first function is the skeleton's own link.
    fn probes(&self, alt: &Alt) -> usize {
        self.count() + usize::from(alt.progs[0] == "fentry_count")
    }
}

fn fail_all(what: &str, failed: &[(String, String)]) -> anyhow::Error {
    let first = failed.first().map(|(n, e)| format!("{n}: {e}")).unwrap_or_default();
    anyhow!("could not attach to any {what} (first: {first})")
}

fn attach(
    skel: &FunccountSkel<'static>,
    alt: &Alt,
    targets: &[Target],
    binary: Option<&PathBuf>,
    pid: Option<u32>,
    btf: Option<&VmlinuxFuncs>,
) -> Result<Attached> {
    let mut a = Attached::default();
    match alt.progs[0] {
        "fentry_count" => {
            // The skeleton attached the first target itself.
            let btf = btf.context("no kernel BTF for fentry copies")?;
            for t in &targets[1..] {
                match fentry::attach_copy(&skel.progs.fentry_count, btf, &t.name) {
                    Ok(c) => a.copies.push(c),
                    Err(e) => a.failed.push((t.name.clone(), format!("{e:#}"))),
                }
            }
        }
        "kmulti_count" => {
            let opts = KprobeMultiOpts {
                symbols: targets.iter().map(|t| t.name.clone()).collect(),
                cookies: (0..targets.len() as u64).collect(),
                retprobe: false,
                ..Default::default()
            };
            let link = skel
                .progs
                .kmulti_count
                .attach_kprobe_multi_with_opts(opts)
                .context("kprobe.multi attach failed")?;
            a.links.push(link);
        }
        "kprobe_count" => {
            for (i, t) in targets.iter().enumerate() {
                let opts = KprobeOpts { cookie: i as u64, ..Default::default() };
                match skel.progs.kprobe_count.attach_kprobe_with_opts(false, &t.name, opts) {
                    Ok(l) => a.links.push(l),
                    Err(e) => a.failed.push((t.name.clone(), e.to_string())),
                }
            }
            if a.links.is_empty() {
                return Err(fail_all("kernel function", &a.failed));
            }
        }
        "tp_count" => {
            for (i, t) in targets.iter().enumerate() {
                let (cat, ev) = t.name.split_once(':').unwrap_or(("", &t.name));
                let opts = TracepointOpts { cookie: i as u64, ..Default::default() };
                let cat = TracepointCategory::Custom(cat.to_string());
                match skel.progs.tp_count.attach_tracepoint_with_opts(cat, ev, opts) {
                    Ok(l) => a.links.push(l),
                    Err(e) => a.failed.push((t.name.clone(), e.to_string())),
                }
            }
            if a.links.is_empty() {
                return Err(fail_all("tracepoint", &a.failed));
            }
        }
        _ => {
            let path = binary.context("no binary for user functions")?;
            let pid = pid.map_or(-1, |p| p as i32);
            for (i, t) in targets.iter().enumerate() {
                let opts = UprobeOpts { cookie: i as u64, ..Default::default() };
                match skel.progs.uprobe_count.attach_uprobe_with_opts(pid, path, t.offset as usize, opts) {
                    Ok(l) => a.links.push(l),
                    Err(e) => a.failed.push((t.name.clone(), e.to_string())),
                }
            }
            if a.links.is_empty() {
                return Err(fail_all("user function", &a.failed));
            }
        }
    }
    Ok(a)
}

/// Counts keyed by cookie (target index) or, for fentry, function address.
struct Counter<'a> {
    targets: &'a [Target],
    by_address: Option<KernelSyms>,
    ncpus: usize,
    /// Totals at the last interval, by key.
    seen: HashMap<u64, u64>,
    /// fentry: target names by function address.
    alias: HashMap<u64, String>,
}

impl Counter<'_> {
    /// Insert every cookie key up front: the BPF side then only increments,
    /// and no first call races another CPU's insert.
    fn prefill(&self, map: &libbpf_rs::Map<'_>) -> Result<()> {
        if self.by_address.is_some() {
            return Ok(());
        }
        let zeros = vec![vec![0u8; 8]; self.ncpus];
        for i in 0..self.targets.len() as u64 {
            map.update_percpu(&i.to_ne_bytes(), &zeros, MapFlags::ANY).context("initializing the counts")?;
        }
        Ok(())
    }

    fn name_of(&self, key: u64) -> String {
        match &self.by_address {
            Some(k) => match k.find(key) {
                // Of a function's aliases (__do_sys_x, __x64_sys_x), the one
                // the pattern matched.
                Some(s) => self.alias.get(&(key - s.offset)).cloned().unwrap_or_else(|| s.name.to_string()),
                None => format!("{key:#x}"),
            },
            None => self.targets.get(key as usize).map_or_else(|| format!("#{key}"), |t| t.name.clone()),
        }
    }

    /// Non-zero counts by name, ascending (bcc's order). With `since_last`,
    /// the calls since the previous call: the counters are never reset, so
    /// no call made while they are read is lost.
    fn take(&mut self, map: &libbpf_rs::Map<'_>, since_last: bool) -> Result<Vec<(String, u64)>> {
        let mut by_name: HashMap<String, u64> = HashMap::new();
        for k in map.keys() {
            let Ok(raw) = <[u8; 8]>::try_from(k.as_slice()) else { continue };
            let key = u64::from_ne_bytes(raw);
            let total = match map.lookup_percpu(&k, MapFlags::ANY) {
                Ok(Some(v)) => sum_percpu_u64(&v),
                _ => continue,
            };
            let n = if since_last {
                let before = self.seen.insert(key, total).unwrap_or(0);
                total.saturating_sub(before)
            } else {
                total
            };
            if n > 0 {
                *by_name.entry(self.name_of(key)).or_default() += n;
            }
        }
        let mut rows: Vec<(String, u64)> = by_name.into_iter().collect();
        rows.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Ok(rows)
    }
}

fn header() -> String {
    format!("{:<36} {:>8}", "FUNC", "COUNT")
}

fn row(name: &str, count: u64) -> String {
    // User function names come from whatever binary was named: never raw.
    let name = escape::printable(name.as_bytes());
    format!("{name:<36} {count:>8}")
}

/// Hardening hook (tests/hardening.rs): a function name made of the hostile
/// bytes, as a row and as the JSON line.
pub fn fuzz_record(data: &[u8]) -> Vec<String> {
    let name = String::from_utf8_lossy(data);
    let json = serde_json::json!({ "func": name, "count": data.len() });
    vec![header(), row(&name, data.len() as u64), crate::runtime::output::json_string(&json)]
}

/// Why kernel functions cannot be counted here, from what the plan tried.
fn no_kernel_functions(e: &anyhow::Error) -> anyhow::Error {
    let detail = format!("{e:#}");
    let detail = detail.trim_start_matches("cannot trace on this kernel: ");
    anyhow!(
        "kernel functions need kprobes or fentry; this kernel has neither ({detail}). \
         Tracepoints (t:CATEGORY:EVENT) and user functions (LIB:FUNC) can still be counted"
    )
}

fn run(inv: &Invocation) -> Result<()> {
    let args: Args = cli::parse(inv, &[("pid", 'p'), ("duration", 'd')])?;
    let spec = parse_spec(&args.pattern)?;
    if let Some(c) = args.cpu {
        let online = crate::runtime::perf::online_cpus()?;
        if !online.contains(&c) {
            return Err(usage(format!("CPU {c} is not online")));
        }
    }
    let ctx = Ctx::new(&inv.called_as, &args.common)?;
    let (mut targets, binary) = resolve(&spec, args.regexp, args.common.pid)?;
    let plan: &'static [Alt] = match spec {
        Spec::Kernel(_) => KERNEL_PLAN,
        Spec::Tracepoint(_) => TRACEPOINT_PLAN,
        Spec::User { .. } => UPROBE_PLAN,
    };

    // fentry reaches functions described in vmlinux BTF only.
    let mut start = 0;
    let mut subset_note: Option<String> = None;
    let btf = if matches!(spec, Spec::Kernel(_)) { VmlinuxFuncs::load().ok() } else { None };
    if matches!(spec, Spec::Kernel(_)) {
        let lacking: Vec<&str> = targets
            .iter()
            .filter(|t| btf.as_ref().and_then(|b| b.id(&t.name)).is_none())
            .map(|t| t.name.as_str())
            .collect();
        if !lacking.is_empty() {
            // Without kprobes, fentry on the functions it can reach is the
            // best there is; otherwise kprobes count them all.
            if ctx.common.attach == AttachMode::Fentry || !ctx.kernel.has_kprobes() {
                if lacking.len() == targets.len() {
                    let why = format!("none of the {} matched functions has BTF, which fentry needs", targets.len());
                    if ctx.kernel.has_kprobes() {
                        bail!("{why} (try --attach kprobe)");
                    }
                    bail!("kernel functions need kprobes or fentry; this kernel has no kprobes (CONFIG_KPROBES unset) and {why}");
                }
                subset_note = Some(format!(
                    "fentry cannot reach {} matched functions without BTF (e.g. {}); counting the other {}",
                    lacking.len(),
                    lacking[0],
                    targets.len() - lacking.len()
                ));
                let lacking: Vec<String> = lacking.iter().map(|s| s.to_string()).collect();
                targets.retain(|t| !lacking.contains(&t.name));
            } else {
                ctx.verbose(format!(
                    "not using fentry: {} of the matched functions have no BTF (e.g. {})",
                    lacking.len(),
                    lacking[0]
                ));
                start = 1;
            }
        }
    }

    ctx.hold_ready();
    let by_address_entries = 2 * targets.len() as u32 + 8;
    let first = targets[0].name.clone();
    let target_cpu = args.cpu.map_or(-1, |c| c as i32);
    let mut last_attach_error: Option<anyhow::Error> = None;
    let (skel, alt, mut attached) = loop {
        let loaded = ctx.load::<FunccountSkelBuilder>(&plan[start..], |open, alt| {
            let fentry = alt.progs[0] == "fentry_count";
            let entries = if fentry { by_address_entries } else { targets.len() as u32 };
            open.maps.counts.set_max_entries(entries)?;
            if fentry {
                open.progs.fentry_count.set_attach_target(0, Some(first.clone()))?;
            }
            let ro = open
                .maps
                .rodata_data
                .as_deref_mut()
                .context("funccount's BPF object has no rodata")?;
            set_filter!(ro, ctx);
            ro.target_cpu = target_cpu;
            Ok(())
        });
        let (skel, alt) = match loaded {
            Ok(x) => x,
            Err(e) => {
                if let Some(prev) = last_attach_error {
                    return Err(anyhow!("{prev:#}; then {e:#}"));
                }
                if matches!(spec, Spec::Kernel(_)) && e.downcast_ref::<Usage>().is_none() {
                    return Err(no_kernel_functions(&e));
                }
                return Err(e);
            }
        };
        match attach(&skel, &alt, &targets, binary.as_ref(), args.common.pid, btf.as_ref()) {
            Ok(a) => break (skel, alt, a),
            Err(e) => {
                let at = plan.iter().position(|p| p.label == alt.label).unwrap_or(plan.len());
                ctx.verbose(format!("{}: {e:#}", alt.label));
                if at + 1 >= plan.len() {
                    return Err(e);
                }
                last_attach_error = Some(e);
                start = at + 1;
            }
        }
    };
    if let Some(note) = subset_note.filter(|_| alt.progs[0] == "fentry_count") {
        eprintln!("{}: {note}", ctx.tool);
    }
    if !attached.failed.is_empty() {
        for (n, e) in &attached.failed {
            ctx.verbose(format!("cannot attach to {n}: {e}"));
        }
        eprintln!(
            "{}: could not attach to {} of {} targets (e.g. {}); they are not counted",
            ctx.tool,
            attached.failed.len(),
            targets.len(),
            attached.failed[0].0
        );
    }
    ctx.verbose(format!("{} probes attached ({})", attached.probes(&alt), alt.label));
    ctx.keep_all(std::mem::take(&mut attached.links));
    ctx.keep_all(std::mem::take(&mut attached.copies));

    let counts = find_map(skel.object(), "counts")?;
    let by_address = if alt.progs[0] == "fentry_count" { Some(KernelSyms::load()?) } else { None };
    let alias = match &by_address {
        Some(k) => {
            let wanted: std::collections::HashSet<&str> = targets.iter().map(|t| t.name.as_str()).collect();
            k.entries().filter(|(_, n)| wanted.contains(n)).map(|(a, n)| (a, n.to_string())).collect()
        }
        None => HashMap::new(),
    };
    let mut counter = Counter {
        targets: &targets,
        by_address,
        ncpus: libbpf_rs::num_possible_cpus().context("counting possible CPUs")?,
        seen: HashMap::new(),
        alias,
    };
    counter.prefill(&counts)?;
    ctx.ready();

    let json = ctx.common.json;
    if !json {
        ctx.out().line(&format!(
            "Tracing {} functions for \"{}\"... Hit Ctrl-C to end.",
            targets.len() - attached.failed.len(),
            args.pattern
        ))?;
        ctx.out().flush()?;
    }
    let mut interval_no = 0u64;
    ctx.run_interval(args.interval, None, |ctx| {
        interval_no += 1;
        let rows = counter.take(&counts, args.interval.is_some())?;
        let time = args.timestamp.then(|| ctx.clock.hms());
        let mut out = ctx.out();
        if json {
            for (name, count) in &rows {
                let mut v = json!({ "func": name, "count": count });
                if let Some(t) = &time {
                    v["time"] = json!(t);
                }
                if args.interval.is_some() {
                    v["interval"] = json!(interval_no);
                }
                out.json_line(&v)?;
            }
            return Ok(());
        }
        out.line("")?;
        if let Some(t) = &time {
            out.line(t)?;
        }
        out.line(&header())?;
        for (name, count) in &rows {
            out.line(&row(name, *count))?;
        }
        Ok(())
    })?;
    if !json {
        ctx.out().line("Detaching...")?;
        ctx.out().flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(parse_spec("vfs_*").unwrap(), Spec::Kernel("vfs_*".into()));
        assert_eq!(parse_spec("p::vfs_read").unwrap(), Spec::Kernel("vfs_read".into()));
        assert_eq!(parse_spec("t:sched:sched_*").unwrap(), Spec::Tracepoint("sched:sched_*".into()));
        assert_eq!(parse_spec("c:malloc").unwrap(), Spec::User { lib: "c".into(), func: "malloc".into() });
        assert_eq!(
            parse_spec("p:/usr/bin/x:read*").unwrap(),
            Spec::User { lib: "/usr/bin/x".into(), func: "read*".into() }
        );
        assert!(parse_spec("u:pthread:mutex_*").is_err());
        assert!(parse_spec("x:a:b").is_err());
        assert!(parse_spec("t:sched:").is_err());
        assert!(parse_spec("c:").is_err());
        assert!(parse_spec(":malloc").is_err());
    }

    #[test]
    fn rows_and_names() {
        assert_eq!(header(), "FUNC                                    COUNT");
        assert_eq!(row("vfs_read", 470), format!("{:<36} {:>8}", "vfs_read", 470));
        let t = vec![Target { name: "a".into(), offset: 0 }];
        let c = Counter { targets: &t, by_address: None, ncpus: 1, seen: HashMap::new(), alias: HashMap::new() };
        assert_eq!(c.name_of(0), "a");
        assert_eq!(c.name_of(5), "#5");
        let k = KernelSyms::parse("ffffffff81003000 T vfs_read\nffffffff81004000 t __do_sys_getppid\nffffffff81004000 T __x64_sys_getppid\n");
        let alias = HashMap::from([(0xffffffff81004000, "__x64_sys_getppid".to_string())]);
        let c = Counter { targets: &t, by_address: Some(k), ncpus: 1, seen: HashMap::new(), alias };
        assert_eq!(c.name_of(0xffffffff81003004), "vfs_read");
        // The alias the pattern matched, not kallsyms' first name.
        assert_eq!(c.name_of(0xffffffff81004000), "__x64_sys_getppid");
    }
}
