"""What a worker's start costs: the state that `crm-masker run` reads back before its first batch.

    python -m benchmarks.restore [--events N] [--keys K] [--output FILE]

- **Known names**: every start reads the whole history of the tables with name columns
  (contacts, users) to learn the CRM's names (`pipeline/known_names.py`). N generated events
  of the reference mix on a local broker (KAFKA_BOOTSTRAP_SERVERS, else the one the tests
  start); the restore timed with the Python reading alone and with the native core, taking
  turns, best of the rounds: records/s and CPU µs per record.
- **Data keys**: the restore of K live data keys of `encrypt` (unwrapped with the KEK and
  kept): seconds, and the memory that the store holds for them (tracemalloc); then on the
  broker, a key topic of K keys read whole (a worker's start) and read on after 100 new keys
  and an erasure (a rebalance, the worker's follow between transactions: `KeyTopicTail`).

Prints a table and writes JSON (default benchmarks/results/restore.json).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks.pipeline import REPO, prepare, write_result
from processor.avro.codec import RecordCodec
from processor.datakeys import DATA_KEY_BYTES, DataKeyStore, WrappedKey, active_kek_id, kek_of
from processor.keys import load_keys
from processor.masking.compiler import compile_rules
from processor.masking.native import NativeEngine, load_core
from processor.pipeline.known_names import restore_known_names
from processor.rules import load_validated
from tests.broker import kafka_broker
from tests.helpers import DEMO_KEK, DEMO_KEYS


def known_names(bootstrap: str, rules: Path, native: bool) -> dict[str, float]:
    """One restore of the known names from the namespace's source topics."""
    compiled = compile_rules(load_validated(rules), load_keys(DEMO_KEYS), load_keys(DEMO_KEK))
    core = NativeEngine(compiled, load_core()) if native else None
    wall, cpu = time.perf_counter(), time.process_time()
    records = restore_known_names(compiled, RecordCodec(None), bootstrap, {}, core=core)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"records": records, "records_per_s": records / wall,
            "cpu_us_per_record": cpu / max(records, 1) * 1e6}


def data_keys(count: int) -> dict[str, float]:
    """The restore of ``count`` live data keys: seconds and the store's memory."""
    keks, keys = load_keys(DEMO_KEK), load_keys(DEMO_KEYS)
    kek_id = active_kek_id(keks)
    wrapping = kek_of(keks, kek_id)
    records = [(f"keys[0]@{i}", (f"contact/k2026a:{i:032x}",
                                 WrappedKey.wrap(kek_id, wrapping, os.urandom(DATA_KEY_BYTES))))
               for i in range(count)]
    store = DataKeyStore("keys", keks, keys, keys.key_ids[-1])
    tracemalloc.start()
    started = time.perf_counter()
    store.restore(records)
    seconds = time.perf_counter() - started
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(store) == count
    return {"keys": count, "seconds": seconds, "mb": held / 2**20,
            "bytes_per_key": held / count}


def key_topic_reads(bootstrap: str, count: int) -> dict[str, float]:
    """Seconds of a whole read of a key topic of ``count`` keys into a store, and of the read
    on after 100 more keys and one tombstone."""
    from confluent_kafka.admin import AdminClient, NewTopic

    from processor.pipeline.key_topic import KeyTopicTail, write_key_records

    topic = f"bench-keys-{os.getpid()}-{time.monotonic_ns()}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1, config={"cleanup.policy": "compact"})]
                        )[topic].result(30)
    keks, keys = load_keys(DEMO_KEK), load_keys(DEMO_KEYS)
    maker = DataKeyStore(topic, keks, keys, keys.key_ids[-1])

    def made(subjects: range) -> list[tuple[str, WrappedKey | None]]:
        for subject in subjects:
            maker.data_key("contact", subject)
        records = [(key.decode(), WrappedKey.from_json(topic, value) if value else None)
                   for key, value in maker.pending()]
        maker.committed()
        return records

    write_key_records(bootstrap, topic, {}, made(range(count)))
    worker = DataKeyStore(topic, keks, keys, keys.key_ids[-1])
    tail = KeyTopicTail(worker, bootstrap, {}, stale_after_s=3600)
    started = time.perf_counter()
    whole, records = tail.read()
    worker.restore(records)
    whole_s = time.perf_counter() - started
    assert whole and len(worker) == count
    write_key_records(bootstrap, topic, {}, [*made(range(count, count + 100)),
                                             (maker.data_key("contact", 0)[0], None)])
    started = time.perf_counter()
    whole, records = tail.read()
    assert not whole and worker.follow(records) == (100, 1)
    return {"keys": count, "whole_read_s": whole_s,
            "read_on_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", default=str(REPO / "benchmarks/results/restore.json"))
    args = parser.parse_args()
    with kafka_broker() as bootstrap:
        ns = prepare(Path(tempfile.mkdtemp(prefix="crm-masker-restore-")), bootstrap,
                     args.events)
        runs: dict[str, list[dict[str, float]]] = {"python": [], "native core": []}
        for _ in range(args.rounds):  # taking turns: both see the same broker and cache
            for name in runs:
                runs[name].append(known_names(bootstrap, ns.rules, name == "native core"))
        topic_reads = key_topic_reads(bootstrap, args.keys)
    best = {name: max(rows, key=lambda r: r["records_per_s"]) for name, rows in runs.items()}
    keys = data_keys(args.keys)
    print(f"known names at start: {best['python']['records']:,.0f} records of the name tables"
          f" ({args.events:,} events generated), best of {args.rounds}")
    print(f"{'reader':<16}{'records/s':>12}{'CPU µs/record':>16}")
    for name, row in best.items():
        print(f"{name:<16}{row['records_per_s']:>12,.0f}{row['cpu_us_per_record']:>16.1f}")
    ratio = best["native core"]["records_per_s"] / best["python"]["records_per_s"]
    print(f"native core / python: {ratio:.2f}")
    print(f"data keys: {keys['keys']:,} restored in {keys['seconds']:.2f} s, "
          f"{keys['mb']:.1f} MB held ({keys['bytes_per_key']:.0f} bytes per key)")
    print(f"key topic of {topic_reads['keys']:,} keys on the broker: read whole in "
          f"{topic_reads['whole_read_s']:.2f} s; read on after 100 new keys and an erasure in "
          f"{topic_reads['read_on_s']:.3f} s")
    result: dict[str, Any] = {"events": args.events, "known_names": best,
                              "known_names_rounds": runs, "native_over_python": ratio,
                              "data_keys": keys, "key_topic_reads": topic_reads}
    write_result(Path(args.output), **result)


if __name__ == "__main__":
    main()
