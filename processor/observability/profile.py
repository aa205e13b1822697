"""Where the main thread's time goes, stage by stage (``crm-masker run --profile``).

The processor is bound by its main thread (it holds the interpreter while it masks, produces
and commits); librdkafka's threads run beside it. A stage is timed where the loop calls it —
once per consumed batch, per masking step or per commit, never per field — with the thread's
CPU clock and the wall clock: CPU is work, wall minus CPU is waiting (a commit waits for the
broker). What the other threads used is the process's CPU less the main thread's.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

#: the stages, in the order of one batch's walk (the report keeps it)
STAGES = {
    "consume": "Consumer.consume (librdkafka hands over the messages)",
    "mask": "masking steps (native core runs, Python engine, dead letters)",
    "produce": "the steps' records into the producer",
    "account": "the transaction's counts and offsets",
    "forward": "unmasked changes to the by-actor topic and the KPI facts",
    "sample": "the leak watch's sample",
    "detectors": "by-actor records into the anomaly detectors, alerts",
    "kpis": "KPI facts into their windows, released cells",
    "commit": "commit: audit record, data keys, offsets, commit_transaction",
}


class Profile:
    """Thread CPU and wall time per stage; a disabled profile costs a shared null context."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self.cpu_ns: Counter[str] = Counter()
        self.wall_ns: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._off = nullcontext()
        self._started_cpu = time.thread_time_ns()
        self._started_process = time.process_time_ns()

    def stage(self, name: str) -> AbstractContextManager[None]:
        return self._timed(name) if self.enabled else self._off

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
        try:
            yield
        finally:
            self.cpu_ns[name] += time.thread_time_ns() - cpu
            self.wall_ns[name] += time.perf_counter_ns() - wall
            self.calls[name] += 1

    def rows(self, events: int) -> list[tuple[str, float, float, int]]:
        """(stage, µs CPU per event, µs wall per event, calls) for every stage that ran, then
        the main thread's remainder and the other threads' CPU."""
        per = 1000.0 * max(1, events)
        rows = [(name, self.cpu_ns[name] / per, self.wall_ns[name] / per, self.calls[name])
                for name in STAGES if name in self.wall_ns]
        main = time.thread_time_ns() - self._started_cpu
        timed = sum(self.cpu_ns.values())
        rows.append(("main thread, other", (main - timed) / per, float("nan"), 0))
        others = time.process_time_ns() - self._started_process - main
        rows.append(("other threads (librdkafka …)", others / per, float("nan"), 0))
        return rows

    def report(self, events: int) -> list[str]:
        """The log lines of the profile: one per stage, then the total."""
        rows = self.rows(events)
        lines = [f"profile over {events} input records, µs per record: stage  CPU  wall  calls"]
        lines += [f"profile: {name:<30} {cpu:8.2f} {wall:8.2f} {calls:8d}"
                  for name, cpu, wall, calls in rows]
        lines.append(f"profile: {'total CPU':<30} {sum(row[1] for row in rows):8.2f}")
        return lines
