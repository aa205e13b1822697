"""Where one event's time goes in `crm-masker run`: the main thread's stages, measured.

    python -m benchmarks.profile [--events N] [--engine auto|native|python] [--output FILE]

Generates N events of the reference mix on a local broker (KAFKA_BOOTSTRAP_SERVERS, else the
one the tests start), runs `crm-masker run --profile` over them until idle, and prints per
input record the CPU and wall time of each stage (consume, mask, produce, account, forward,
sample, detectors, KPIs, commit), the main thread's remainder and librdkafka's threads — so
that the next performance step is chosen from data. Wall minus CPU is waiting (the commit
waits for the broker). Writes JSON (default benchmarks/results/profile.json).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.pipeline import REPO, masker_cmd, masker_result, prepare, write_result
from processor.observability.profile import STAGES
from tests.broker import kafka_broker

ROW = re.compile(r"profile: (.+?)\s+(-?[\d.]+|nan)\s+(-?[\d.]+|nan)\s+(\d+)$", re.M)


def profiled(log: str) -> list[dict[str, Any]]:
    """The stage rows of a `run --profile` log."""
    return [{"stage": m[1].strip(), "cpu_us": float(m[2]), "wall_us": float(m[3]),
             "calls": int(m[4])} for m in ROW.finditer(log)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--engine", default="auto", choices=["auto", "native", "python"])
    parser.add_argument("--output", default=str(REPO / "benchmarks/results/profile.json"))
    args = parser.parse_args()
    with kafka_broker() as bootstrap:
        ns = prepare(Path(tempfile.mkdtemp(prefix="crm-masker-profile-")), bootstrap, args.events)
        done = subprocess.run([*masker_cmd(ns, bootstrap, f"{ns.ns}-profile"), "--profile",
                               "--exit-when-idle", "3", "--engine", args.engine],
                              capture_output=True, text=True, timeout=1800, check=True)
    summary, rows = masker_result(done.stderr), profiled(done.stderr)
    print(f"crm-masker run --profile over {summary['events']:,} events "
          f"({summary['engine']}): {summary['events_per_s']:,.0f} events/s, "
          f"{summary['cpu_us_per_event']:.1f} µs CPU per event (all threads)")
    print(f"{'stage':<32}{'µs CPU/event':>14}{'µs wall/event':>15}{'calls':>9}  what")
    for row in rows:
        timed = row["wall_us"] == row["wall_us"]  # not nan
        wall, calls = (f"{row['wall_us']:.2f}", str(row["calls"])) if timed else ("", "")
        print(f"{row['stage']:<32}{row['cpu_us']:>14.2f}{wall:>15}{calls:>9}  "
              f"{STAGES.get(row['stage'], '')}")
    commits = next((row["calls"] for row in rows if row["stage"] == "commit"), 0)
    if commits:
        print(f"{commits} commits, {summary['events'] / commits:,.0f} events per commit")
    write_result(Path(args.output), events=args.events, engine=args.engine, summary=summary,
                 stages=rows)


if __name__ == "__main__":
    main()
