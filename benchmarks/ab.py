"""A/B of `crm-masker run` between source trees: the same input, runs taking turns, each on a
namespace of its own, profiled per stage.

    python -m benchmarks.ab TREE [TREE ...] [--events N] [--rounds R] [--output FILE]

A TREE is a PYTHONPATH: a checkout of another revision (``git worktree add /tmp/a REV``),
with its own native core in front where the revisions' cores differ
(``pip install --target /tmp/a-native /tmp/a/native``, then ``/tmp/a-native:/tmp/a``).
Generates N events of the reference mix once, copies them into each run's topics, and runs
`crm-masker run --profile` from each tree in turn, R rounds. Prints per run and as medians
the events/s, the CPU per event (all threads) and the stages that the profile times; the
stages move less with the machine's noise than the totals, so a change shows in its stage.
Uses KAFKA_BOOTSTRAP_SERVERS, else starts the local broker; writes JSON (default
benchmarks/results/ab.json).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from benchmarks.pipeline import REPO, masker_cmd, masker_result, prepare, write_result
from benchmarks.profile import profiled
from benchmarks.scaling import copy_input
from processor.generator.sink import create_source_topics
from tests.broker import kafka_broker
from tests.pipeline.harness import Namespace

#: the stages printed (the profile's names, shortened)
SHOWN = {"mask": "mask", "produce": "produce", "forward": "forward", "detectors": "detect",
         "kpis": "kpis", "commit": "commit", "main thread, other": "other",
         "other threads (librdkafka …)": "threads"}


def run_tree(tree: str, stock: Namespace, bootstrap: str) -> dict[str, Any]:
    """One profiled run from ``tree`` on a fresh copy of the stock input."""
    run = Namespace(stock.root.parent / uuid.uuid4().hex[:6]).create()
    create_source_topics(bootstrap, 3, {}, run.source_prefix)
    subprocess.run([sys.executable, "-m", "processor", "topics", "--rules", str(run.rules),
                    "--bootstrap-servers", bootstrap, "--partitions", "3"],
                   check=True, capture_output=True)
    copy_input(bootstrap, stock, run)
    done = subprocess.run([*masker_cmd(run, bootstrap, f"{run.ns}-ab"), "--exit-when-idle", "3",
                           "--profile"], capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "PYTHONPATH": tree},
                          cwd=tree.split(os.pathsep)[-1])
    if done.returncode != 0:
        raise SystemExit(f"{tree}: run failed\n{done.stderr[-2000:]}")
    stages = {stage["stage"]: stage["cpu_us"] for stage in profiled(done.stderr)}
    return {**masker_result(done.stderr), "stages": stages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", help="PYTHONPATHs of the source trees to compare")
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", default=str(REPO / "benchmarks/results/ab.json"))
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {tree: [] for tree in args.trees}
    header = f"{'tree':<40}{'events/s':>10}{'µs/event':>10}" + "".join(
        f"{short:>9}" for short in SHOWN.values())
    with kafka_broker() as bootstrap:
        stock = prepare(Path(tempfile.mkdtemp(prefix="crm-masker-ab-")), bootstrap, args.events)
        print(f"{args.events:,} events, {args.rounds} rounds, runs taking turns; µs of CPU per "
              "event, the stages: the main thread's")
        print(header)
        for _ in range(args.rounds):
            for tree in args.trees:
                result = run_tree(tree, stock, bootstrap)
                runs[tree].append(result)
                print(row(tree, [result]), flush=True)
    print("medians")
    print(header)
    for tree, results in runs.items():
        print(row(tree, results))
    write_result(Path(args.output), events=args.events, rounds=args.rounds, runs=runs)


def row(tree: str, results: list[dict[str, Any]]) -> str:
    def median(pick: Any) -> float:
        return statistics.median(pick(r) for r in results)

    cells = "".join(f"{median(lambda r, n=name: r['stages'].get(n, float('nan'))):>9.2f}"
                    for name in SHOWN)
    return (f"{tree[-40:]:<40}{median(lambda r: r['events_per_s']):>10,.0f}"
            f"{median(lambda r: r['cpu_us_per_event']):>10.1f}{cells}")


if __name__ == "__main__":
    main()
