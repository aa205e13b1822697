"""What a worker's start costs: the state that `crm-masker run` reads back before its first batch.

    python -m benchmarks.restore [--events N] [--keys K] [--output FILE]

- **Known names**: every start reads the whole history of the tables with name columns
  (contacts, users) to learn the CRM's names (`pipeline/known_names.py`). N generated events
  of the reference mix on a local broker (KAFKA_BOOTSTRAP_SERVERS, else the one the tests
  start); the restore timed with the Python reading alone and with the native core, taking
  turns, best of the rounds: records/s and CPU µs per record.
- **Data keys**: the restore of K live data keys of `encrypt` (unwrapped with the KEK and
  kept): seconds, and the memory that the store holds for them (tracemalloc).

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
    result: dict[str, Any] = {"events": args.events, "known_names": best,
                              "known_names_rounds": runs, "native_over_python": ratio,
                              "data_keys": keys}
    write_result(Path(args.output), **result)


if __name__ == "__main__":
    main()
