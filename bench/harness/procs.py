"""A traced tool as a child process: stdout to a file or a pseudo-terminal,
stderr to a file, lines read as they appear, stopped with SIGINT."""

import os
import re
import signal
import subprocess
import time


class Running:
    """One started tool. `t_exec` is taken just before the exec."""

    def __init__(self, argv, workdir, stdout="file", env=None):
        self.argv = argv
        self.out_path = os.path.join(workdir, "tool.out")
        self.err_path = os.path.join(workdir, "tool.err")
        self.pty = stdout == "pty"
        self._pending = ""
        self._offset = 0
        err = open(self.err_path, "wb")
        if self.pty:
            master, slave = os.openpty()
            os.set_blocking(master, False)
            self._master = master
            out_fd = slave
        else:
            out = open(self.out_path, "wb")
            out_fd = out.fileno()
            self._reader = open(self.out_path, "rb")
        self.t_exec = time.monotonic()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out_fd,
            stderr=err,
            env=env,
        )
        if self.pty:
            os.close(slave)
        else:
            out.close()
        err.close()
        self.pid = self.proc.pid

    def exited(self):
        return self.proc.poll() is not None

    def _read_raw(self):
        if self.pty:
            chunks = []
            while True:
                try:
                    b = os.read(self._master, 65536)
                except (BlockingIOError, OSError):
                    break
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks)
        return self._reader.read()

    def new_lines(self):
        """Complete lines written since the last call (a partial last line
        waits for its newline)."""
        data = self._read_raw()
        if not data:
            return []
        text = self._pending + data.decode("utf-8", "replace").replace("\r", "")
        *lines, self._pending = text.split("\n")
        return lines

    def vm_hwm_kib(self):
        """Peak resident set size so far (VmHWM), in KiB."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def stop(self, timeout=15.0):
        """SIGINT, then wait; SIGKILL if it hangs. Returns (status, stderr,
        the lines not read yet)."""
        if not self.exited():
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        lines = self.new_lines()
        if self._pending:
            lines.append(self._pending)
            self._pending = ""
        if self.pty:
            os.close(self._master)
        else:
            self._reader.close()
        with open(self.err_path, "rb") as f:
            err = f.read().decode("utf-8", "replace")
        return self.proc.returncode, err, lines

    def kill(self):
        if not self.exited():
            self.proc.kill()
            self.proc.wait()


# Lost-event reports: ours ("lost N events (ring buffer full)" as they
# happen, "lost N events in all" at exit), libbpf-tools ("Lost N events on
# CPU #c!"), bpftrace ("Lost N events").
LOST_ALL = re.compile(r"lost (\d+) events in all")
LOST_ANY = re.compile(r"[Ll]ost (\d+) events")


def lost_events(stderr):
    total = LOST_ALL.findall(stderr)
    if total:
        return int(total[-1])
    return sum(int(n) for n in LOST_ANY.findall(stderr))


# bpftrace warns about RLIMIT_MEMLOCK on every start, harmlessly.
NOISE = ("RLIMIT_MEMLOCK", "libbpf: elf:")
# Best first: what failed, then anything that sounds like an error.
WHY = (
    re.compile(r"could not attach|failed to (load|attach|open)|error:|ERROR", re.I),
    re.compile(r"error|fail|cannot|denied|not permitted|unknown|no such", re.I),
)


def error_line(stderr):
    """The line that best says why a tool did not run."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    lines = [l for l in lines if not any(n in l for n in NOISE)]
    for why in WHY:
        for l in lines:
            if why.search(l):
                return l
    return lines[-1] if lines else "no output"
