"""Which tools are compared, and how each implementation is started."""

import os
import shutil
from dataclasses import dataclass, field

C_DIR = "/usr/sbin"  # Debian's libbpf-tools
BT_DIR = "/usr/sbin"  # Debian's bpftrace tools (*.bt)

IMPLS = ("ours", "c", "bt")
IMPL_LABEL = {"ours": "ironscope", "c": "libbpf-tools", "bt": "bpftrace"}

# tool -> (workload of the overhead and cost measurements, marked event kind
# for startup/latency/capture or None for summary tools). Tools not built
# yet are skipped.
CATALOGUE = {
    "execsnoop": ("exec", "exec"),
    "opensnoop": ("open", "open"),
    "biolatency": ("bio", None),
    "runqlat": ("wake", None),
    "syscount": ("read", None),
    "tcpconnect": ("connect", None),
    # With --tools only.
    "biosnoop": ("bio", None),
    "bitesize": ("bio", None),
    "runqslower": ("wake", None),
    "tcpaccept": ("connect", None),
    "tcplife": ("connect", None),
    "filetop": ("read", None),
    "fsslower": ("read", None),
    "cachestat": ("read", None),
}
# The floor: empty programs on the hooks a tool uses on this kernel, run by
# bpftrace (nothing of ours). The slowdown they cause is what any
# implementation of the tool pays before doing anything; measured in the
# overhead phase only.
FLOOR = {
    "opensnoop": ",".join(
        f"tracepoint:syscalls:sys_exit_{c}"
        for c in ("open", "openat", "openat2", "creat")
    ) + " { }",
}
FLOOR_LABEL = "empty programs (floor)"

DEFAULT_TOOLS = ("execsnoop", "opensnoop", "biolatency", "runqlat", "syscount", "tcpconnect")


@dataclass
class Impl:
    key: str  # ours, c, bt
    argv: list
    binary: str  # what the size and ldd rows describe
    script: str = None  # bpftrace's .bt file


@dataclass
class Spec:
    tool: str
    workload: str
    marker: str  # "open", "exec" or None
    impls: dict = field(default_factory=dict)  # key -> Impl


def find(tools, bin_dir, want=IMPLS):
    """Specs for the tools we have built; each with the counterparts
    installed here."""
    specs = []
    bpftrace = shutil.which("bpftrace")
    for tool in tools:
        workload, marker = CATALOGUE[tool]
        spec = Spec(tool, workload, marker)
        ours = os.path.join(bin_dir, tool)
        if not os.access(ours, os.X_OK):
            continue
        spec.impls["ours"] = Impl("ours", [ours], ours)
        c = os.path.join(C_DIR, tool)
        if "c" in want and os.access(c, os.X_OK):
            spec.impls["c"] = Impl("c", [c], c)
        bt = os.path.join(BT_DIR, tool + ".bt")
        if "bt" in want and bpftrace and os.path.exists(bt):
            spec.impls["bt"] = Impl("bt", [bpftrace, bt], bpftrace, bt)
        if "floor" in want and bpftrace and tool in FLOOR:
            spec.impls["floor"] = Impl("floor", [bpftrace, "-e", FLOOR[tool]], bpftrace)
        specs.append(spec)
    return specs
