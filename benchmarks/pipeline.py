"""crm-masker on Kafka next to its peers, in one run on the same broker and the same input.

  (a) passthrough   plain confluent-kafka consume → produce, same transaction settings
  (a') shaped       the same, but writing crm-masker's records: one copy per view of the
                    table, each with the policy and lineage headers (nothing decoded or masked)
  (b) crm-masker    `crm-masker run` (decode, mask every view, encode, exactly once), with the
                    native core when it is installed, and again with `--engine python`
  (b'') views only  the same without the rules' anomaly detection and KPIs: the work that
                    the peers (c) and (d) do
  (c) faust         the same masking job on faust-streaming (its own venv, .venv-bench)
  (d) kafka streams the masking job a JVM team would write: Kafka Streams, exactly_once_v2,
                    one stream thread (benchmarks/streams_peer/, built with Maven; its
                    README says which of the rules it leaves out)
For (a), (a'), (b) and (d) the CPU per event: of the job's process (all threads) and of the broker
(when it runs here) in the job's busy stretch, and the cores they kept busy: where (a) and (b)
keep them equally busy, b/a is the ratio of their CPU per event. Then the end-to-end latency
p50/p99 of (b) at about half its maximum rate, and at a low rate (--low-rate) where it shows
the batching and the commit, both on topics that a first pass of the processor has warmed. The
latency's load is generated before its clock starts and replayed at the rate
(`benchmarks/replay.py`): generating events costs more CPU than masking them, and a generator
at the rate took the processor's core.

    python -m benchmarks.pipeline [--events N] [--repeat R] [--output FILE]

Uses KAFKA_BOOTSTRAP_SERVERS, else starts the local broker as the tests do. Prints a table and
writes JSON (default benchmarks/results/pipeline.json).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks import streams_peer
from benchmarks.broker_cpu import BrokerCpu
from processor.generator.sink import create_source_topics
from processor.rules import load_validated
from processor.rules.topics import RuleTopics
from tests.broker import kafka_broker
from tests.helpers import DEMO_KEK, DEMO_KEYS, free_port, http_get
from tests.pipeline.harness import Namespace, output_topics

REPO = Path(__file__).resolve().parents[1]
BENCH_PYTHON = REPO / ".venv-bench" / "bin" / "python"


def sh(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)


def prepare(root: Path, bootstrap: str, events: int, rate: float = 0.0) -> Namespace:
    ns = Namespace(root / uuid.uuid4().hex[:6]).create() if root.exists() else None
    assert ns is not None
    sh(sys.executable, "-m", "processor", "topics", "--rules", str(ns.rules),
       "--bootstrap-servers", bootstrap, "--partitions", "3")
    if events:
        sh(sys.executable, "-m", "processor", "generate", "--bootstrap-servers", bootstrap,
           "--events", str(events), "--seed", "3", "--topic-prefix", ns.source_prefix,
           "--rate", str(rate))
    return ns


def source_topics(ns: Namespace) -> list[str]:
    from processor.generator.model import TABLES

    return [ns.source_prefix + t for t in TABLES]


def run_passthrough(ns: Namespace, bootstrap: str, shaped: bool = False,
                    run: int = 0) -> dict[str, Any]:
    name = f"{'shaped' if shaped else 'pass'}{run}"
    out = f"{ns.ns}.{name}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(out, 3, 1)])[out].result(30)
    shape = ["--shape", str(ns.rules)] if shaped else []
    result = sh(sys.executable, "-m", "benchmarks.passthrough", *shape, bootstrap,
                f"{ns.ns}-{name}", out, *source_topics(ns))
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_result(path: Path, **fields: Any) -> None:
    """A benchmark's JSON (dated), next to the table that it printed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"when": datetime.now().isoformat(timespec="seconds"), **fields},
                               indent=2) + "\n")
    print(f"written {path}")


def masker_cmd(ns: Namespace, bootstrap: str, group: str, metrics_port: int = -1) -> list[str]:
    return [sys.executable, "-m", "processor", "run", "--rules", str(ns.rules), "--keys",
            str(DEMO_KEYS), "--kek-file", str(DEMO_KEK), "--allow-demo-keys",
            "--bootstrap-servers", bootstrap, "--group-id",
            group, "--transactional-id", f"{group}-tx", "--metrics-port", str(metrics_port)]


def views_only(ns: Namespace) -> Namespace:
    """The namespace with its rules less anomaly detection and the KPIs (same topics)."""
    only = Namespace(ns.root.with_name(ns.root.name + "-views"), ns.ns)
    shutil.copytree(ns.rules, only.rules)
    for part in ("kpis", "anomaly"):
        (only.rules / f"{part}.yaml").unlink()
    return only


def own_state(ns: Namespace, bootstrap: str, label: str) -> Namespace:
    """The namespace with internal topics of its own (by actor, KPI facts, data keys): a run
    in a new consumer group reads those from their start, so a later run would redo the
    detectors' and the KPIs' work of every run before it, and find their keys made."""
    own = Namespace(ns.root.with_name(f"{ns.root.name}-{label}"), ns.ns)
    if not own.rules.exists():
        topics = RuleTopics.of(load_validated(ns.rules).rules)
        state = [t for t in (topics.by_actor, topics.kpi_facts, topics.data_keys) if t]
        shutil.copytree(ns.rules, own.rules)
        for path in own.rules.rglob("*.yaml"):
            text = path.read_text()
            for topic in state:
                text = text.replace(topic, f"{topic}-{label}")
            path.write_text(text)
        sh(sys.executable, "-m", "processor", "topics", "--rules", str(own.rules),
           "--bootstrap-servers", bootstrap, "--partitions", "3")
    return own


def run_masker(ns: Namespace, bootstrap: str, engine: str = "auto", run: int = 0,
               label: str = "") -> dict[str, Any]:
    group = f"{ns.ns}-masker-{engine}{label}{run}"
    ns = own_state(ns, bootstrap, f"{engine}{label}{run}")
    result = subprocess.run([*masker_cmd(ns, bootstrap, group), "--exit-when-idle", "3",
                             "--engine", engine],
                            capture_output=True, text=True, timeout=900, check=True)
    return masker_result(result.stderr)


def masker_result(log: str) -> dict[str, Any]:
    """Events, events/s, CPU per event, engine and the busy stretch (wall clock) from the log
    of a `crm-masker run --exit-when-idle`."""
    m = re.search(r"processed (\d+) input records; (\d+) records/s while busy, ([\d.]+) µs of "
                  r"CPU", log)
    assert m, log[-2000:]
    used = re.search(r"masking engine: (.*)", log)
    events, rate = int(m.group(1)), float(m.group(2))
    # the busy stretch ends when the idle wait began: the stop line's time less the wait
    idle = re.search(r"^(\S+ \S+) INFO .* idle for ([\d.]+)s, stopping", log, re.M)
    assert idle, log[-2000:]
    stop = datetime.strptime(idle.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
    busy_to = stop - float(idle.group(2))
    return {"events": events, "events_per_s": rate, "cpu_us_per_event": float(m.group(3)),
            "busy_from": busy_to - events / max(1e-9, rate), "busy_to": busy_to,
            "engine": used.group(1) if used else "?"}


def with_broker_cpu(job: Callable[[], dict[str, Any]], broker: BrokerCpu) -> dict[str, Any]:
    """``job``'s result, with the broker's CPU per event in the job's busy stretch (when the
    broker runs on this machine)."""
    if broker.pid is None:
        return job()
    with broker.sampled() as samples:
        result = job()
    used = samples.between(float(result["busy_from"]), float(result["busy_to"]))
    return {**result, "broker_cpu_us_per_event": used * 1e6 / max(1, int(result["events"]))}


def run_streams(ns: Namespace, bootstrap: str, run: int = 0) -> dict[str, Any]:
    """(d): the Kafka Streams job on the namespace's topics, with the namespaced rules' plan."""
    result = streams_peer.run(streams_peer.plan(ns.rules, DEMO_KEYS), bootstrap,
                              f"{ns.ns}-streams{run}")
    if "error" in result:
        raise RuntimeError(f"the Kafka Streams peer failed: {result['error']}")
    return result


def run_faust(ns: Namespace, bootstrap: str) -> dict[str, Any] | None:
    if not BENCH_PYTHON.exists():
        return None
    result = subprocess.run(
        [str(BENCH_PYTHON), "-m", "benchmarks.faust_masker", bootstrap, f"{ns.ns}-faust",
         str(ns.rules), str(DEMO_KEYS), *source_topics(ns)],
        capture_output=True, text=True, timeout=1800, cwd=REPO)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        return {"error": (result.stderr or result.stdout)[-1500:]}
    return dict(json.loads(lines[-1]))


#: events that a first pass of the processor takes before the clock: the first transactions
#: on fresh topics wait for the broker's first markers on each partition (0.2–0.6 s per
#: commit on CONCURRENT_TRANSACTIONS; at 15,000 events/s a backlog of 5 s), which a
#: deployment meets once, not in its steady state
WARM_EVENTS = 2_000


def latency(root: Path, bootstrap: str, events: int, rate: float) -> dict[str, Any]:
    """Produce at ``rate`` while the processor runs; time from input CreateTime to the moment a
    read_committed consumer sees the output, on topics that a first pass has warmed."""
    ns = prepare(root, bootstrap, WARM_EVENTS)
    group = f"{ns.ns}-lat"
    subprocess.run([*masker_cmd(ns, bootstrap, group), "--exit-when-idle", "2"],
                   capture_output=True, timeout=300, check=True)
    load = root / f"{ns.ns}-latency.jsonl"  # generated before the clock: replayed at the rate
    sh(sys.executable, "-m", "processor", "generate", "--output", str(load), "--events",
       str(events), "--seed", "4", "--topic-prefix", ns.source_prefix)
    create_source_topics(bootstrap, 3, {}, ns.source_prefix)  # as `generate` would
    port = free_port()
    proc = subprocess.Popen([*masker_cmd(ns, bootstrap, group, port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict[tuple[str, int, int], float] = {}
    stop = threading.Event()

    def read_outputs() -> None:
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"lat-{uuid.uuid4().hex}",
                      "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                      "fetch.wait.max.ms": 10})
        c.subscribe(output_topics(ns))
        while not stop.is_set():
            # what is there, else the next record as it comes: consume(500, t) would wait
            # the whole t for 500 records and see the earlier ones late
            messages = c.consume(500, 0)
            if not messages:
                first = c.poll(0.05)
                messages = [] if first is None else [first]
            now = time.time()
            for msg in messages:
                if msg.error():
                    continue
                h = dict(msg.headers() or [])
                key = (h["crm_masker.source.topic"].decode(),
                       int(h["crm_masker.source.partition"]), int(h["crm_masker.source.offset"]))
                seen.setdefault(key, now)
        c.close()

    reader = threading.Thread(target=read_outputs)
    reader.start()
    # the clock starts with the replay: the processor must be ready by then (its partitions
    # held and its detectors restored), or the first events wait for its start (imports,
    # group join, restore) and that wait becomes the p99
    wait_until_ready(f"http://127.0.0.1:{port}/readyz", proc)
    started = time.time()
    sh(sys.executable, "-m", "benchmarks.replay", bootstrap, str(load), str(rate))
    time.sleep(5)
    stop.set()
    reader.join()
    proc.terminate()
    proc.wait(60)
    created = input_timestamps(bootstrap, source_topics(ns))
    lat = sorted(seen[k] - created[k] for k in seen if created.get(k, 0.0) >= started)
    q = statistics.quantiles(lat, n=100)
    return {"rate": rate, "measured": len(lat), "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def wait_until_ready(readyz: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until the processor answers ready: partitions assigned and their state restored. (Its
    consumer group is no sign: a static member that stopped keeps its assignment in a stable
    group until its session times out.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the processor exited with {proc.returncode} before its start")
        if http_get(readyz)[0] == 200:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the processor was not ready within {timeout:.0f} s")


def input_timestamps(bootstrap: str, topics: list[str]) -> dict[tuple[str, int, int], float]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"ts-{uuid.uuid4().hex}"})
    out: dict[tuple[str, int, int], float] = {}
    for topic in topics:
        for p in c.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high <= low:
                continue
            c.assign([TopicPartition(topic, p, low)])
            while True:
                msg = c.poll(2)
                if msg is None or msg.error():
                    break
                out[(topic, p, msg.offset())] = msg.timestamp()[1] / 1000
                if msg.offset() >= high - 1:
                    break
    c.close()
    return out


def total_cpu(result: dict[str, Any]) -> float | None:
    broker = result.get("broker_cpu_us_per_event")
    return None if broker is None else float(result["cpu_us_per_event"]) + float(broker)


def cpu_cell(result: dict[str, Any]) -> str:
    job, total = float(result["cpu_us_per_event"]), total_cpu(result)
    if total is None:
        return f"{job:5.1f} + ? (broker not local)"
    cores = float(result["events_per_s"]) * total / 1e6  # job and broker together
    return f"{job:5.1f} + {total - job:5.1f} = {total:5.1f}  {cores:5.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--latency-seconds", type=float, default=10.0,
                        help="how long each latency load lasts")
    parser.add_argument("--low-rate", type=int, default=2_000,
                        help="a second latency run at this many events/s (0: none)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="rounds of (a), (a'), (b) and (d); the best counts (faust: one)")
    parser.add_argument("--output", default=str(REPO / "benchmarks/results/pipeline.json"))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="crm-masker-bench-"))
    with kafka_broker() as bootstrap:
        ns = prepare(root, bootstrap, args.events)
        views = views_only(ns)
        results: dict[str, Any] = {"events": args.events, "cpu_count": os.cpu_count()}
        print(f"input: {args.events:,} generated events, broker {bootstrap}; best of "
              f"{args.repeat} rounds for (a), (a'), (b) and (d)")
        streams_peer.build()  # Maven before the clock
        # each job reads the same input in its own consumer group; jobs take turns, and the
        # best of --repeat rounds counts (the first round also warms the broker's JIT)
        jobs: dict[str, Callable[[int], dict[str, Any]]] = {
            "passthrough": lambda run: run_passthrough(ns, bootstrap, run=run),
            "passthrough_shaped": lambda run: run_passthrough(ns, bootstrap, True, run),
            "crm_masker": lambda run: run_masker(ns, bootstrap, run=run),
            "crm_masker_python_engine": lambda run: run_masker(ns, bootstrap, "python", run),
            "crm_masker_views_only": lambda run: run_masker(views, bootstrap, run=run,
                                                             label="-views"),
            "kafka_streams": lambda run: run_streams(ns, bootstrap, run)}
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in jobs}
        for run in range(args.repeat):  # each run's state topics, made before any clock
            for space, engine, label in ((ns, "auto", ""), (ns, "python", ""),
                                         (views, "auto", "-views")):
                own_state(space, bootstrap, f"{engine}{label}{run}")
        broker = BrokerCpu(bootstrap)
        for run in range(args.repeat):
            for name, job in jobs.items():
                rounds[name].append(with_broker_cpu(functools.partial(job, run), broker))
        for name, runs in rounds.items():
            results[name] = {**max(runs, key=lambda r: float(r["events_per_s"])),
                             "rounds": [round(r["events_per_s"]) for r in runs]}
        results["faust"] = run_faust(ns, bootstrap)
        b = results["crm_masker"]["events_per_s"]
        for name, rate in (("latency", round(b / 2)), ("latency_low_rate", args.low_rate)):
            if rate:
                events = round(rate * max(args.latency_seconds, 1.0))
                results[name] = latency(root, bootstrap, events, rate=rate)
    a = results["passthrough"]["events_per_s"]
    shaped = results["passthrough_shaped"]["events_per_s"]
    results["shaped_over_a"] = shaped / a
    c = (results["faust"] or {}).get("events_per_s")
    results["b_over_a"] = b / a
    results["b_over_c"] = b / c if c else None
    d = results["kafka_streams"]["events_per_s"]
    results["b_over_d"] = b / d
    views_rate = results["crm_masker_views_only"]["events_per_s"]
    results["views_only_over_d"] = views_rate / d
    print(f"{'job':<38}{'events/s':>12}   CPU µs per event: job + broker = total, cores busy")
    rows = (("passthrough", "(a) passthrough (confluent-kafka, EOS)", ""),
            ("passthrough_shaped", "(a') the same, crm-masker's records",
             f"(copies per view + headers: {shaped / a:.2f} of (a))"),
            ("crm_masker", "(b) crm-masker run (EOS)",
             f"engine: {results['crm_masker']['engine'].split(' for ')[0]}"),
            ("crm_masker_python_engine", "    the same, --engine python", ""),
            ("crm_masker_views_only", "(b'') crm-masker, views only", "no anomaly, no KPIs"),
            ("kafka_streams", "(d) Kafka Streams masking job (EOS v2)",
             results["kafka_streams"]["engine"]))
    for name, label, remark in rows:
        print(f"{label:<38}{results[name]['events_per_s']:>12,.0f}   {cpu_cell(results[name])}"
              f"  {remark}".rstrip())
    print(f"{'(c) faust-streaming masking job':<38}{c:>12,.0f}" if c else
          f"{'(c) faust-streaming masking job':<38}{'n/a':>12}  {str(results['faust'])[:200]}")
    cpu_d = total_cpu(results["kafka_streams"])
    cpu_a, cpu_b = total_cpu(results["passthrough"]), total_cpu(results["crm_masker"])
    job_b, job_d = (float(results[n]["cpu_us_per_event"]) for n in ("crm_masker", "kafka_streams"))
    results["cpu_d_over_b_job"] = job_d / job_b
    job_v = float(results["crm_masker_views_only"]["cpu_us_per_event"])
    results["cpu_d_over_views_only_job"] = job_d / job_v
    print(f"(b'') against (d), the same work: events/s b''/d = {views_rate / d:.2f}; CPU per "
          f"event of the job d/b'' = {job_d / job_v:.2f}")
    print(f"(b) against (d): events/s b/d = {b / d:.2f}; CPU per event of the job d/b = "
          f"{job_d / job_b:.2f}" + (f", job + broker d/b = {cpu_d / cpu_b:.2f}"
                                   if cpu_b and cpu_d else ""))
    if cpu_b and cpu_d:
        results["cpu_d_over_b"] = cpu_d / cpu_b
    if cpu_a and cpu_b:
        results["cpu_a_over_b"] = cpu_a / cpu_b
        print(f"CPU per event (job + broker): (a) {cpu_a:.1f} µs, (b) {cpu_b:.1f} µs of "
              f"{os.cpu_count()} cores: with the cores as busy in both jobs, b/a = "
              f"{cpu_a / cpu_b:.2f}")
    print(f"b/a = {results['b_over_a']:.2f}" + (f", b/c = {results['b_over_c']:.1f}" if c else ""))
    for name in ("latency", "latency_low_rate"):
        lat = results.get(name)
        if lat:
            print(f"latency of (b) at {lat['rate']:,} events/s: p50 {lat['p50_ms']:.0f} ms, "
                  f"p99 {lat['p99_ms']:.0f} ms ({lat['measured']:,} events)")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
