"""Fuzz targets: what an attacker who can write into the CRM (or into a rule file) controls, and
the property that each must keep whatever arrives.

- ``events``: any bytes as key, value and headers of consumed messages, through the Python
  engine, the native core's ``process_batch`` and the Python engine on what the core leaves
  (as ``BatchHandler.handle`` does): outputs or dead letters with a named reason, never an
  exception, never the last resort (``internal_error``), never an input value in a dead
  letter or a log line.
- ``scrub``: any text in a scrubbed column, both engines: no exception, no hang.
- ``rules``: any bytes as a rule file: a list of problems, never an exception.

Shared by the bounded property tests of ``make test`` (``test_fuzz_properties.py``) and the
long run, ``make fuzz`` (``python -m tests.fuzz``), which counts crashes and hangs per target.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from confluent_kafka import Message
from hypothesis import strategies as st

from processor.avro.codec import RecordCodec
from processor.avro.schema_registry import SchemaRegistry, client_from_options
from processor.formats.headers import DEBEZIUM_KEY_HEADERS, KEY_ID_HEADER, VALUE_ID_HEADER
from processor.formats.json_types import SOURCE_FIELDS, TRANSACTION_FIELDS
from processor.generator.avro_source import AvroSourceEncoder
from processor.generator.stream import CrmStream
from processor.governance.leakwatch import Sampler
from processor.masking import native
from processor.masking.compiler import CompiledRules, compile_rules
from processor.masking.engine import MaskingEngine
from processor.pipeline.checkpoint import Checkpoint
from processor.pipeline.kafka_config import MESSAGE_MAX_BYTES
from processor.pipeline.masking_step import DeadLetter, Masker
from processor.pipeline.records import policy_headers
from processor.rules import load_validated, validate
from tests.helpers import RULES, demo_keks, demo_keys

#: personal-looking text planted in inputs: it must never reach a dead letter or a log line
MARKER = "Fuzzy Marker fuzz.marker@example.org"
#: what the last resort names: reaching it means a failure that no dead-letter reason covers
LAST_RESORT = "internal_error"


class Finding(AssertionError):
    """A property that a fuzz input broke; the message names the property, not the input."""


# -- the rules and engines the targets run --------------------------------------------------

@cache
def compiled() -> CompiledRules:
    return compile_rules(load_validated(RULES), demo_keys(), demo_keks())


@cache
def registry() -> SchemaRegistry:
    """confluent-kafka's in-memory registry client (``mock://``): the Avro decoder is fuzzed
    here without a server; the broker tests run Avro against a real registry."""
    return SchemaRegistry(client_from_options(f"mock://fuzz-{uuid.uuid4().hex}"))


@cache
def maskers() -> tuple[Masker, ...]:
    """The processor's masker on the Python engine, and one with the native core when it is
    built. They mask and dead-letter; producing is the transaction's job and is not fuzzed."""
    rules = compiled()
    core = native.select(rules, "auto")
    validated = rules.validated
    return tuple(Masker(MaskingEngine(rules), engine, RecordCodec(registry()),
                        policy_headers(validated.version, validated.sha256), rules.dlq_topic,
                        MESSAGE_MAX_BYTES, lambda _: range(3),
                        Sampler(validated.rules.leak_watch_sample))
                 for engine in ([None, core] if core is not None else [None]))


def routed_topics() -> list[str]:
    return sorted(compiled().routes)


def columns() -> list[str]:
    return sorted({name for route in compiled().routes.values() for view in route.views
                   for name in view.plan.known})


# -- inputs ----------------------------------------------------------------------------------

def json_bytes(value: Any) -> bytes:
    """JSON as any writer might send it: integers of any size, NaN and Infinity, lone
    surrogates escaped (the stdlib writes all of these; orjson refuses them)."""
    return json.dumps(value).encode()


@cache
def seed_messages() -> list[tuple[str, bytes | None, bytes | None, bool]]:
    """Well-formed events of every table as JSON (with and without the schema wrapper) and
    as Avro: the inputs that mutations start from. (topic, key, value, is Avro)."""
    seeds: list[tuple[str, bytes | None, bytes | None, bool]] = []
    for with_schema in (False, True):
        for record in CrmStream(seed=19, users=8, with_schema=with_schema).events(120):
            seeds.append((record.topic, json_bytes(record.key),
                          None if record.value is None else json_bytes(record.value), False))
    encoder = AvroSourceEncoder(registry())
    for record in CrmStream(seed=20, users=8).events(60):
        if record.value is not None:
            seeds.append((record.topic, encoder.encode_key(record.topic, record.table, record.key),
                          encoder.encode_value(record.topic, record.table, record.value), True))
    return seeds


#: what mutations insert: the values that broke decoders before, and the marker
TOKENS = [b"\xff", b"\xed\xa0\x80", b"\xc3", b"NaN", b"-Infinity", b"1e400", b"-0",
          b"18446744073709551616", b"-9223372036854775808", b'"\\ud800"', b"[" * 300,
          b"{", b"}", b"]", b'"', b"\\", b"null", b"true", b"{}", b"[]", b",", b":",
          b"\x00", b"\x01", b"\x00\x00\x00\x00\x01", b"\x02", b"\x80\x80\x80\x80\x80\x01",
          json_bytes(MARKER), json_bytes({"x": MARKER}), b'"op":{}', b'"after":[1]']

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
                | st.just(MARKER) | st.just(-(2**63)) | st.just(2**64 - 1))
json_values = st.recursive(
    json_scalars,
    lambda inner: (st.lists(inner, max_size=4)
                   | st.dictionaries(st.text(max_size=8) | st.just(MARKER), inner, max_size=4)),
    max_leaves=12)


@st.composite
def rows(draw: st.DrawFn) -> Any:
    names = st.sampled_from(columns()) | st.just(MARKER) | st.text(max_size=8)
    return draw(st.dictionaries(names, json_values, max_size=8) | json_values)


@st.composite
def envelopes(draw: st.DrawFn) -> Any:
    """Debezium envelopes whose every part may be of another type than Debezium writes."""
    event: dict[str, Any] = {
        "op": draw(st.sampled_from(["c", "u", "d", "r", "t", "m", ""]) | json_values),
        "before": draw(st.none() | rows()), "after": draw(st.none() | rows())}
    if draw(st.booleans()):
        event["source"] = draw(st.dictionaries(
            st.sampled_from(sorted(dict(SOURCE_FIELDS))) | st.text(max_size=6), json_values,
            max_size=5) | json_values)
    if draw(st.booleans()):
        event["transaction"] = draw(st.dictionaries(
            st.sampled_from(sorted(dict(TRANSACTION_FIELDS))), json_values, max_size=3) | json_values)
    if draw(st.booleans()):
        event["ts_ms"] = draw(json_scalars)
    if draw(st.booleans()):
        event = {"schema": draw(json_values), "payload": event}
    return event


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few tokens inserted, bytes replaced, or cut short."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(out)))
        how = draw(st.sampled_from(["insert", "replace", "cut", "flip"]))
        if how == "insert":
            out[at:at] = draw(st.sampled_from(TOKENS))
        elif how == "replace":
            token = draw(st.sampled_from(TOKENS))
            out[at:at + len(token)] = token
        elif how == "cut":
            del out[at:]
        elif at < len(out):
            out[at] ^= 1 << draw(st.integers(0, 7))
    return bytes(out)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, bytes | None, bytes | None, list[Any] | None]:
    """(topic, key, value, headers) of one consumed message."""
    kind = draw(st.sampled_from(["seed", "seed", "envelope", "bytes"]))
    topic = draw(st.sampled_from([*routed_topics(), "crm.public.not_routed"]))
    key: bytes | None
    value: bytes | None
    if kind == "seed":
        topic, key, value, _ = draw(st.sampled_from(seed_messages()))
        key = None if key is None or draw(st.integers(0, 9)) == 0 else draw(mutated(key))
        value = None if value is None else draw(mutated(value))
    elif kind == "envelope":
        key = draw(st.none() | st.builds(lambda v: json_bytes({"id": v}), json_values))
        value = json_bytes(draw(envelopes()))
    else:
        key = draw(st.none() | st.binary(max_size=30))
        value = draw(st.none() | st.binary(max_size=200))
    headers = draw(st.none() | st.lists(st.tuples(
        st.sampled_from([*DEBEZIUM_KEY_HEADERS, KEY_ID_HEADER, VALUE_ID_HEADER, "x-other"]),
        st.none() | st.binary(max_size=20) | st.just(json_bytes({"id": MARKER}))), max_size=2))
    return topic, key, value, headers


PII_FRAGMENTS = ["erika.m@example.com", "erika(at)example.com", "+49 30 1234567",
                 "0151 2345678", "DE89 3704 0044 0532 0130 00", "4111 1111 1111 1111",
                 "86 095 742 719", "12.03.2026", "Frau Müller", "ＡＢＣ＠example.com", "\u200b",
                 "\u00a0", "\u2009", "İstanbul ı", "Σ", "😀", "@", ".", "0", "a",
                 "Dr. ", "Ansprechpartnerin: ", "Herrn von der ", "Viele Grüße\n", "Anna Maria ",
                 "geb. 1.2.1980", "(at)", " ", "Thomas ", "Hans-Peter ", "Jan ", "Hr.",
                 "Name: ", "-Straße", "Lindenweg 4", ", 50667 Köln", "Am Markt ", "An der ",
                 "Ausweis-Nr. ", "L01X00T47", "Kennzeichen ", "M-AB 1234", "192.0.2.24",
                 "2001:db8::1", ":", "HERRN DOS ", "Mr. ", "Kind regards\n", "Sachbearbeiterin ",
                 "T. ", "z. B. ", "gez. ", " at ", " dot ", " punkt ", " @ ",
                 " e.K.", "Inh. ", "Weber, Anna", "KVNR: ", "A123456780", "Jahrgang ",
                 "Geburtstag des Kunden: ", "17. März ", "1965", "h.c. ", "Nguyễn Thị ",
                 "Ștefan ", "John ", "herr ", "fr. dr. ", "müller",
                 "Moin ", "Hauke,", "*in: ", "(FH) ",
                 "00:1A:2B:3C:4D:5E", "Passwort: ", '"', "„", "Graf von ",
                 "Eheleute Hans und ", "@jschulz", "mfg\n",
                 "\u2013", "0171\u20132345678", "wohnt im ", "Wiesengrund 3",
                 "Zählernummer ", "1ESY1160512345", "Mülelr", "Muller", "Müler", "Jrügen",
                 "Schon", "MÜLLLER", '"lastName":"', "name=", "756.1234.5678.97", "SVNR ",
                 "1237 010180", "Steuer-ID: ", "Teilnehmer: ", ", * ", "c/o ", "VG, ",
                 "Ursula von der "]


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Free text: fragments that look like identifiers among arbitrary characters, and
    long runs of one character (what made a backtracking pattern quadratic)."""
    if draw(st.integers(0, 4)) == 0:
        run = draw(st.sampled_from(["a", "0", "1 ", "a.", "a@", "-", "b-", "DE", "+4", " ",
                                    " Dr.", "Anna ", "\n"]))
        return run * draw(st.integers(100, 60_000)) + draw(st.sampled_from(["@", "@b.", "", "x"]))
    parts = st.sampled_from(PII_FRAGMENTS) | st.text(max_size=20)
    return "".join(draw(st.lists(parts, max_size=12)))


# -- the properties --------------------------------------------------------------------------

class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def captured_logs() -> Iterator[_Captured]:
    """Every log line that the target writes (the root logger, all levels)."""
    handler, root = _Captured(), logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _message(index: int, topic: str, key: bytes | None, value: bytes | None,
             headers: list[Any] | None) -> Message:
    return Message(topic=topic, partition=index % 3, offset=1000 + index, key=key, value=value,
                   headers=headers)


def _dead_letter(step: DeadLetter) -> None:
    if step.reason == LAST_RESORT:
        raise Finding("the last resort caught an exception: no dead-letter reason covers it")
    for _, key, value, headers in step.records:
        shown = b"".join([key or b"", value or b"", *(v or b"" for _, v in headers)])
        if MARKER.encode() in shown or b"fuzz.marker" in shown:
            raise Finding(f"a dead letter ({step.reason}) quotes an input value")


def _walk(masker: Masker, msgs: list[Message], one_by_one: bool) -> None:
    """``BatchHandler.handle``'s walk through the masker's steps (each message on its own, or
    as many as the native core takes at once), short of producing."""
    ledger = Checkpoint(None, None)  # type: ignore[arg-type]  # counts only: nothing produced
    at = 0
    while at < len(msgs):
        step = masker._one(msgs[at], at + 1) if one_by_one else masker.mask(msgs, at)
        if not at < step.end <= len(msgs):
            raise Finding("a step ended outside the batch")
        if isinstance(step, DeadLetter):
            _dead_letter(step)
        step.account(ledger)
        list(step.changes())
        list(step.watched())
        at = step.end


def check_events(batch: list[tuple[str, bytes | None, bytes | None, list[Any] | None]]) -> None:
    """The batch through every engine; ``Finding`` when a property breaks. Any other
    exception out of here is a crash of the processor."""
    msgs = [_message(i, *m) for i, m in enumerate(batch)]
    with captured_logs() as logs:
        for masker in maskers():
            _walk(masker, msgs, one_by_one=True)
            if masker.native is not None:
                _walk(masker, msgs, one_by_one=False)
    for line in logs.lines:
        if "fuzz.marker" in line or "Fuzzy" in line:
            raise Finding("a log line quotes an input value")


def check_scrub(text: str) -> None:
    """A contacts note through every engine (``notes`` is scrubbed by the reference rules),
    in the row of a person whose name the note may hold, mistyped too."""
    value = json_bytes({"op": "c", "after": {"id": 1, "first_name": "Jürgen",
                                             "last_name": "Müller-Schön", "notes": text}})
    check_events([("crm.public.contacts", b'{"id": 1}', value, None)])


@cache
def _rules_dir() -> Path:
    work = Path(tempfile.mkdtemp(prefix="crm-masker-fuzz-"))
    shutil.copytree(RULES, work / "rules")
    return work / "rules"


def rule_files() -> st.SearchStrategy[tuple[str, bytes]]:
    """(file name, content): a shipped rule file mutated, or bytes."""
    files = sorted(p for p in RULES.rglob("*.yaml"))
    shipped = st.sampled_from(files).flatmap(
        lambda p: st.tuples(st.just(str(p.relative_to(RULES))), mutated(p.read_bytes())))
    yamlish = st.lists(st.sampled_from([b"a: ", b"- ", b"&x ", b"*x", b"!!python/object ", b"{",
                                        b"[", b"\n", b"  ", b"'", b'"', b"tables:", b"action:",
                                        b"keep", b"\t", b"\xff", b"%YAML 1.1\n", b"---\n"]),
                       max_size=40).map(b"".join)
    return shipped | st.tuples(st.just("crafted.yaml"), yamlish | st.binary(max_size=300))


def check_rules(name_and_content: tuple[str, bytes]) -> None:
    """``validate`` on the shipped rule set with one file replaced: problems, never a raise;
    the file is put back afterwards."""
    name, content = name_and_content
    path = _rules_dir() / name
    original = (RULES / name).read_bytes() if (RULES / name).exists() else None
    path.write_bytes(content)
    try:
        validated, problems = validate(_rules_dir())
        if validated is None and not problems:
            raise Finding("an invalid rule set with no problem named")
        for problem in problems:
            if "\n" in str(problem):
                raise Finding("a problem that is not one line")
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]


TARGETS = [
    Target("events", st.lists(messages(), min_size=1, max_size=6), check_events),
    Target("scrub", texts(), check_scrub),
    Target("rules", rule_files(), check_rules),
]
