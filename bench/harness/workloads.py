"""The workload generators (bench/workloads/*.c, built by run.sh) and the
marked events the harness fires itself."""

import os
import re
import subprocess
import tempfile

OPS = re.compile(r"ops=(\d+) secs=([\d.]+) ops_per_s=([\d.]+)")


class Workloads:
    """Runs the generators; owns the scratch file and loop device they use."""

    LABELS = {
        "open": "open()+close() loop",
        "exec": "fork()+exec(/bin/true) loop",
        "connect": "TCP connect() loop on 127.0.0.1",
        "read": "pread() 64 B loop",
        "bio": "4 KiB O_DIRECT reads of a loop device",
        "wake": "pipe ping-pong (2 wake-ups per op)",
    }

    def __init__(self, bindir, scratch):
        self.bindir = bindir
        self.scratch = scratch
        self.file = os.path.join(scratch, "workload.dat")
        with open(self.file, "wb") as f:
            f.write(b"x" * 4096)
        self._img = None
        self.loopdev = None

    def ensure_loopdev(self):
        """A 64 MiB loop device over a file in memory (/dev/shm when there),
        so its I/O is the block layer's and the loop driver's, not a disk's."""
        if self.loopdev:
            return self.loopdev
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else self.scratch
        self._img = os.path.join(shm, f"ibench-{os.getpid()}-bio.img")
        with open(self._img, "wb") as f:
            f.truncate(64 << 20)
        self.loopdev = subprocess.run(
            ["losetup", "--find", "--show", self._img],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        return self.loopdev

    def close(self):
        if self.loopdev:
            subprocess.run(["losetup", "-d", self.loopdev], check=False)
            self.loopdev = None
        if self._img and os.path.exists(self._img):
            os.unlink(self._img)

    def argv(self, name, secs=None, count=None):
        limit = ["-t", str(secs)] if count is None else ["-n", str(count)]
        extra = []
        if name in ("open", "read"):
            extra = [self.file]
        elif name == "bio":
            extra = [self.ensure_loopdev()]
        prog = {"wake": "wakeloop"}.get(name, name + "loop")
        return [os.path.join(self.bindir, prog)] + limit + extra

    def run(self, name, secs=None, count=None):
        """Run a generator; returns (ops, seconds, ops per second)."""
        out = subprocess.run(
            self.argv(name, secs, count), capture_output=True, text=True
        )
        m = OPS.search(out.stdout)
        if out.returncode != 0 or not m:
            raise RuntimeError(f"workload {name} failed: {out.stderr.strip()}")
        return int(m.group(1)), float(m.group(2)), float(m.group(3))

    def marked(self, kind, prefix, k, rate):
        """K uniquely marked events (see marked.c); returns ops per second."""
        out = subprocess.run(
            [os.path.join(self.bindir, "marked"), kind, prefix, str(k), str(rate)],
            capture_output=True, text=True,
        )
        m = OPS.search(out.stdout)
        if out.returncode != 0 or not m:
            raise RuntimeError(f"marked {kind} failed: {out.stderr.strip()}")
        return float(m.group(3))


class Marker:
    """Fires single marked events from the harness (startup, latency) and
    recognizes them in a tool's output lines."""

    def __init__(self, kind, scratch, tag):
        self.kind = kind
        self.name = f"ibench-{tag}"
        # Open markers are paths that do not exist: the failed open is traced.
        self.prefix = os.path.join(scratch, self.name) if kind == "open" else self.name
        self.pattern = re.compile(re.escape(self.name) + r"-(\d+)")
        self._children = []

    def fire(self, i):
        text = f"{self.prefix}-{i}"
        if self.kind == "open":
            try:
                os.close(os.open(text, os.O_RDONLY))
            except OSError:
                pass
        else:
            self._children.append(os.posix_spawn("/bin/true", ["true", text], os.environ))
        self.reap()

    def reap(self, block=False):
        left = []
        for pid in self._children:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
            if not done:
                left.append(pid)
        self._children = left

    def seen(self, lines):
        """Marker numbers appearing in these lines."""
        found = set()
        for line in lines:
            for m in self.pattern.finditer(line):
                found.add(int(m.group(1)))
        return found


def scratch_dir():
    return tempfile.mkdtemp(prefix="ibench-")
