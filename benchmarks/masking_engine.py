"""Masking-engine throughput on the reference event mix, without Kafka, on one core.

Side by side in one run, on the same pre-generated events (as Kafka bytes):
  ceiling   orjson decode + encode of every key and value, no masking
  masked    decode + MaskingEngine.process (every view) + encode every output record

    python -m benchmarks.masking_engine [--events N] [--repeat R] [--output FILE]

Prints a table and writes JSON (default benchmarks/results/masking_engine.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from processor.formats.envelope import decode_json
from processor.generator.stream import CrmStream
from processor.keys import load_keys
from processor.masking.engine import MaskingEngine
from processor.rules import load_validated
from processor.rules.compiler import compile_rules

REPO = Path(__file__).resolve().parents[1]
Event = tuple[str, bytes | None, bytes | None]


def make_events(n: int, seed: int) -> list[Event]:
    return [(r.topic, orjson.dumps(r.key), None if r.value is None else orjson.dumps(r.value))
            for r in CrmStream(seed=seed).events(n)]


def ceiling(events: list[Event]) -> int:
    out = 0
    loads, dumps = orjson.loads, orjson.dumps
    for _, key, value in events:
        k = dumps(loads(key)) if key is not None else None
        v = dumps(loads(value)) if value is not None else None
        out += (k is not None) + (v is not None)
    return out


def masked(make_engine: Callable[[], MaskingEngine]) -> Callable[[list[Event]], int]:
    """A fresh engine per run, so that no cache warmed by an earlier run flatters the figure."""
    dumps = orjson.dumps

    def run(events: list[Event]) -> int:
        engine = make_engine()
        out = 0
        for topic, key, value in events:
            outcome = engine.process(topic, decode_json(key), decode_json(value))
            for record in outcome.records:
                dumps(record.key)
                if record.value is not None:
                    dumps(record.value)
                out += 1
        return out

    return run


def best_rate(fn: Callable[[list[Event]], int], events: list[Event], repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        fn(events)
        best = max(best, len(events) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rules", default=str(REPO / "rules"))
    parser.add_argument("--output", default=str(REPO / "benchmarks/results/masking_engine.json"))
    args = parser.parse_args()

    events = make_events(args.events, args.seed)
    rules = load_validated(args.rules)
    keys = load_keys(REPO / "deploy/keys/demo-keys.yaml")

    def make_engine() -> MaskingEngine:
        return MaskingEngine(compile_rules(rules, keys))

    outputs = masked(make_engine)(events)  # warm-up, and the output count
    rates = {"ceiling (orjson decode+encode)": best_rate(ceiling, events, args.repeat),
             "masked (decode+mask+encode)": best_rate(masked(make_engine), events, args.repeat)}
    ratio = rates["masked (decode+mask+encode)"] / rates["ceiling (orjson decode+encode)"]

    print(f"masking engine, {len(events):,} events of the reference mix "
          f"({outputs:,} output records), best of {args.repeat}, one core")
    print(f"{'path':<34}{'events/s':>12}")
    for name, rate in rates.items():
        print(f"{name:<34}{rate:>12,.0f}")
    print(f"{'masked / ceiling':<34}{ratio:>12.1%}")
    result = {"benchmark": "masking_engine", "events": len(events), "outputs": outputs,
              "repeat": args.repeat, "events_per_s": rates, "masked_over_ceiling": ratio,
              "python": platform.python_version(), "cpu_count": os.cpu_count()}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
