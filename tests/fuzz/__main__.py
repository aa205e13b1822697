"""``make fuzz``: the fuzz targets for a time budget, counting crashes, hangs and leaks.

    python -m tests.fuzz [--seconds 600] [--hang 1.0] [--target events|scrub|rules ...]

The budget is shared by the targets in turn. Each example is timed; one over ``--hang``
seconds is a hang. An exception out of a target is a crash, a broken property a finding
(``targets.Finding``). What the targets write to stderr, the native core's included, goes to
a file that is searched for the planted marker afterwards. Reproducers (the example's
``repr``) go to ``.fuzz/findings/``, never to the terminal; the table is printed and written
to ``.fuzz/fuzz.json``. Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fuzz.targets import MARKER, TARGETS, Finding, Target

OUT = Path(".fuzz")


@dataclass
class Stats:
    target: str
    seconds: float = 0.0
    examples: int = 0
    crashes: int = 0
    findings: int = 0
    hangs: int = 0
    slowest_ms: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)

    def record(self, what: str, summary: str, example: Any) -> None:
        """Count it, and keep a reproducer on disk (never printed)."""
        setattr(self, what, getattr(self, what) + 1)
        self.kinds[f"{what}: {summary}"] += 1
        text = repr(example)
        name = hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()[:12]
        findings = OUT / "findings"
        findings.mkdir(parents=True, exist_ok=True)
        (findings / f"{self.target}-{what}-{name}.txt").write_text(
            f"# {what}: {summary}\n{text}\n", encoding="utf-8", errors="backslashreplace")


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno}" if last else type(
        exc).__name__


def run_target(target: Target, seconds: float, hang: float) -> Stats:
    stats = Stats(target.name)
    started = time.monotonic()
    deadline = started + seconds

    def body(example: Any) -> None:
        if time.monotonic() > deadline:
            return
        began = time.perf_counter()
        try:
            target.check(example)
        except Finding as exc:
            stats.record("findings", str(exc), example)
        except Exception as exc:
            stats.record("crashes", _where(exc), example)
        took = time.perf_counter() - began
        stats.examples += 1
        stats.slowest_ms = max(stats.slowest_ms, took * 1000)
        if took > hang:
            stats.record("hangs", f"over {hang:g} s", example)

    chunk = 0
    while time.monotonic() < deadline:
        chunk += 1
        run = settings(max_examples=2_000, database=None, deadline=None,
                       phases=[Phase.generate], suppress_health_check=list(HealthCheck))(
            seed(chunk)(given(target.strategy)(body)))
        run()
    stats.seconds = time.monotonic() - started
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0,
                        help="the whole budget, shared by the targets (default 600)")
    parser.add_argument("--hang", type=float, default=1.0,
                        help="an example slower than this many seconds is a hang (default 1)")
    parser.add_argument("--target", action="append", choices=[t.name for t in TARGETS],
                        help="fuzz only these targets (default: all)")
    args = parser.parse_args(argv)
    targets = [t for t in TARGETS if not args.target or t.name in args.target]
    OUT.mkdir(exist_ok=True)
    results: list[Stats] = []
    with tempfile.TemporaryFile() as stderr_copy:
        saved = os.dup(2)
        os.dup2(stderr_copy.fileno(), 2)  # the native core writes to fd 2 itself
        try:
            for target in targets:
                print(f"fuzzing {target.name} for {args.seconds / len(targets):.0f} s …",
                      flush=True)
                results.append(run_target(target, args.seconds / len(targets), args.hang))
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        stderr_copy.seek(0)
        written = stderr_copy.read().decode("utf-8", "replace")
    leaked = sum(written.count(part) for part in (MARKER, "fuzz.marker"))
    print(f"\n{'target':<8} {'seconds':>7} {'examples':>9} {'crashes':>7} {'findings':>8} "
          f"{'hangs':>5} {'slowest ms':>10}")
    for s in results:
        print(f"{s.target:<8} {s.seconds:>7.0f} {s.examples:>9} {s.crashes:>7} {s.findings:>8} "
              f"{s.hangs:>5} {s.slowest_ms:>10.1f}")
        for kind, count in s.kinds.most_common(10):
            print(f"    {count} × {kind}")
    print(f"stderr: {len(written.splitlines())} lines written by the targets, "
          f"{leaked} with the planted marker")
    report = {"hang_seconds": args.hang, "stderr_lines": len(written.splitlines()),
              "stderr_marker": leaked, "targets": [{**asdict(s), "kinds": dict(s.kinds)} for s in results]}
    (OUT / "fuzz.json").write_text(json.dumps(report, indent=2) + "\n")
    bad = leaked + sum(s.crashes + s.findings + s.hangs for s in results)
    if bad:
        print(f"reproducers: {OUT / 'findings'}/")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
