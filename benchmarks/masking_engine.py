"""Masking-engine throughput on the reference event mix, without Kafka, on one core.

Side by side in one run, on the same pre-generated events (as Kafka bytes):
  ceiling   orjson decode + encode of every key and value, no masking
  masked    decode + MaskingEngine.process (every view) + encode every output record
  native    the same with the native core (Rust; bytes in, bytes out), as `crm-masker run`
            uses it for JSON events: consumed messages in batches of 500, output records with
            their policy and lineage headers, the transaction's tally; an event the core
            leaves goes to the Python engine
  bound     a diagnostic, not a product mode: the native core with free text passed through
            unscrubbed, i.e. without scrub (its patterns run in the core, its validators are
            python-stdnum and phonenumbers)
  and the same two for Avro in the Confluent wire format (fastavro; schemas from an in-memory
  registry, fetched and derived once per run):
  avro ceiling   fastavro decode + encode of every key and value with its writer schema
  avro masked    decode + mask + encode with the masked schemas derived from the rules

    python -m benchmarks.masking_engine [--events N] [--repeat R] [--output FILE]

Each row runs in its own child, forked from a process that holds only the events, so that no
row inherits another's garbage. Each run starts cold (a new engine, the validators' caches
empty), built before its clock starts. Prints a table and writes JSON (default
benchmarks/results/masking_engine.json).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import fastavro
import orjson
from confluent_kafka import Message

from processor.actions.scrub import Scrub
from processor.avro.codec import RecordCodec
from processor.avro.schema_registry import SchemaRegistry, client_from_options
from processor.avro.wire import SchemaRef
from processor.formats.envelope import decode_json
from processor.generator.avro_source import AvroSourceEncoder
from processor.generator.stream import CrmStream
from processor.keys import load_keys
from processor.masking import native
from processor.masking.compiler import compile_rules
from processor.masking.engine import MaskingEngine
from processor.pii.recognizers import forget_confirmed, recognizer, recognizer_kinds
from processor.pipeline.records import H_SRC_OFFSET, H_SRC_PARTITION, H_SRC_TOPIC, policy_headers
from processor.rules import ValidatedRules, load_validated

REPO = Path(__file__).resolve().parents[1]
Event = tuple[str, bytes | None, bytes | None]
#: one timed run over the events: the number of output records
Run = Callable[[list[Event]], int]
#: what a run needs, built before the clock starts
Prepare = Callable[[], Run]
CONSUME_BATCH = 500  # messages per consume() in `crm-masker run`
MAX_BYTES = 1 << 20


def rules_without_names(rules: Path) -> ValidatedRules:
    """The rules with scrub's name detectors off (and no name columns): what the names cost."""
    copy = Path(tempfile.mkdtemp(prefix="rules-no-names-")) / "rules"
    shutil.copytree(rules, copy)
    pattern_kinds = [k for k in recognizer_kinds()
                     if recognizer(k).by_pattern and recognizer(k).label != "NAME"]
    for path in copy.rglob("*.yaml"):
        text = path.read_text().replace(", entity: name", "")
        path.write_text(text.replace("action: scrub}", "action: scrub, detect: ["
                                     + ", ".join(pattern_kinds) + "]}"))
    validated = load_validated(copy)
    # the edit is textual: make sure it reached every rule, or the row would measure nothing
    fields = [rule for table in validated.rules.tables.values() for rule in table.fields.values()]
    if any(rule.entity or (rule.action == "scrub" and "detect" not in rule.params)
           for rule in fields):
        raise SystemExit(f"{rules}: could not switch the name detectors off in every rule")
    return validated


def rules_without_encrypt(rules: Path) -> ValidatedRules:
    """The rules with each encrypt override left out (the table's own rule applies): what
    encrypt costs — the core seals, Python's key store names each subject's key and makes it
    on the subject's first value (every run starts with an empty store, so each subject's
    first value here makes a key; a running worker has restored its keys)."""
    from processor.rules.encrypted import encrypted_fields

    copy = Path(tempfile.mkdtemp(prefix="rules-no-encrypt-")) / "rules"
    shutil.copytree(rules, copy)
    for path in copy.rglob("*.yaml"):
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(line for line in lines if "action: encrypt" not in line))
    validated = load_validated(copy)
    if encrypted_fields(validated.rules):
        raise SystemExit(f"{rules}: could not leave every encrypt rule out")
    return validated


def make_events(n: int, seed: int) -> list[Event]:
    """The reference events as Kafka bytes, copied in one go: a consumer allocates each
    batch's messages side by side, while the generator's own garbage would scatter them
    (which slows every path here alike, by 6–10 %)."""
    made = [(r.topic, orjson.dumps(r.key), None if r.value is None else orjson.dumps(r.value))
            for r in CrmStream(seed=seed).events(n)]
    copied: list[Event] = pickle.loads(pickle.dumps(made))
    return copied


def ceiling(events: list[Event]) -> int:
    out = 0
    loads, dumps = orjson.loads, orjson.dumps
    for _, key, value in events:
        k = dumps(loads(key)) if key is not None else None
        v = dumps(loads(value)) if value is not None else None
        out += (k is not None) + (v is not None)
    return out


def mask_in_python(engine: MaskingEngine, topic: str, key: bytes | None,
                   value: bytes | None) -> int:
    """Decode, mask and encode one event on the Python engine; the number of outputs."""
    records = engine.process(topic, decode_json(key), decode_json(value)).records
    for record in records:
        orjson.dumps(record.key)
        if record.value is not None:
            orjson.dumps(record.value)
    return len(records)


def masked(make_engine: Callable[[], MaskingEngine]) -> Prepare:
    """A fresh engine per run, so that no cache warmed by an earlier run flatters the figure."""

    def prepare() -> Run:
        engine = make_engine()
        return lambda events: sum(mask_in_python(engine, topic, key, value)
                                  for topic, key, value in events)

    return prepare


def as_messages(events: list[Event]) -> list[Message]:
    """The events as the consumer hands them to `crm-masker run` (offsets: their position)."""
    return [Message(topic=topic, partition=0, offset=offset, key=key, value=value)
            for offset, (topic, key, value) in enumerate(events)]


class MaskedNative:
    """The runner's JSON path: the native core over consumed batches (``process_batch``, with
    the lineage headers and the transaction's tally), the Python engine for what it leaves."""

    def __init__(self, make_engine: Callable[[], MaskingEngine], messages: list[Message],
                 scrub: bool = True) -> None:
        self.make_engine = make_engine
        self.messages = messages
        self.scrub = scrub
        self.left = 0  # events of the last run that the core left to Python

    def _native(self, engine: MaskingEngine) -> native.NativeEngine:
        if self.scrub:
            fast = native.NativeEngine(engine.compiled)
        else:
            with mock.patch.object(Scrub, "native_spec",
                                   lambda _: {"kind": "keep", "kinds": ["null", "string"]}):
                fast = native.NativeEngine(engine.compiled)
        fast.set_headers(policy_headers(engine.compiled.validated.version,
                                        engine.compiled.validated.sha256),
                         (H_SRC_TOPIC, H_SRC_PARTITION, H_SRC_OFFSET))
        return fast

    def __call__(self) -> Run:
        engine = self.make_engine()
        fast = self._native(engine)

        def run(events: list[Event]) -> int:
            messages = self.messages
            out = at = self.left = 0
            while at < len(messages):
                stop = min(len(messages), at + CONSUME_BATCH)
                segment = fast.process_batch(messages, at, stop, MAX_BYTES)
                out += len(segment.records)
                at = segment.end
                if at < stop:  # left to Python
                    self.left += 1
                    topic, key, value = events[at]
                    out += mask_in_python(engine, topic, key, value)
                    at += 1
            return out

        return run


def make_avro_events(n: int, seed: int, registry: SchemaRegistry) -> list[Event]:
    encoder = AvroSourceEncoder(registry)
    return [(r.topic, encoder.encode_key(r.topic, r.table, r.key),
             None if r.value is None else encoder.encode_value(r.topic, r.table, r.value))
            for r in CrmStream(seed=seed).events(n)]


def avro_ceiling(registry: SchemaRegistry) -> Run:
    def run(events: list[Event]) -> int:
        out = 0
        for _, key, value in events:
            for data in (key, value):
                if data is None:
                    continue
                writer = registry.writer(SchemaRef(int.from_bytes(data[1:5], "big")))
                datum = fastavro.schemaless_reader(io.BytesIO(data[5:]), writer.parsed, None)
                buf = io.BytesIO()
                fastavro.schemaless_writer(buf, writer.parsed, datum)
                out += 1
        return out

    return run


def avro_masked(make_engine: Callable[[], MaskingEngine], registry: SchemaRegistry) -> Prepare:
    def prepare() -> Run:
        engine, codec = make_engine(), RecordCodec(registry)
        views = {t: {v.topic: v for v in route.views} for t, route in engine.compiled.routes.items()}

        def run(events: list[Event]) -> int:
            out = 0
            for topic, key, value in events:
                decoded = codec.decode(key, value, None)
                for record in engine.process(topic, decoded.key, decoded.value).records:
                    view = views[topic][record.topic]
                    codec.encode_key(decoded, view, record.key)
                    codec.encode_value(decoded, view, record.value)
                    out += 1
            return out

        return run

    return prepare


def best_rate(prepare: Prepare, events: list[Event], repeat: int) -> float:
    """Events/s of the best of ``repeat`` runs; what a run needs (the engine, built with cold
    caches) is prepared before the clock starts: startup, not per-event work."""
    best = 0.0
    for _ in range(repeat):
        run = prepare()
        start = time.perf_counter()
        run(events)
        best = max(best, len(events) / (time.perf_counter() - start))
    return best


Measure = Callable[[], dict[str, float]]


def in_child(measure: Measure) -> dict[str, float]:
    """Run one row in a forked child of the process that holds only the events.

    Every row then starts from the same heap: in one process, the garbage and the scattered
    free memory that one row leaves (the Avro rows' decoded records most) slowed the rows
    after it by up to 12 %, so the order of the rows decided part of their figures."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, report, and leave without running the parent's code
        os.close(read)
        status = 1
        try:
            result = json.dumps(measure()).encode()
            status = 0
        except BaseException as exc:  # reported to the parent, which raises
            result = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()
        with os.fdopen(write, "wb") as out:
            out.write(result)
        os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        data = answer.read()
    os.waitpid(pid, 0)
    report: dict[str, float] = json.loads(data) if data else {"error": "no answer"}
    if "error" in report:
        raise RuntimeError(f"benchmark row failed: {report['error']}")
    return report


def row(prepare: Callable[[], Prepare], events: Callable[[], list[Event]],
        repeat: int) -> Measure:
    """A row's measurement: one warm-up run (its output count, checked across rows), then
    the best of ``repeat``."""

    def measure() -> dict[str, float]:
        made, run_events = prepare(), events()
        outputs = made()(run_events)
        return {"rate": best_rate(made, run_events, repeat), "outputs": outputs,
                "left": float(getattr(made, "left", 0))}

    return measure


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
    keks = load_keys(REPO / "deploy/keys/demo-kek.yaml")

    def make_engine() -> MaskingEngine:
        forget_confirmed()  # the detectors' validator cache is global: each run starts cold
        return MaskingEngine(compile_rules(rules, keys, keks))

    def native_row(scrub: bool, names: bool = True,
                   encrypt: bool = True) -> Callable[[], Prepare]:
        engine = (make_engine if names and encrypt else make_engine_without_names if encrypt
                  else make_engine_without_encrypt)
        return lambda: MaskedNative(engine, as_messages(events), scrub=scrub)

    without_names = rules_without_names(Path(args.rules))

    def make_engine_without_names() -> MaskingEngine:
        forget_confirmed()
        return MaskingEngine(compile_rules(without_names, keys, keks))

    without_encrypt = rules_without_encrypt(Path(args.rules))

    def make_engine_without_encrypt() -> MaskingEngine:
        forget_confirmed()
        return MaskingEngine(compile_rules(without_encrypt, keys, keks))

    registry = SchemaRegistry(client_from_options("mock://benchmark"))

    def avro_events() -> list[Event]:
        return make_avro_events(args.events, args.seed, registry)

    core = native.load_core()
    rows: dict[str, tuple[Callable[[], Prepare], Callable[[], list[Event]]]] = {
        "ceiling (orjson decode+encode)": (lambda: lambda: ceiling, lambda: events),
        "masked (decode+mask+encode)": (lambda: masked(make_engine), lambda: events),
        **({"masked, native core": (native_row(True), lambda: events),
            "native core without name detectors": (native_row(True, names=False),
                                                   lambda: events),
            "native core without encrypt": (native_row(True, encrypt=False), lambda: events),
            "bound: native, no scrub detectors": (native_row(False), lambda: events)}
           if core is not None else {}),
        "avro ceiling (fastavro dec+enc)": (lambda: lambda: avro_ceiling(registry),
                                            avro_events),
        "avro masked (decode+mask+encode)": (lambda: avro_masked(make_engine, registry),
                                             avro_events),
    }
    reports = {}
    for name, (prepare, row_events) in rows.items():
        reports[name] = in_child(row(prepare, row_events, args.repeat))
        print(f"  {name}: {reports[name]['rate']:,.0f} events/s", file=sys.stderr)
    rates = {name: report["rate"] for name, report in reports.items()}
    outputs = int(reports["masked (decode+mask+encode)"]["outputs"])
    for name, report in reports.items():
        if "masked" in name:  # every masking path publishes the same records
            assert report["outputs"] == outputs, (name, report["outputs"], outputs)
    ratio = rates["masked (decode+mask+encode)"] / rates["ceiling (orjson decode+encode)"]
    avro_ratio = (rates["avro masked (decode+mask+encode)"]
                  / rates["avro ceiling (fastavro dec+enc)"])

    print(f"masking engine, {len(events):,} events of the reference mix "
          f"({outputs:,} output records), best of {args.repeat}, one core")
    print(f"{'path':<34}{'events/s':>12}")
    for name, rate in rates.items():
        print(f"{name:<34}{rate:>12,.0f}")
    print(f"{'masked / ceiling':<34}{ratio:>12.1%}")
    native_ratio = None
    if core is not None:
        native_ratio = rates["masked, native core"] / rates["ceiling (orjson decode+encode)"]
        print(f"{'native core / ceiling':<34}{native_ratio:>12.1%}")
        print(f"{'native core / Python engine':<34}"
              f"{rates['masked, native core'] / rates['masked (decode+mask+encode)']:>11.1f}x")
        print(f"events the core left to Python: {reports['masked, native core']['left']:,.0f}")
        names_cost = 1 - rates["masked, native core"] / rates[
            "native core without name detectors"]
        print(f"{'cost of the name detectors':<34}{names_cost:>12.1%}")
        # the key store (Python) per value, a new key per subject: see rules_without_encrypt
        encrypt_cost = 1 - rates["masked, native core"] / rates["native core without encrypt"]
        print(f"{'cost of encrypt (keys + sealing)':<34}{encrypt_cost:>12.1%}")
    else:
        print("native core: not installed (`make install` builds it when cargo is there)")
    print(f"{'avro masked / avro ceiling':<34}{avro_ratio:>12.1%}")
    result = {"benchmark": "masking_engine", "events": len(events), "outputs": outputs,
              "repeat": args.repeat, "events_per_s": rates, "masked_over_ceiling": ratio,
              "native_over_ceiling": native_ratio, "avro_masked_over_avro_ceiling": avro_ratio,
              "python": platform.python_version(), "cpu_count": os.cpu_count()}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
