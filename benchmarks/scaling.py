"""Scaling: `crm-masker run` with 1, 2 and 4 workers on the same 12-partition input, as worker
processes of one `run --workers N` and as N separate `run` processes (as separate hosts would
run them). Prints events/s, CPU per event and scaling efficiency; writes JSON.

    python -m benchmarks.scaling [--events 120000] [--output benchmarks/results/scaling.json]

The workers join the group on empty topics; then the input is copied in at once, so that the
runs measure processing, not who joined first. On a 2-core machine the events/s curve flattens
at 2 workers; the CPU per event is what must stay flat for linear scaling on more cores. Every
topic has 12 partitions, the access log and the users topic too: their rows reach the
detectors through the by-actor topic (12 partitions), so the anomaly work is spread over the
workers like the masking; the per-worker rows show how evenly.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from benchmarks.pipeline import masker_cmd, masker_result, sh, write_result
from processor.generator.sink import create_source_topics
from tests.broker import kafka_broker
from tests.pipeline.harness import Namespace

PARTITIONS = 12


def prepare(root: Path, bootstrap: str, events: int) -> Namespace:
    """The stock input: ``events`` generated events on 12-partition source topics."""
    ns = Namespace(root / uuid.uuid4().hex[:6]).create()
    sh(sys.executable, "-m", "processor", "generate", "--bootstrap-servers", bootstrap,
       "--events", str(events), "--seed", "3", "--topic-prefix", ns.source_prefix,
       "--partitions", str(PARTITIONS))
    return ns


def fresh(root: Path, bootstrap: str) -> Namespace:
    """A namespace of its own for one run: empty source topics, output topics."""
    ns = Namespace(root / uuid.uuid4().hex[:6]).create()
    create_source_topics(bootstrap, PARTITIONS, {}, ns.source_prefix)
    sh(sys.executable, "-m", "processor", "topics", "--rules", str(ns.rules),
       "--bootstrap-servers", bootstrap, "--partitions", str(PARTITIONS))
    return ns


def copy_input(bootstrap: str, stock: Namespace, run: Namespace) -> int:
    """The stock events into the run's source topics, partition for partition, at once (the
    workers are already waiting: the runs measure processing, not joining)."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    from processor.generator.model import TABLES

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"copy-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 20})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20,
                         "batch.num.messages": 10000, "compression.type": "lz4"})
    copied = 0
    for table in TABLES:
        source = stock.source_prefix + table
        parts = consumer.list_topics(source, timeout=10).topics[source].partitions
        for pid in parts:
            low, high = consumer.get_watermark_offsets(TopicPartition(source, pid), timeout=10)
            consumer.assign([TopicPartition(source, pid, low)])
            while low < high:
                for msg in consumer.consume(min(10000, high - low), 1.0):
                    if msg.error():
                        continue
                    producer.produce(run.source_prefix + table, msg.value(), msg.key(),
                                     partition=pid, headers=msg.headers())
                    producer.poll(0)
                    low = (msg.offset() or 0) + 1
                    copied += 1
    producer.flush(60)
    consumer.close()
    return copied


def per_worker(log: str) -> list[dict[str, Any]]:
    """The result line of every worker in one log (``[worker i]`` prefixes)."""
    lines: dict[str, list[str]] = {}
    for line in log.splitlines():
        worker = line.split("[worker ", 1)[1].split("]", 1)[0] if "[worker " in line else "0"
        lines.setdefault(worker, []).append(line)
    return [masker_result("\n".join(found)) for found in lines.values()
            if any("processed" in line for line in found)]


def combined(workers: list[dict[str, Any]]) -> dict[str, Any]:
    events = sum(w["events"] for w in workers)
    busy = max(w["busy_to"] for w in workers) - min(w["busy_from"] for w in workers)
    cpu = sum(w["cpu_us_per_event"] * w["events"] for w in workers) / max(1, events)
    return {"events": events, "events_per_s": events / max(busy, 1e-9),
            "cpu_us_per_event": cpu, "per_worker": [w["events"] for w in workers]}


def run_one(root: Path, stock: Namespace, bootstrap: str, workers: int,
            separate: bool) -> dict[str, Any]:
    ns = fresh(root, bootstrap)
    group = f"{ns.ns}-scale"
    base = [*masker_cmd(ns, bootstrap, group), "--exit-when-idle", "15"]
    commands = ([[*base, "--workers", str(workers)]] if not separate else
                [[*base[:base.index("--transactional-id") + 1], f"{group}-host{i}",
                  *base[base.index("--transactional-id") + 2:]] for i in range(workers)])
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for cmd in commands]
    wait_for_members(bootstrap, group, workers)
    copy_input(bootstrap, stock, ns)
    results = []
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-2000:]
        results += per_worker(err)
    return combined(results)


def wait_for_members(bootstrap: str, group: str, members: int, timeout: float = 120) -> None:
    """Until the group is stable with every worker in it (they start on empty topics)."""
    import time

    from confluent_kafka import ConsumerGroupState, KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = admin.describe_consumer_groups([group])[group].result(timeout=10)
            if info.state == ConsumerGroupState.STABLE and len(info.members) == members:
                time.sleep(1)
                return
        except (KafkaException, TimeoutError):
            pass  # not known yet, or the broker busy with the joins
        time.sleep(0.2)
    raise TimeoutError(f"{group}: not {members} members within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=120_000)
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "scaling.json")
    args = parser.parse_args()
    rows = []
    with kafka_broker() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        stock = prepare(Path(tmp), bootstrap, args.events)
        for separate in (False, True):
            for workers in (1, 2, 4):
                if separate and workers == 1:
                    continue  # the same as one worker of `run --workers 1`
                result = run_one(Path(tmp), stock, bootstrap, workers, separate)
                assert result["events"] == args.events, result
                rows.append({"workers": workers, "how": "processes" if separate else
                             "--workers", **result})
    base = rows[0]["events_per_s"]
    print(f"\n{args.events:,} events, {PARTITIONS} partitions, {os.cpu_count()} cores")
    print(f"{'workers':>7}  {'how':<10} {'events/s':>9} {'speed-up':>8} {'efficiency':>10} "
          f"{'µs CPU/event':>12}  events per worker")
    for row in rows:
        speedup = row["events_per_s"] / base
        row["speedup"], row["efficiency"] = speedup, speedup / row["workers"]
        print(f"{row['workers']:>7}  {row['how']:<10} {row['events_per_s']:>9,.0f} "
              f"{speedup:>7.2f}x {row['efficiency']:>9.0%} {row['cpu_us_per_event']:>12.1f}  "
              f"{row['per_worker']}")
    write_result(args.output, events=args.events, partitions=PARTITIONS,
                 cores=os.cpu_count(), rows=rows)


if __name__ == "__main__":
    main()
