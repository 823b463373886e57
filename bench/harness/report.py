"""Samples -> the markdown tables of docs/BENCHMARKS.md, and the targets."""

import statistics

from tools import FLOOR_LABEL, IMPL_LABEL, IMPLS
from workloads import Workloads

MIB = 1024 * 1024


def med(xs):
    return statistics.median(xs) if xs else None


def si(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.0f}k" if x >= 1e4 else f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def spread(xs, fmt):
    """median (min..max)"""
    if not xs:
        return "-"
    lo, mid, hi = fmt(min(xs)), fmt(med(xs)), fmt(max(xs))
    return mid if lo == hi else f"{mid} ({lo}..{hi})"


def esc(s):
    return s.replace("|", "\\|")


class Report:
    def __init__(self, results, specs):
        self.r = results
        self.specs = specs

    # results layout: r["samples"][tool][metric][impl] = [sample dicts];
    # r["errors"][tool][impl] = error line; r["static"][tool][impl] = {...}

    def samples(self, tool, metric, impl):
        return self.r["samples"].get(tool, {}).get(metric, {}).get(impl, [])

    def error(self, tool, impl):
        return self.r["errors"].get(tool, {}).get(impl)

    def impls(self, spec):
        return [k for k in IMPLS if k in spec.impls]

    def cell(self, spec, impl, metric, render):
        err = self.error(spec.tool, impl)
        if err:
            return f"cannot run on this kernel: `{esc(err)}`"
        if impl not in spec.impls:
            return "not installed"
        s = self.samples(spec.tool, metric, impl)
        errs = [x["error"] for x in s if "error" in x]
        ok = [x for x in s if "error" not in x]
        if not ok:
            return f"failed: {esc(errs[0])}" if errs else "-"
        return render(ok)

    def table(self, title, note, head, rows):
        out = [f"### {title}", ""]
        if note:
            out += [note, ""]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return out + [""]

    def impl_head(self, first):
        return first + [IMPL_LABEL[k] for k in IMPLS]

    # --- tables ----------------------------------------------------------

    def slowdown(self, spec, impl):
        base = [x["ops_per_s"] for x in self.samples(spec.tool, "overhead", "base")]
        under = [x["ops_per_s"] for x in self.samples(spec.tool, "overhead", impl)
                 if "error" not in x]
        if not base or not under:
            return None
        return med(base) / med(under)

    def overhead_table(self):
        rows = []
        floor = any("floor" in spec.impls for spec in self.specs)

        def render_floor(spec):
            def render(s):
                ops = [x["ops_per_s"] for x in s]
                return f"**{self.slowdown(spec, 'floor'):.2f}x** · " + spread(ops, si)
            return render
        for spec in self.specs:
            base = [x["ops_per_s"] for x in self.samples(spec.tool, "overhead", "base")]
            row = [spec.tool, Workloads.LABELS[spec.workload],
                   spread(base, lambda v: si(v) + "/s")]
            for k in IMPLS:
                def render(s, k=k):
                    ops = [x["ops_per_s"] for x in s]
                    return f"**{self.slowdown(spec, k):.2f}x** · " + spread(ops, si)
                row.append(self.cell(spec, k, "overhead", render))
            if floor:
                row.append(self.cell(spec, "floor", "overhead", render_floor(spec))
                           if "floor" in spec.impls else "-")
            rows.append(row)
        head = ["tool", "workload", "alone"] + [IMPL_LABEL[k] for k in IMPLS]
        note = ("Workload operations per second alone and under each tool (stdout to a "
                "file); slowdown = median alone / median under the tool.")
        if floor:
            head.append(FLOOR_LABEL)
            note += (" The floor column runs empty programs (bpftrace, `{ }`) on the "
                     "hooks the tool uses on this kernel: what any implementation pays "
                     "before doing any work.")
        return self.table("Overhead: workload slowdown", note, head, rows)

    def startup_table(self):
        rows = []
        for spec in self.specs:
            if not spec.marker:
                continue
            row = [spec.tool]
            for k in IMPLS:
                row.append(self.cell(spec, k, "startup", lambda s: spread(
                    [x["startup_ms"] for x in s], lambda v: f"{v:.0f} ms")))
            rows.append(row)
        return self.table(
            "Startup: exec to the first reported event",
            "The tool's stdout is a pseudo-terminal; a marked event is fired every "
            "3 ms (opens) or 5 ms (execs) until its line appears.",
            self.impl_head(["tool"]), rows)

    def capture_cell(self, s):
        frac = [x["captured"] / x["k"] for x in s]
        lost = [x["lost"] for x in s]
        k = s[0]["k"]
        silent = [x for x in s if x["captured"] + x["lost"] < x["k"]]
        text = spread([f * 100 for f in frac], lambda v: f"{v:.1f}%")
        text += f" of {k}, lost " + (f"{min(lost)}..{max(lost)}" if min(lost) != max(lost)
                                     else f"{lost[0]}")
        rate = med([x["gen_ops_per_s"] for x in s])
        text += f" @ {si(rate)}/s"
        if silent:
            text += f" · **silent loss in {len(silent)}/{len(s)} runs**"
        return text

    def capture_table(self):
        rows = []
        for spec in self.specs:
            if not spec.marker:
                continue
            for metric, label in (("file_paced", "paced"), ("file_max", "max rate")):
                row = [spec.tool, label]
                for k in IMPLS:
                    row.append(self.cell(spec, k, metric, self.capture_cell))
                rows.append(row)
        return self.table(
            "Capture: uniquely marked events reported",
            "K marked events (failed opens of unique paths; execs of /bin/true with a "
            "unique argument) at a paced rate and as fast as one process makes them; "
            "reported = distinct markers in the output file; lost = what the tool "
            "itself reported on stderr; the rate is the generator's achieved rate. "
            "A silent loss is reported + lost < K.",
            self.impl_head(["tool", "rate"]), rows)

    def cost_table(self):
        rows = []
        for spec in self.specs:
            row = [spec.tool, Workloads.LABELS[spec.workload]]
            for k in IMPLS:
                def render(s):
                    text = spread([x["ns_per_op"] for x in s], lambda v: f"{v:.0f} ns")
                    runs = med([x["runs_per_op"] for x in s])
                    return text + f" · {runs:.1f} runs/op"
                row.append(self.cell(spec, k, "cost", render))
            rows.append(row)
        return self.table(
            "BPF cost per event",
            "Sum of the tool's programs' run_time_ns (kernel.bpf_stats_enabled=1, "
            "`bpftool prog show --json`, programs matched through /proc/PID/fdinfo) "
            "over one workload run, divided by the workload's operations; runs/op = "
            "program runs per operation.",
            self.impl_head(["tool", "workload"]), rows)

    def latency_table(self):
        rows = []
        for spec in self.specs:
            if not spec.marker:
                continue
            for metric, key, label in (("file_paced", "file_latency_ms", "file"),
                                       ("startup", "tty_latency_ms", "terminal")):
                row = [spec.tool, label]
                for k in IMPLS:
                    def render(s, key=key):
                        all_ = [v for x in s for v in x[key]]
                        got = [v for v in all_ if v is not None]
                        text = spread(got, lambda v: f"{v:.1f} ms")
                        if len(got) < len(all_):
                            wait = self.r["params"]["latency_wait"]
                            text += (f" · **{len(all_) - len(got)}/{len(all_)} lines not "
                                     f"out {wait:.1f} s after the last event**")
                        return text
                    row.append(self.cell(spec, k, metric, render))
                rows.append(row)
        return self.table(
            "Output latency: event to line",
            "Marked events 50 ms apart; time from the event to its line being readable "
            "from the output file or the terminal.",
            self.impl_head(["tool", "stdout"]), rows)

    def memory_table(self):
        rows = []
        for spec in self.specs:
            row = [spec.tool]
            for k in IMPLS:
                def render(s, k=k):
                    rss = [x["rss_kib"] for m in ("overhead", "startup", "file_paced",
                                                  "file_max", "cost")
                           for x in self.samples(spec.tool, m, k)
                           if x.get("rss_kib")]
                    kmem = max(x["kmem"] for x in s)
                    return (f"{max(rss) / 1024:.1f} MiB RSS · {kmem / MIB:.2f} MiB kernel "
                            f"({s[0]['progs']} progs, {s[0]['maps']} maps)")
                row.append(self.cell(spec, k, "cost", render))
            rows.append(row)
        return self.table(
            "Memory",
            "Peak RSS = the largest VmHWM over every run above; kernel = bytes_memlock "
            "of the tool's programs and maps (`bpftool prog/map show --json`).",
            self.impl_head(["tool"]), rows)

    def binary_table(self):
        rows = []
        for spec in self.specs:
            row = [spec.tool]
            for k in IMPLS:
                st = self.r["static"].get(spec.tool, {}).get(k)
                if not st:
                    row.append("not installed")
                    continue
                text = f"{st['size'] / MIB:.1f} MiB"
                if st.get("dist_size"):
                    text += f" ({st['dist_size'] / MIB:.1f} MiB `--profile dist`)"
                if st["libs"]:
                    text += (f" + {len(st['libs'])} shared libraries "
                             f"({st['libs_size'] / MIB:.0f} MiB): " + ", ".join(
                                 st["libs"][:6]) + (", ..." if len(st["libs"]) > 6 else ""))
                else:
                    text += ", static (no shared libraries)"
                if st.get("script"):
                    text += f" + {st['script']}"
                row.append(text)
            rows.append(row)
        return self.table("Binary size and dynamic dependencies",
                          "Size of the executable; libraries as `ldd` lists them.",
                          self.impl_head(["tool"]), rows)

    # --- targets -------------------------------------------------------

    def med_of(self, tool, metric, impl, key):
        s = [x[key] for x in self.samples(tool, metric, impl) if "error" not in x]
        return med(s)

    def targets(self):
        rows = []

        def add(target, measured, ok):
            verdict = "n/a" if ok is None else ("met" if ok else "**NOT MET**")
            rows.append([target, measured, verdict])

        for spec in self.specs:
            t = spec.tool
            ours = self.slowdown(spec, "ours")
            c = self.slowdown(spec, "c") if "c" in spec.impls and not self.error(t, "c") else None
            if t == "opensnoop" and ours:
                floor = (self.slowdown(spec, "floor")
                         if "floor" in spec.impls and not self.error(t, "floor") else None)
                others = ([f"C: {c:.2f}x"] if c else []) + (
                    [f"floor: {floor:.2f}x"] if floor else [])
                add("opensnoop open-loop slowdown <= 1.3x",
                    f"{ours:.2f}x ({', '.join(others)})" if others else f"{ours:.2f}x",
                    ours <= 1.3)
            if t == "execsnoop" and ours:
                add("execsnoop exec-loop slowdown <= C's (2% noise margin)",
                    f"{ours:.2f}x vs {c:.2f}x" if c else f"{ours:.2f}x",
                    ours <= c * 1.02 if c else None)
            ours_ns = self.med_of(t, "cost", "ours", "ns_per_op")
            c_ns = self.med_of(t, "cost", "c", "ns_per_op") if not self.error(t, "c") else None
            if ours_ns is not None:
                add(f"{t}: BPF cost per event <= C's",
                    f"{ours_ns:.0f} ns vs {c_ns:.0f} ns" if c_ns else f"{ours_ns:.0f} ns",
                    ours_ns <= c_ns if c_ns else None)
            if spec.marker:
                self.capture_targets(spec, add)
                ours_st = self.med_of(t, "startup", "ours", "startup_ms")
                c_st = self.med_of(t, "startup", "c", "startup_ms") if not self.error(t, "c") else None
                if ours_st is not None:
                    add(f"{t}: startup <= C's",
                        f"{ours_st:.0f} ms vs {c_st:.0f} ms" if c_st else f"{ours_st:.0f} ms",
                        ours_st <= c_st if c_st else None)
                lat = [v for x in self.samples(t, "file_paced", "ours") if "error" not in x
                       for v in x["file_latency_ms"]]
                if lat:
                    worst = None if None in lat else max(lat)
                    add(f"{t}: output latency to a file < 100 ms",
                        f"max {worst:.1f} ms over {len(lat)} events" if worst is not None
                        else "some lines not out in time", worst is not None and worst < 100)
            rss = [x["rss_kib"] for m in ("overhead", "startup", "file_paced", "file_max", "cost")
                   for x in self.samples(t, m, "ours") if x.get("rss_kib")]
            if rss:
                add(f"{t}: peak RSS <= 16 MiB", f"{max(rss) / 1024:.1f} MiB",
                    max(rss) <= 16 * 1024)
            kmem = [x["kmem"] for x in self.samples(t, "cost", "ours") if "kmem" in x]
            if kmem:
                add(f"{t}: kernel memory <= 4 MiB", f"{max(kmem) / MIB:.2f} MiB",
                    max(kmem) <= 4 * MIB)
        return self.table("Targets", "Verdicts from the medians above.",
                          ["target", "measured", "verdict"], rows)

    def capture_targets(self, spec, add):
        t = spec.tool
        for metric, label in (("file_paced", "paced"), ("file_max", "max rate")):
            ours = [x for x in self.samples(t, metric, "ours") if "error" not in x]
            c = [x for x in self.samples(t, metric, "c") if "error" not in x]
            if not ours:
                continue
            silent = sum(1 for x in ours if x["captured"] + x["lost"] < x["k"])
            full = all(x["captured"] == x["k"] for x in ours)
            c_full = bool(c) and all(x["captured"] == x["k"] for x in c)
            add(f"{t}: no silent loss ({label})",
                f"{silent} of {len(ours)} runs with a silent loss", silent == 0)
            if c_full:
                add(f"{t}: capture 100% where C captures fully ({label})",
                    "100% in every run" if full else
                    f"min {min(x['captured'] / x['k'] for x in ours) * 100:.1f}%", full)

    def markdown(self):
        out = []
        for part in (self.targets, self.overhead_table, self.cost_table,
                     self.startup_table, self.capture_table, self.latency_table,
                     self.memory_table, self.binary_table):
            out += part()
        return "\n".join(out)
