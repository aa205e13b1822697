"""What each optional stage costs: the same input through `crm-masker run` with the reference
rules, without their KPIs, and without KPIs and anomaly detection, side by side on one broker,
each run twice (alternating) on a namespace of its own.

    python -m benchmarks.stages [--events N] [--repeat R] [--output FILE]

Uses KAFKA_BOOTSTRAP_SERVERS, else starts the local broker as the tests do. Prints events/s
and µs of CPU per event (the processor's, all threads) with the ratios to the plain rules, and
writes JSON (default benchmarks/results/stages.json).
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

from benchmarks.pipeline import masker_cmd, masker_result, sh, write_result
from benchmarks.scaling import copy_input
from processor.generator.sink import create_source_topics
from tests.broker import kafka_broker
from tests.pipeline.harness import Namespace

PARTITIONS = 3
#: rule-set variants: name → what is taken out of the reference rules
VARIANTS = {"reference (views, anomaly, KPIs)": (), "without KPIs": ("kpis",),
            "without KPIs and anomaly": ("kpis", "anomaly")}


def namespace(root: Path, bootstrap: str, without: tuple[str, ...]) -> Namespace:
    """A namespace of its own, its rules less ``without`` (rules/kpis.yaml, rules/anomaly.yaml)."""
    ns = Namespace(root / uuid.uuid4().hex[:6]).create()
    for part in without:
        (ns.rules / f"{part}.yaml").unlink()
    create_source_topics(bootstrap, PARTITIONS, {}, ns.source_prefix)
    sh(sys.executable, "-m", "processor", "topics", "--rules", str(ns.rules),
       "--bootstrap-servers", bootstrap, "--partitions", str(PARTITIONS))
    return ns


def run(ns: Namespace, bootstrap: str) -> dict[str, Any]:
    done = subprocess.run([*masker_cmd(ns, bootstrap, f"{ns.ns}-bench"), "--exit-when-idle",
                           "3"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return masker_result(done.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "stages.json")
    args = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    with kafka_broker() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        stock = Namespace(Path(tmp) / "stock").create()
        sh(sys.executable, "-m", "processor", "generate", "--bootstrap-servers", bootstrap,
           "--events", str(args.events), "--seed", "3", "--topic-prefix", stock.source_prefix,
           "--partitions", str(PARTITIONS))
        for _ in range(args.repeat):
            for name, without in VARIANTS.items():
                ns = namespace(Path(tmp), bootstrap, without)
                copy_input(bootstrap, stock, ns)
                results[name].append(run(ns, bootstrap))
    plain = statistics.median(r["cpu_us_per_event"]
                              for r in results["without KPIs and anomaly"])
    plain_rate = statistics.median(r["events_per_s"] for r in results["without KPIs and anomaly"])
    rows = []
    print(f"\n{args.events:,} events, {PARTITIONS} partitions, {os.cpu_count()} cores, "
          f"median of {args.repeat}")
    print(f"{'rules':<32} {'events/s':>9} {'µs CPU/event':>12} {'CPU ×':>6} {'rate ×':>6}")
    for name, runs in results.items():
        rate = statistics.median(r["events_per_s"] for r in runs)
        cpu = statistics.median(r["cpu_us_per_event"] for r in runs)
        rows.append({"rules": name, "events_per_s": rate, "cpu_us_per_event": cpu,
                     "cpu_ratio": cpu / plain, "rate_ratio": rate / plain_rate, "runs": runs})
        print(f"{name:<32} {rate:>9,.0f} {cpu:>12.1f} {cpu / plain:>6.2f} {rate / plain_rate:>6.2f}")
    write_result(args.output, events=args.events, partitions=PARTITIONS,
                 cores=os.cpu_count(), rows=rows)


if __name__ == "__main__":
    main()
