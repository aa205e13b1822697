"""What each scrub detector costs the native core, on the reference event mix, without Kafka.

The runner's JSON path (``MaskedNative`` of benchmarks/masking_engine.py) with all detectors,
then with one detector left out at a time (its pattern never matches, its gate is gone), in
turns within one process, so that the machine's drift reaches every variant alike. A
detector's cost is the best time with it minus the best time without it, in µs per event: the
next step of a scrub made faster is chosen from this table.

    python -m benchmarks.scrub_detectors [--events N] [--rounds R] [--output FILE]

Prints a table and writes JSON (default benchmarks/results/scrub_detectors.json).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.masking_engine import REPO, MaskedNative, as_messages, make_events
from processor.keys import load_keys
from processor.masking import native
from processor.masking.compiler import compile_rules
from processor.masking.engine import MaskingEngine
from processor.pii.recognizers import forget_confirmed, recognizer, recognizer_kinds
from processor.pipeline.workers import settle_garbage_collector
from processor.rules import load_validated

#: a pattern that matches nothing in either regex engine (Rust has no ``(?!)``)
NEVER = re.compile(r"[^\s\S]")
ALL = "all detectors"


def without(kind: str | None) -> Callable[[], None]:
    """Leave ``kind`` out of the engines built next (None: leave all in); returns the undo."""
    if kind is None:
        return lambda: None
    found = recognizer(kind)
    pattern, gate = found.pattern, found.required_any
    found.pattern, found.required_any = NEVER, None  # type: ignore[misc]

    def undo() -> None:
        found.pattern, found.required_any = pattern, gate  # type: ignore[misc]

    return undo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rules", default=str(REPO / "rules"))
    parser.add_argument("--output", default=str(REPO / "benchmarks/results/scrub_detectors.json"))
    args = parser.parse_args()
    if native.load_core() is None:
        raise SystemExit("the native core is not installed (make install builds it)")

    events = make_events(args.events, seed=1)
    messages = as_messages(events)
    rules = load_validated(args.rules)
    keys = load_keys(REPO / "deploy/keys/demo-keys.yaml")
    keks = load_keys(REPO / "deploy/keys/demo-kek.yaml")

    def make_engine() -> MaskingEngine:
        forget_confirmed()  # every run starts cold, as in `make bench`
        return MaskingEngine(compile_rules(rules, keys, keks))

    kinds = [k for k in recognizer_kinds() if recognizer(k).by_pattern]
    variants: list[str | None] = [None, *kinds]
    MaskedNative(make_engine, messages)()(events)  # warm-up: the process's first run is slower
    best: dict[str, float] = {}
    everything: list[float] = []  # the runs with all detectors: their spread is the noise
    for round_ in range(args.rounds):
        for kind in variants:
            undo = without(kind)
            try:
                run = MaskedNative(make_engine, messages)()
            finally:
                undo()
            settle_garbage_collector()
            start = time.process_time()
            run(events)
            per_event = (time.process_time() - start) / len(events) * 1e6
            name = kind or ALL
            best[name] = min(best.get(name, per_event), per_event)
            if kind is None:
                everything.append(per_event)
        print(f"  round {round_ + 1} of {args.rounds}", file=sys.stderr)

    total = best[ALL]
    costs = {kind: total - best[kind] for kind in kinds}
    print(f"scrub detectors in the native core, {args.events:,} events of the reference mix, "
          f"best of {args.rounds} (CPU µs per event; cost: the time it adds)")
    print(f"{'detector':<28}{'µs/event':>10}{'share':>8}")
    print(f"{ALL:<28}{total:>10.2f}{'':>8}")
    for kind, cost in sorted(costs.items(), key=lambda item: -item[1]):
        print(f"{kind:<28}{cost:>10.2f}{cost / total:>8.1%}")
    spread = max(everything) - min(everything)
    print(f"(the runs with all detectors spread over {spread:.2f} µs: a cost within that is "
          "noise; more rounds narrow it)")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"events": args.events, "rounds": args.rounds,
                               "machine": platform.machine(), "python": platform.python_version(),
                               "all_us_per_event": total, "all_runs_us_per_event": everything,
                               "cost_us_per_event": costs},
                              indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
