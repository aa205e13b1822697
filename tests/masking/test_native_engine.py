"""The native core against the Python engine: the same outputs for every event it takes, and
every event it leaves (``None``) is one the Python engine handles or dead-letters itself."""

from __future__ import annotations

import base64
import json
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError, Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.actions.encrypt import Encrypt
from processor.datakeys import Ciphertext, open_sealed, seal
from processor.errors import CrmMaskerError, PoisonEvent
from processor.formats.envelope import decode_json
from processor.formats.views.flat import FlatFormat
from processor.generator.stream import CrmStream
from processor.masking import native
from processor.masking.compiler import compile_rules
from processor.masking.engine import MaskingEngine, Outcome
from processor.masking.native import NativeEngine
from processor.pipeline.masking_step import published_rows
from processor.pipeline.records import (
    H_SRC_OFFSET,
    H_SRC_PARTITION,
    H_SRC_TOPIC,
    Lineage,
    policy_headers,
)
from processor.rules import load_validated
from tests.helpers import RULES, demo_keks, demo_keys, require_native_core

EDGE_TOPIC = "crm.public.edge"
#: the same table keyed by two columns (no encrypt: its subject's rows span partitions)
EDGE_PAIR_TOPIC = "crm.public.edge_pair"
#: one column per action and encoding the native core knows, plus the ones it leaves to Python
EDGE_TABLE = """
tables:
  edge:
    topic: crm.public.edge
    key: [id]
    subject: id
    description: every action and encoding, for the native core's tests
    data_subjects: [customers]
    legal_basis: contract
    purposes: [analytics]
    retention: P1Y
    fields:
      id:         {class: identifier, action: pseudonymize, domain: account}
      email:      {class: personal, action: pseudonymize, domain: email, normalize: [strip, lower]}
      iban:       {class: personal, action: pseudonymize, domain: iban, normalize: [compact, upper]}
      tax_id:     {class: personal, action: pseudonymize, domain: tax_id, normalize: [digits],
                   length: 21}
      mail_host:  {class: personal, action: email_domain}
      nick:       {class: personal, action: redact, value: "[X]"}
      nick2:      {class: personal, action: redact, keep_null: false}
      phone:      {class: personal, action: mask, keep_first: 2, keep_last: 2}
      pin:        {class: personal, action: mask, fixed_length: 4, char: "#"}
      zip:        {class: personal, action: truncate, keep: 2}
      born:       {class: personal, action: generalize, to: year, encoding: date}
      moved:      {class: personal, action: generalize, to: month, encoding: date}
      seen_h:     {class: personal, action: generalize, to: hour, encoding: micro_timestamp}
      seen_y:     {class: personal, action: generalize, to: year, encoding: micro_timestamp}
      seen_m:     {class: personal, action: generalize, to: month, encoding: micro_timestamp}
      clicked:    {class: personal, action: generalize, to: day, encoding: milli_timestamp}
      clicked_h:  {class: personal, action: generalize, to: hour, encoding: milli_timestamp}
      iso_day:    {class: personal, action: generalize, to: month, encoding: iso_date}
      iso_ts:     {class: personal, action: generalize, to: hour, encoding: iso_timestamp}
      score:      {class: personal, action: generalize, to: bucket, encoding: number, size: 50}
      ratio:      {class: personal, action: generalize, to: bucket, encoding: number, size: 0.25}
      value:      {class: personal, action: generalize, to: bucket, encoding: decimal, scale: 2, size: 1000}
      tiny:       {class: personal, action: generalize, to: bucket, encoding: decimal, scale: 1, size: 0.01}
      notes:      {class: free_text, action: scrub}
      consent:    {class: personal, action: keep, justification: a yes/no flag}
      channel:    {class: business, action: keep}
      level:      {class: business, action: keep}
      promo:
        class: personal
        action: pseudonymize
        domain: email
        when: {field: consent, equals: true}
        otherwise: {action: null}
      promo2:
        class: personal
        action: keep
        justification: test
        when: {field: channel, equals: web}
        otherwise: {action: drop}
      promo3:
        class: personal
        action: mask
        keep_last: 1
        when: {field: level, equals: 3}
      promo4:
        class: personal
        action: truncate
        keep: 1
        when: {field: nick, not_null: true}
      secret:     {class: special, action: drop}
      nothing:    {class: personal, action: "null"}
"""
EDGE_VIEWS = """
  edge_flat:
    topic: "edge.flat.{table}"
    format: flat
    description: flat view of the edge table
    readers: [bi_analyst]
    tables: [edge, edge_pair]
  edge_debezium:
    topic: "edge.dbz.{table}"
    format: debezium
    description: envelope view of the edge table, one override
    readers: [bi_analyst]
    tables: [edge, edge_pair]
    overrides:
      edge.zip: {action: truncate, keep: 3}
      edge.nick: {action: encrypt, domain: phone}
"""


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return require_native_core()


@pytest.fixture(scope="module")
def edge_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rules = tmp_path_factory.mktemp("edge") / "rules"
    shutil.copytree(RULES, rules)
    (rules / "tables" / "edge.yaml").write_text(EDGE_TABLE)
    (rules / "tables" / "edge_pair.yaml").write_text(
        EDGE_TABLE.replace("  edge:\n    topic: crm.public.edge\n    key: [id]",
                           "  edge_pair:\n    topic: crm.public.edge_pair\n    key: [id, channel]"))
    ruleset = (rules / "ruleset.yaml").read_text()
    (rules / "ruleset.yaml").write_text(ruleset.replace("\nviews:\n", "\nviews:" + EDGE_VIEWS, 1))
    return rules


def engines(rules: Path, core: ModuleType) -> tuple[MaskingEngine, NativeEngine]:
    """Both engines on one compiled rule set: one process shares its data keys (encrypt)."""
    compiled = compile_rules(load_validated(rules), demo_keys(), demo_keks())
    return MaskingEngine(compiled), NativeEngine(compiled, core)


def python_result(engine: MaskingEngine, topic: str, key: bytes | None,
                  value: bytes | None) -> tuple[Outcome, list[tuple[str, Any, Any]]] | str:
    """The Python engine's outcome and records, or the dead-letter reason."""
    try:
        outcome = engine.process(topic, decode_json(key, "key"), decode_json(value))
    except PoisonEvent as exc:
        return exc.reason
    return outcome, [(r.topic, r.key, r.value) for r in outcome.records]


def assert_same(engine: MaskingEngine, fast: NativeEngine, topic: str, key: bytes | None,
                value: bytes | None) -> bool:
    """True when the native core took the event (and agreed), False when it left it."""
    expected = python_result(engine, topic, key, value)
    got = fast.process(topic, key, value)
    if got is None:
        return False
    assert not isinstance(expected, str), f"native published what Python dead-letters: {expected}"
    outcome, records = expected
    native_outcome, encoded = got
    decoded = [(t, orjson.loads(k) if k is not None else None,
                orjson.loads(v) if v is not None else None) for t, k, v in encoded]
    assert decoded == records
    # Kafka partitions and compacts by the key's bytes: they must not depend on the engine
    assert [k for _, k, _ in encoded] == [orjson.dumps(k) if k is not None else None
                                           for _, k, _ in records]
    for name in ("table", "op", "skipped", "unknown_fields", "action_counts", "source_ts_ms",
                 "deleted", "deleted_key", "shredded"):
        assert getattr(native_outcome, name) == getattr(outcome, name), name
    return True


def test_the_reference_stream_masks_alike_and_never_falls_back(core: ModuleType) -> None:
    engine, fast = engines(RULES, core)
    taken = shredded = 0
    for record in CrmStream(seed=7).events(6_000):
        key = orjson.dumps(record.key)
        value = None if record.value is None else orjson.dumps(record.value)
        taken += assert_same(engine, fast, record.topic, key, value)
        store = engine.compiled.data_keys
        assert store is not None
        shredded += any(value is None for _, value in store.pending())  # a tombstone
        store.committed()
    assert taken == 6_000  # every reference event stays on the native path
    assert shredded > 10  # erasures among them, each shredding its subject's keys alike
    assert fast.tables == sorted(engine.compiled.validated.rules.tables)


@pytest.mark.parametrize("phone", ["+49 30 1234567", "0151 8710709 (privat) \\ \"neu\"",
                                   "Tel.\u00a0ü\u2003\U0001d11e\n\t\x1f\x7f", ""])
def test_the_core_seals_texts_itself_byte_for_byte_as_python_does(
        core: ModuleType, phone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """encrypt's texts are sealed in the core (Python's ``apply`` is not called) and give the
    ciphertext that Python's ``seal`` gives under the same data key; a number goes to
    ``apply`` with its subject."""
    calls: list[Any] = []
    apply = Encrypt.apply
    monkeypatch.setattr(Encrypt, "apply", lambda self, value, *subject: (
        calls.append(value), apply(self, value, *subject))[1])
    engine, fast = engines(RULES, core)
    row = {"id": 4711, "first_name": "Erika", "phone": phone}
    value = orjson.dumps({"before": None, "after": row, "op": "c", "source": {"ts_ms": 1}})
    topic, key = "crm.public.contacts", orjson.dumps({"id": 4711})
    expected = python_result(engine, topic, key, value)
    assert calls == [phone]  # the Python engine seals in Python
    calls.clear()
    got = fast.process(topic, key, value)
    assert got is not None and calls == []
    assert not isinstance(expected, str)
    sales = [orjson.loads(v) for t, _, v in got[1] if t == "bi.sales.contacts"]
    [(_, _, python_value)] = [r for r in expected[1] if r[0] == "bi.sales.contacts"]
    assert sales == [python_value]
    sealed = sales[0]["after"]["phone"]
    store = engine.compiled.data_keys
    assert store is not None
    key_id, data_key = store.data_key("contact", 4711)
    assert sealed == seal(data_key, "phone", key_id, phone)
    assert sealed.startswith(f"enc:phone:{key_id}:") and (not phone or phone not in sealed)
    assert open_sealed(data_key, Ciphertext.parse(sealed)) == phone
    number = value.replace(orjson.dumps(phone), b"4930123")
    assert fast.process(topic, key, number) is not None and calls == [4930123]


SPACES = st.sampled_from([" ", "\t", "\n", "\x0b", "\x1c", "\u00a0", "\u2003", "\u3000"])
TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from("aZ09@. -+/İıßẞΣσς٣²½"), max_size=30),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=8), SPACES, st.text(max_size=8)),
    st.sampled_from(["max@Example.DE ", "DE89 3704 0044 0532 0130 00", "+49 30 1234567",
                     "Rückruf 0151 8710709", "12 345 678 901", "4111 1111 1111 1111", ""]),
)
NUMBER = st.one_of(st.integers(-2**63, 2**63 - 1), st.integers(2**63, 2**64 - 1),
                   st.integers(-10**30, 10**30), st.floats(allow_nan=False, allow_infinity=False))
DECIMAL = st.integers(-2**70, 2**70).map(
    lambda n: base64.b64encode(n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big",
                                          signed=True)).decode())
ANY_SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
VALUE = st.one_of(ANY_SCALAR, DECIMAL, st.lists(ANY_SCALAR, max_size=3),
                  st.dictionaries(st.text(max_size=5), ANY_SCALAR, max_size=3))
ISO = st.one_of(st.dates().map(str), st.datetimes().map(lambda d: d.isoformat()), TEXT)


@st.composite
def edge_row(draw: st.DrawFn) -> dict[str, Any]:
    days = st.one_of(st.integers(-800_000, 3_000_000), VALUE)
    micros = st.one_of(st.integers(-10**17, 10**17), st.integers(-2**63, 2**63 - 1), VALUE)
    columns: dict[str, st.SearchStrategy[Any]] = {
        "id": st.one_of(st.integers(), TEXT, VALUE), "born": days, "moved": days,
        "seen_h": micros, "seen_y": micros, "seen_m": micros, "clicked": micros,
        "clicked_h": micros, "iso_day": ISO, "iso_ts": ISO, "score": st.one_of(NUMBER, VALUE),
        "ratio": st.one_of(NUMBER, VALUE), "value": st.one_of(DECIMAL, VALUE),
        "tiny": st.one_of(DECIMAL, VALUE), "consent": st.one_of(st.booleans(), VALUE),
        "channel": st.one_of(st.just("web"), TEXT, VALUE),
        "level": st.one_of(st.just(3), VALUE),
    }
    names = ["email", "iban", "tax_id", "mail_host", "nick", "nick2", "phone", "pin", "zip",
             "notes", "promo", "promo2", "promo3", "promo4", "secret", "nothing"]
    row = {name: draw(st.one_of(TEXT, VALUE)) for name in names}
    row.update({name: draw(strategy) for name, strategy in columns.items()})
    drop = draw(st.sets(st.sampled_from(sorted(row)), max_size=4))
    row = {k: v for k, v in row.items() if k not in drop}
    row.update(draw(st.dictionaries(st.text(min_size=1, max_size=6), VALUE, max_size=2)))
    return row


@st.composite
def edge_event(draw: st.DrawFn) -> tuple[str, bytes | None, bytes | None]:
    op = draw(st.sampled_from(["c", "u", "d", "r", "t", "x"]))
    row = draw(edge_row())
    before = draw(st.one_of(st.just(row), edge_row())) if op in "udx" else None
    after = None if op == "d" else row
    source = draw(st.one_of(st.none(), st.just("text"), st.fixed_dictionaries(
        {"ts_ms": st.one_of(st.integers(0, 2**41), VALUE), "table": st.just("edge"),
         "query": TEXT})))
    envelope: dict[str, Any] = {"before": before, "after": after, "source": source, "op": op,
                                "ts_ms": draw(st.one_of(st.integers(0, 2**41), VALUE))}
    if draw(st.booleans()):
        envelope["transaction"] = draw(st.one_of(st.none(), st.fixed_dictionaries(
            {"id": TEXT, "total_order": st.integers(), "secret": TEXT})))
    if draw(st.booleans()):
        envelope = {"schema": {"type": "struct"}, "payload": envelope}
    topic = draw(st.sampled_from([EDGE_TOPIC, EDGE_PAIR_TOPIC]))
    key_columns = ("id", "channel") if topic == EDGE_PAIR_TOPIC else ("id",)
    key_row = {k: row[k] for k in key_columns if k in row}
    key: Any = draw(st.one_of(st.none(), st.just(key_row), VALUE,
                              st.just({"schema": {}, "payload": key_row}),
                              st.just({"schema": {}, "payload": None})))
    # json: orjson refuses integers beyond 64 bits, which a CRM's NUMERIC columns may send
    value = None if draw(st.integers(0, 20)) == 0 else dumps(envelope)
    return topic, (None if key is None and draw(st.booleans()) else dumps(key)), value


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(event=edge_event())
def test_any_event_masks_alike_or_is_left_to_python(edge_rules: Path, core: ModuleType,
                                                     event: tuple[str, bytes | None,
                                                                  bytes | None]) -> None:
    engine, fast = _edge_engines(edge_rules, core)
    assert_same(engine, fast, *event)


_CACHE: dict[Path, tuple[MaskingEngine, NativeEngine]] = {}


def _edge_engines(rules: Path, core: ModuleType) -> tuple[MaskingEngine, NativeEngine]:
    """One pair per module (hypothesis calls the test hundreds of times); the caches they
    build up must not change a result, which this reuse tests too."""
    if rules not in _CACHE:
        _CACHE[rules] = engines(rules, core)
    return _CACHE[rules]


def edge_bytes(**after: Any) -> bytes:
    row = {"id": 7, "consent": True, "channel": "web", "level": 3, **after}
    return orjson.dumps({"before": None, "after": row, "source": {"ts_ms": 1}, "op": "c",
                         "ts_ms": 2})


def test_common_values_take_the_native_path(edge_rules: Path, core: ModuleType) -> None:
    engine, fast = _edge_engines(edge_rules, core)
    row = {"email": " Max@Example.DE", "iban": "de89 3704 0044 0532 0130 00",
           "tax_id": "12 345 678 901", "mail_host": "a@B.de ", "nick": "x", "nick2": None,
           "phone": "+49 30 1234567", "pin": "1234", "zip": "10115", "born": 7000,
           "moved": -1, "seen_h": 1_700_000_123_456_789, "seen_y": -5 * 10**15, "seen_m": 0,
           "clicked": 1_700_000_123_456, "clicked_h": -10**12, "score": 123, "ratio": 0.6,
           "value": "AYag", "notes": "Termin vereinbart.", "promo": "p", "promo2": "w",
           "promo3": "abc", "promo4": "xyz", "secret": "s", "nothing": 1}
    for key in (orjson.dumps({"id": 7}), None, b"null"):
        assert assert_same(engine, fast, EDGE_TOPIC, key, edge_bytes(**row)), key


def test_latin_letters_normalise_as_in_python(edge_rules: Path, core: ModuleType,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Umlauts, ß, accents, Turkish ı and İ (U+00C0–U+024F) in a value that is normalised
    before pseudonymising: every such letter is lowered, uppered, stripped around and compacted
    by the core exactly as Python's ``str`` does it, without calling Python."""
    from processor.actions.pseudonymize import Pseudonymize

    def rows(letters: list[str]) -> list[bytes]:
        return [edge_bytes(email=f" {c}Max{c}@Ex{c}.DE\t", iban=f"de{c} 89 {c}",
                           tax_id=f"1{c}2 3") for c in letters]

    latin = [chr(code) for code in range(0xC0, 0x250) if code != 0x19B]  # ƛ: see actions.rs
    engine, fast = engines(edge_rules, core)
    for letter, value in zip(latin, rows(latin), strict=True):
        assert assert_same(engine, fast, EDGE_TOPIC, None, value), letter

    asked: list[Any] = []
    original = Pseudonymize.apply
    monkeypatch.setattr(Pseudonymize, "apply",
                        lambda self, value: asked.append(value) or original(self, value))
    _, fast = engines(edge_rules, core)
    for value in rows(latin):
        assert fast.process(EDGE_TOPIC, None, value) is not None
    assert asked == []
    for value in rows(["Σ", "\u0307", "ƛ"]):  # outside the Latin letters: Python decides
        assert fast.process(EDGE_TOPIC, None, value) is not None
    assert len(asked) == 9  # three normalised columns each


@pytest.mark.parametrize(("value", "reason"), [
    (b"not json", "not_json"),
    (b'{"op": "c", "after": {"id": 1}, "x": "\\ud800"}', "not_json"),  # lone surrogate
    (b'{"op": "c", "after": {"id": 1, "level": 1e400}}', "not_json"),  # beyond a double
    (b'[1, 2]', "not_envelope"),
    (b'{"op": "c", "after": null}', "not_envelope"),
    (b'{"op": "c", "after": [1]}', "not_envelope"),
    (b'{"op": "z", "after": {"id": 1}}', "unknown_op"),
    (b'{"op": 1, "after": {"id": 1}}', "unknown_op"),
    (b'\xff{"op": "c"}', "not_json"),
])
def test_poison_is_left_to_python(edge_rules: Path, core: ModuleType, value: bytes,
                                  reason: str) -> None:
    engine, fast = _edge_engines(edge_rules, core)
    assert fast.process(EDGE_TOPIC, None, value) is None
    assert python_result(engine, EDGE_TOPIC, None, value) == reason


def test_keys_and_values_that_python_refuses_are_left_to_it(edge_rules: Path,
                                                            core: ModuleType) -> None:
    engine, fast = _edge_engines(edge_rules, core)
    cases = [(b'"a string key"', edge_bytes(), "invalid_key"),
             (b"{", edge_bytes(), "not_json"),
             (None, edge_bytes(born=10**9), "invalid_field_value"),      # beyond year 9999
             (None, edge_bytes(seen_h=1_700_000_123_456), "invalid_field_value"),  # ms, not µs
             (None, edge_bytes(clicked=1_700_000_123_456_789), "invalid_field_value"),  # µs
             (None, edge_bytes(score=True), "invalid_field_value"),       # a bool is no number
             (None, edge_bytes(id=2.0**70), "number_out_of_range")]       # an id beyond 64 bits
    for key, value, reason in cases:
        assert fast.process(EDGE_TOPIC, key, value) is None, reason
        assert python_result(engine, EDGE_TOPIC, key, value) == reason


def test_duplicate_columns_are_left_to_python(edge_rules: Path, core: ModuleType) -> None:
    engine, fast = _edge_engines(edge_rules, core)
    value = b'{"op": "c", "after": {"id": 1, "zip": "10115", "zip": "99999"}}'
    assert fast.process(EDGE_TOPIC, None, value) is None
    result = python_result(engine, EDGE_TOPIC, None, value)
    assert not isinstance(result, str)
    assert result[1][0][2]["zip"] == "99"  # Python: the last one wins


def test_a_table_the_core_cannot_render_stays_on_python(core: ModuleType) -> None:
    compiled = compile_rules(load_validated(RULES), demo_keys(), demo_keks())
    route = compiled.routes["crm.public.contacts"]
    class PythonOnly(FlatFormat):  # a format that the core does not render
        native = False

    compiled.routes["crm.public.contacts"] = replace(
        route, views=tuple(replace(v, format=PythonOnly()) for v in route.views))
    fast = NativeEngine(compiled, core)
    assert "contacts" not in fast.tables and "accounts" in fast.tables
    assert fast.process("crm.public.contacts", None, edge_bytes()) is None


def test_a_column_the_flat_format_would_overwrite_stays_on_python(core: ModuleType) -> None:
    compiled = compile_rules(load_validated(RULES), demo_keys(), demo_keks())
    route = compiled.routes["crm.public.contacts"]
    flat = next(view for view in route.views if view.format.name == "flat")
    flat.plan.known = flat.plan.known | {"__op"}
    fast = NativeEngine(compiled, core)
    assert "contacts" not in fast.tables and "accounts" in fast.tables


def test_engine_choice(core: ModuleType) -> None:
    compiled = compile_rules(load_validated(RULES), demo_keys(), demo_keks())
    assert native.select(compiled, "python") is None
    assert isinstance(native.select(compiled, "auto"), NativeEngine)
    assert isinstance(native.select(compiled, "native"), NativeEngine)
    with pytest.raises(CrmMaskerError, match="engine must be one of"):
        native.select(compiled, "fast")


def test_a_broken_spec_is_reported_without_its_content(core: ModuleType) -> None:
    secret = "6b6579" * 10
    with pytest.raises(ValueError) as raised:
        core.NativeEngine('{"routes": [], "plans": [], "actions": [{"kind": "pseudonymize", '
                          f'"key_hex": "{secret}", "prefix": 7}}]}}', [print])
    assert secret not in str(raised.value) and "line 1" in str(raised.value)


ESCAPES = st.lists(st.one_of(st.integers(0xD700, 0xE100).map(lambda unit: f"\\u{unit:04x}"),
                             st.sampled_from(["a", "\\\\", "\\n", "\\u0041", "\\ud83d\\ude00"])),
                   max_size=5).map("".join)
NUMBERS = st.one_of(st.builds("{}e{}".format, st.integers(-99, 99), st.integers(-400, 400)),
                    st.integers(1, 420).map(lambda n: "7" * n), st.floats().map(repr))


@settings(max_examples=300, deadline=None)
@given(text=ESCAPES, number=NUMBERS)
def test_what_orjson_refuses_is_left_to_python_and_the_rest_is_taken(
        edge_rules: Path, core: ModuleType, text: str, number: str) -> None:
    """Kept values are copied unparsed: lone surrogates and numbers beyond a double must
    still be found, exactly as orjson finds them."""
    engine, fast = _edge_engines(edge_rules, core)
    value = ('{"op": "c", "after": {"id": 7, "channel": "' + text + '", "level": ' + number
             + "}}").encode()
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError:
        assert fast.process(EDGE_TOPIC, None, value) is None
    else:
        assert assert_same(engine, fast, EDGE_TOPIC, None, value)


MANGLED_BASE = (b' { "before" : null , "after" : { "id" : 7 , "chan\\u006eel" : "w\\"eb" ,'
                b' "level" : -3.5e2 , "x" : [ 1 , { "y" : [ ] } ] } ,'
                b' "source" : { "ts_ms" : 1 } , "op" : "c" , "ts_ms" : 2 } ')
SIGNIFICANT = b'{}[]:,"\\ \t\n0-.eE+tnu\x01\xc3'


@settings(max_examples=400, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, len(MANGLED_BASE)), st.booleans(),
                                st.sampled_from(list(SIGNIFICANT))), min_size=1, max_size=3))
def test_the_core_reads_json_as_orjson_does(edge_rules: Path, core: ModuleType,
                                           edits: list[tuple[int, bool, int]]) -> None:
    """The core reads each event in one pass of its own: whatever a byte more or less does
    to the text, it takes only what orjson reads, and masks that as Python does."""
    engine, fast = _edge_engines(edge_rules, core)
    value = bytearray(MANGLED_BASE)
    for at, insert, byte in edits:
        if insert:
            value[at:at] = bytes([byte])
        else:
            del value[at:at + 1]
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError:
        assert fast.process(EDGE_TOPIC, None, bytes(value)) is None
    else:
        assert_same(engine, fast, EDGE_TOPIC, None, bytes(value))


def test_whitespace_and_escaped_names_take_the_native_path(edge_rules: Path,
                                                           core: ModuleType) -> None:
    engine, fast = _edge_engines(edge_rules, core)
    assert assert_same(engine, fast, EDGE_TOPIC, b' { "id" : 7 } ', MANGLED_BASE)


def test_detected_tables_hand_back_the_unmasked_row(core: ModuleType) -> None:
    """The anomaly detectors read the row of their tables from the outcome; the core hands it
    back as it came (the after image, or the before image of a delete), for those tables
    only."""
    compiled = compile_rules(load_validated(RULES), demo_keys(), demo_keks())
    engine = MaskingEngine(compiled)
    detected = {"crm.public.audit_log", "crm.public.users"}
    fast = NativeEngine(compiled, core, detected)
    ops: set[str] = set()
    events = [(r.topic, r.key, r.value) for r in CrmStream(seed=11).events(3_000)]
    user = next(value for topic, _, value in events if topic == "crm.public.users" and value)
    payload = user.get("payload", user)
    deleted = {**payload, "op": "d", "before": payload["after"], "after": None}
    for topic, record_key, record_value in [*events, ("crm.public.users", None, deleted)]:
        if record_value is None:
            continue
        key, value = orjson.dumps(record_key), orjson.dumps(record_value)
        got = fast.process(topic, key, value)
        assert got is not None
        event = got[0].event
        if topic not in detected:
            assert event is None
            continue
        expected = engine.process(topic, record_key, record_value).event
        assert event is not None and expected is not None
        assert (event.op, event.after, event.before) == (
            expected.op, expected.after, None if expected.after is not None else expected.before)
        ops.add(event.op)
    assert {"c", "u", "d"} <= ops


def test_a_batch_masks_like_event_by_event_and_stops_where_python_must_take_over(
        core: ModuleType) -> None:
    """``process_batch`` (the processor's hot loop) gives the records of ``process`` with the
    policy and lineage headers, counts what the transaction's facts need, and stops at every
    message it leaves to Python: a consumer error, a header that Python reads (Debezium's key
    headers, a schema id), an oversized value, an event the core defers. Other headers (a
    trace id) are not copied and do not stop it."""
    validated = load_validated(RULES)
    detected = {"crm.public.audit_log", "crm.public.users"}
    fast = NativeEngine(compile_rules(validated, demo_keys(), demo_keks()), core, detected)
    policy = policy_headers("v1", "abc")
    fast.set_headers(policy, (H_SRC_TOPIC, H_SRC_PARTITION, H_SRC_OFFSET))
    max_bytes = 50_000
    offsets: Counter[tuple[str, int]] = Counter()

    def message(topic: str, key: bytes | None, value: bytes | None, **extra: Any) -> Message:
        partition = len(topic) % 3
        offsets[(topic, partition)] += 1
        return Message(topic=topic, partition=partition, offset=offsets[(topic, partition)],
                       key=key, value=value, **extra)

    traced = [("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    messages = [message(r.topic, orjson.dumps(r.key), None if r.value is None
                        else orjson.dumps(r.value), headers=traced if i % 7 == 0 else None)
                 for i, r in enumerate(CrmStream(seed=5).events(1_500))]
    left = {
        200: message("crm.public.contacts", None, b"not json"),
        400: message("crm.public.contacts", None, None,
                     error=KafkaError(KafkaError._PARTITION_EOF)),
        600: message("crm.public.contacts", b'{"id": 1}', b"{}",
                     headers=[("__debezium.newkey", b'{"id": 2}')]),
        800: message("crm.public.contacts", None, b" " * max_bytes + b"{}"),
        1000: message("crm.public.no_rules", None, b"{}"),
        1200: message("crm.public.contacts", b'{"id": 1}', b"{}",
                      headers=[*traced, ("__value_schema_id", b"7")]),
    }
    for at in sorted(left):  # ascending: each lands at its index
        messages.insert(at, left[at])
    at, stops, watched = 0, [], []
    watch = list(range(3, len(messages), 97))  # the leak watch's sample: records on their own
    while at < len(messages):
        segment = fast.process_batch(messages, at, len(messages), max_bytes, watch)
        expected = [fast.process(m.topic(), m.key(), m.value()) for m in
                    messages[at:segment.end]]
        assert all(e is not None for e in expected)
        records = [(t, k, v, [*policy, *Lineage(m.topic(), m.partition(), m.offset()).headers()])
                   for m, e in zip(messages[at:segment.end], expected, strict=True)
                   for t, k, v in e[1]]  # type: ignore[index]
        assert segment.records == records
        outcomes = [e[0] for e in expected]  # type: ignore[index]
        inputs = messages[at:segment.end]
        assert {(t.topic, op): n for t in segment.topics for op, n in t.ops.items()} == Counter(
            (m.topic(), o.op or o.skipped) for m, o in zip(inputs, outcomes, strict=True))
        assert sum(n for t in segment.topics for n in t.published.values()) == len(records)
        assert sum(t.masked for t in segment.topics) == sum(not o.skipped for o in outcomes)
        for t in segment.topics:
            for partition, count, first, last in t.partitions:
                mine = [m.offset() for m in inputs
                        if (m.topic(), m.partition()) == (t.topic, partition)]
                assert (count, first, last) == (len(mine), mine[0], mine[-1])
        assert segment.source_ts_ms == [o.source_ts_ms for o in outcomes
                                        if o.source_ts_ms is not None]
        # a subject's erasure shreds its data keys (in the transaction of its delete)
        assert segment.shredded == [(o.table, k) for o in outcomes for k in o.shredded]
        assert [(t, orjson.loads(k) if k else None) for t, k in segment.deletes] == [
            (m.topic(), o.deleted_key) for m, o in zip(inputs, outcomes, strict=True)
            if o.deleted]
        assert [(t, o) for t, _, o, *_ in segment.detected] == [
            (m.topic(), m.offset()) for m in inputs if m.topic() in detected
            and m.value() is not None]
        assert segment.watched == [
            (m.topic(), e[1]) for i, (m, e) in enumerate(zip(inputs, expected, strict=True))  # type: ignore[index]
            if at + i in watch]
        watched += [at + i for i in range(len(inputs)) if at + i in watch]
        stops.append(segment.end)
        at = segment.end + 1
    assert stops == [*sorted(left), len(messages)]
    assert watched == [i for i in watch if i not in left]
    assert fast.process_batch(messages, 0, 10, max_bytes).end == 10  # `stop` is kept


def test_the_leak_watch_reads_the_same_rows_from_the_published_records(
        core: ModuleType) -> None:
    """The leak watch's sample runs on the core too: its masked rows are read back from the
    records that the core publishes, and they equal the Python engine's ``masked_rows``."""
    engine, fast = engines(RULES, core)
    views = {topic: {view.topic: view for view in route.views}
             for topic, route in engine.compiled.routes.items()}
    compared = 0
    for record in CrmStream(seed=17).events(3_000):
        key = orjson.dumps(record.key)
        value = None if record.value is None else orjson.dumps(record.value)
        got = fast.process(record.topic, key, value)
        assert got is not None
        expected = engine.process(record.topic, record.key, record.value).masked_rows
        rows = published_rows(views[record.topic], got[1])
        assert [(id(plan), row) for plan, row in rows] == [
            (id(plan), row) for plan, row in expected]
        compared += len(rows)
    assert compared > 3_000  # tables with several plans give one row per plan
