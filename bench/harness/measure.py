"""One measurement = one start of one implementation (or none: the
baseline). Each returns a dict of samples; CannotRun carries the tool's own
error line when it does not attach on this kernel."""

import os
import time

import bpf
from procs import Running, error_line, lost_events
from workloads import Marker


class CannotRun(Exception):
    pass


class Params:
    """Sizes of the measurements; --smoke shrinks them."""

    def __init__(self, smoke=False):
        s = smoke
        self.overhead_secs = 0.3 if s else 2.0
        self.cost_secs = 0.3 if s else 1.0
        self.ready_timeout = 30.0
        self.latency_events = 3 if s else 10
        self.latency_gap = 0.05
        self.latency_wait = 0.5 if s else 1.5
        # (K, rate/s) per marker kind; rate 0 = as fast as possible.
        self.capture_paced = {"open": (200, 1000), "exec": (20, 100)} if s else {
            "open": (2000, 1000), "exec": (200, 100)}
        self.capture_max = {"open": (2000, 0), "exec": (50, 0)} if s else {
            "open": (100000, 0), "exec": (1000, 0)}


class Bench:
    """What every measurement needs: workloads, scratch space, parameters."""

    def __init__(self, workloads, scratch, params):
        self.wl = workloads
        self.scratch = scratch
        self.p = params
        self._tags = 0

    def tag(self, what):
        self._tags += 1
        return f"{os.getpid()}-{what}{self._tags}"

    def workdir(self):
        d = os.path.join(self.scratch, self.tag("run"))
        os.makedirs(d)
        return d

    def poke(self, spec):
        """One operation the tool's hooks see, to tell it is attached."""
        self.wl.run(spec.workload, count=1)

    def start_ready(self, spec, impl):
        """Start with stdout to a file; return once one of its programs has
        run (bpf_stats on), i.e. it is attached and its hooks fire."""
        bpf.set_stats(True)
        run = Running(impl.argv, self.workdir())
        deadline = time.monotonic() + self.p.ready_timeout
        next_poke = 0.0
        while True:
            if run.exited():
                _, err, _ = run.stop()
                raise CannotRun(error_line(err))
            if bpf.has_run(run.pid):
                time.sleep(0.05)  # the remaining attachments, microseconds apart
                return run
            now = time.monotonic()
            if now > deadline:
                _, err, _ = run.stop()
                raise CannotRun(
                    error_line(err) if err.strip() else
                    f"no BPF program ran within {self.p.ready_timeout:.0f} s")
            if now >= next_poke:
                self.poke(spec)
                next_poke = now + 0.05
            time.sleep(0.005)

    # --- overhead -------------------------------------------------------

    def overhead(self, spec, impl):
        """Workload ops/s, alone (impl None) or under the tool writing to a
        file; bpf_stats off while the workload runs."""
        if impl is None:
            return {"ops_per_s": self.wl.run(spec.workload, secs=self.p.overhead_secs)[2]}
        run = self.start_ready(spec, impl)
        try:
            bpf.set_stats(False)
            ops = self.wl.run(spec.workload, secs=self.p.overhead_secs)[2]
        finally:
            bpf.set_stats(True)
        hwm = run.vm_hwm_kib()
        status, err, _ = run.stop()
        return {"ops_per_s": ops, "rss_kib": hwm, "lost": lost_events(err)}

    # --- BPF cost and memory --------------------------------------------

    def cost(self, spec, impl):
        """Nanoseconds the tool's programs run per workload operation, from
        the kernel's run_time_ns; kernel memory and RSS while at it."""
        run = self.start_ready(spec, impl)
        try:
            ns0, cnt0, per0 = bpf.run_totals(run.pid)
            ops = self.wl.run(spec.workload, secs=self.p.cost_secs)[0]
            ns1, cnt1, per1 = bpf.run_totals(run.pid)
            kmem, nprogs, nmaps = bpf.kernel_memory(run.pid)
            hwm = run.vm_hwm_kib()
        finally:
            run.stop()
        per_prog = {
            name: (ns - per0.get(name, (0, 0))[0], cnt - per0.get(name, (0, 0))[1])
            for name, (ns, cnt) in per1.items()
        }
        return {
            "ns_per_op": (ns1 - ns0) / max(ops, 1),
            "runs_per_op": (cnt1 - cnt0) / max(ops, 1),
            "per_prog": per_prog,
            "kmem": kmem,
            "progs": nprogs,
            "maps": nmaps,
            "rss_kib": hwm,
        }

    # --- startup and terminal latency ----------------------------------

    def startup(self, spec, impl):
        """Exec of the tool to its first line about a marked event, stdout on
        a pseudo-terminal (so no tool is held back by block buffering); then
        event-to-line latency on that terminal."""
        run = Running(impl.argv, self.workdir(), stdout="pty")
        try:
            marker = Marker(spec.marker, self.scratch, self.tag("start"))
            gap = 0.003 if spec.marker == "open" else 0.005
            deadline = run.t_exec + self.p.ready_timeout
            i = 0
            next_fire = 0.0
            seen_at = None
            while seen_at is None:
                now = time.monotonic()
                if run.exited():
                    _, err, _ = run.stop()
                    raise CannotRun(error_line(err))
                if now > deadline:
                    raise CannotRun(f"no event line within {self.p.ready_timeout:.0f} s")
                if now >= next_fire:
                    marker.fire(i)
                    i += 1
                    next_fire = now + gap
                if marker.seen(run.new_lines()):
                    seen_at = time.monotonic()
                    break
                time.sleep(0.0005)
            marker.reap(block=True)
            lat = self.latency(run, spec)
            hwm = run.vm_hwm_kib()
        finally:
            run.stop()
        return {"startup_ms": (seen_at - run.t_exec) * 1e3, "tty_latency_ms": lat,
                "rss_kib": hwm}

    def latency(self, run, spec):
        """Fire paced marked events; for each, milliseconds until its line
        can be read (None: not out within latency_wait after the last)."""
        p = self.p
        marker = Marker(spec.marker, self.scratch, self.tag("lat"))
        fired = {}
        seen = {}
        i = 0
        last = None
        while True:
            now = time.monotonic()
            if i < p.latency_events and (last is None or now >= last + p.latency_gap):
                fired[i] = time.monotonic()
                marker.fire(i)
                last = now
                i += 1
            for j in marker.seen(run.new_lines()):
                if j in fired and j not in seen:
                    seen[j] = time.monotonic() - fired[j]
            if len(seen) == p.latency_events:
                break
            if i == p.latency_events and now > last + p.latency_wait:
                break
            time.sleep(0.0005)
        marker.reap(block=True)
        return [seen[j] * 1e3 if j in seen else None for j in range(p.latency_events)]

    # --- file output: latency and capture ------------------------------

    def file_paced(self, spec, impl):
        """Stdout to a file: event-to-line latency, then K marked events at a
        paced rate."""
        run = self.start_ready(spec, impl)
        try:
            lat = self.latency(run, spec)
            res = self._capture(run, spec, *self.p.capture_paced[spec.marker])
        finally:
            run.kill()
        res["file_latency_ms"] = lat
        return res

    def file_max(self, spec, impl):
        """Stdout to a file: K marked events as fast as they can be made."""
        run = self.start_ready(spec, impl)
        try:
            return self._capture(run, spec, *self.p.capture_max[spec.marker])
        finally:
            run.kill()

    def _capture(self, run, spec, k, rate):
        tag = self.tag("cap")
        marker = Marker(spec.marker, self.scratch, tag)
        ops = self.wl.marked(spec.marker, marker.prefix, k, rate)
        time.sleep(0.3)  # let the reader drain what is in flight
        hwm = run.vm_hwm_kib()
        status, err, _ = run.stop()
        with open(run.out_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        got = len({n for n in marker.seen(lines) if n < k})
        return {"k": k, "rate": rate, "gen_ops_per_s": ops, "captured": got,
                "lost": lost_events(err), "status": status, "rss_kib": hwm}
