"""The CPU time that the broker spends on a benchmark job, when it runs on this machine.

On a small machine the broker and the job share the cores; where two jobs keep them equally
busy, their events/s follow their CPU per event (client and broker together), not the speed
of either part alone. The broker's process is found by the port it listens on (Linux /proc).
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
LISTEN = "0A"  # TCP state in /proc/net/tcp


def listening_pid(port: int, proc: Path = Path("/proc")) -> int | None:
    """The process that listens on ``port`` (None: not on this machine, or no /proc)."""
    inodes = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            lines = (proc / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (pid_dir / "fd").iterdir()):
                return int(pid_dir.name)
        except OSError:
            continue
    return None


class BrokerCpu:
    """CPU seconds of the broker's process, sampled while a job runs: what the broker spent
    in the job's busy stretch (its start-up and its idle tail left out)."""

    def __init__(self, bootstrap: str) -> None:
        host, _, port = bootstrap.split(",")[0].rpartition(":")
        local = host in ("127.0.0.1", "localhost", "::1", "[::1]")
        self.pid = listening_pid(int(port)) if local and port.isdigit() else None

    def seconds(self) -> float:
        assert self.pid is not None
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime

    @contextmanager
    def sampled(self, every_s: float = 0.02) -> Iterator[Samples]:
        """Samples of the broker's CPU seconds, taken on a thread while the block runs."""
        samples = Samples()
        stop = threading.Event()

        def sample() -> None:
            while True:
                samples.add(time.time(), self.seconds())
                if stop.wait(every_s):
                    samples.add(time.time(), self.seconds())
                    return

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield samples
        finally:
            stop.set()
            thread.join()


class Samples:
    """(wall time, CPU seconds) pairs; the CPU spent between two moments, interpolated."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.cpu: list[float] = []

    def add(self, at: float, cpu_s: float) -> None:
        self.times.append(at)
        self.cpu.append(cpu_s)

    def at(self, moment: float) -> float:
        i = bisect.bisect_left(self.times, moment)
        if i == 0:
            return self.cpu[0]
        if i == len(self.times):
            return self.cpu[-1]
        t0, t1 = self.times[i - 1], self.times[i]
        share = (moment - t0) / (t1 - t0) if t1 > t0 else 1.0
        return self.cpu[i - 1] + share * (self.cpu[i] - self.cpu[i - 1])

    def between(self, start: float, end: float) -> float:
        return self.at(end) - self.at(start)
