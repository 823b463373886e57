"""What a tool holds in the kernel: its BPF programs and maps (found through
/proc/PID/fdinfo), their run-time statistics and locked memory (bpftool)."""

import json
import os
import subprocess

STATS = "/proc/sys/kernel/bpf_stats_enabled"


def stats_enabled():
    with open(STATS) as f:
        return f.read().strip() == "1"


def set_stats(on):
    """kernel.bpf_stats_enabled: run_time_ns/run_cnt are counted only while
    it is on, and counting costs a little per program run."""
    with open(STATS, "w") as f:
        f.write("1" if on else "0")


def ids_of(pid):
    """(prog ids, map ids) referenced by the process's file descriptors;
    link fds name their program too."""
    progs, maps = set(), set()
    d = f"/proc/{pid}/fdinfo"
    try:
        fds = os.listdir(d)
    except OSError:
        return progs, maps
    for fd in fds:
        try:
            with open(os.path.join(d, fd)) as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, val = line.partition(":")
            if key == "prog_id":
                progs.add(int(val))
            elif key == "map_id":
                maps.add(int(val))
    return progs, maps


def _bpftool(kind):
    out = subprocess.run(
        ["bpftool", kind, "show", "--json"], capture_output=True, text=True, check=True
    ).stdout
    return {o["id"]: o for o in json.loads(out or "[]")}


def progs(ids):
    """bpftool's view of these programs: {id: object}."""
    return {i: p for i, p in _bpftool("prog").items() if i in ids}


def is_probe_prog(p):
    """bpftrace's BEGIN/END programs run once, not per event."""
    name = p.get("name", "")
    return "BEGIN" not in name and "END" not in name


def run_totals(pid):
    """(run_time_ns, run_cnt, {name: (ns, cnt)}) over the tool's programs."""
    ids, _ = ids_of(pid)
    ns = cnt = 0
    per = {}
    for p in progs(ids).values():
        if not is_probe_prog(p):
            continue
        t, c = p.get("run_time_ns", 0), p.get("run_cnt", 0)
        ns += t
        cnt += c
        per[p.get("name", str(p["id"]))] = (t, c)
    return ns, cnt, per


def kernel_memory(pid):
    """Bytes of locked kernel memory of the tool's programs and maps: the
    maps it holds plus those its programs use."""
    prog_ids, map_ids = ids_of(pid)
    total = 0
    for p in progs(prog_ids).values():
        total += p.get("bytes_memlock", 0)
        map_ids.update(p.get("map_ids", []))
    for i, m in _bpftool("map").items():
        if i in map_ids:
            total += m.get("bytes_memlock", 0)
    return total, len(prog_ids), len(map_ids)


def has_run(pid):
    """Whether one of the tool's per-event programs has run (stats on):
    the tool is attached and its hooks fire."""
    _, cnt, _ = run_totals(pid)
    return cnt > 0
