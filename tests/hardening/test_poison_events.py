"""Crafted events that crashed the processor (issue #19): each is now a dead letter with a
reason, or published as it should be, in both engines, and no raw value reaches the DLQ line."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from processor.governance.leakwatch import Sampler
from processor.masking import native
from processor.masking.compiler import compile_rules
from processor.masking.engine import MaskingEngine
from processor.offline import Summary, mask_lines
from processor.pipeline.masking_step import DeadLetter, Masker
from processor.rules import load_validated
from tests.helpers import RULES, demo_keks, demo_keys

COMPILED = compile_rules(load_validated(RULES), demo_keys(), demo_keks())
ENGINES = ["python", "native"] if native.load_core() is not None else ["python"]
SECRET = "erika.mustermann@example.com"


def masked(event: dict[str, Any] | bytes, engine: str, key: Any = None,
           topic: str = "crm.public.contacts") -> tuple[Summary, list[dict[str, Any]]]:
    """``crm-masker mask`` on one line, with the chosen engine (native: ``mask --engine``)."""
    line = event if isinstance(event, bytes) else orjson.dumps(
        {"topic": topic, "key": key if key is not None else {"id": 1}, "value": event})
    summary = Summary()
    core = native.select(COMPILED, engine) if engine == "native" else None
    out = list(mask_lines(MaskingEngine(COMPILED), [line], summary, core))
    assert SECRET not in orjson.dumps(out).decode(), "a raw value reached an output or DLQ line"
    return summary, out


def dlq_reason(event: dict[str, Any] | bytes, engine: str, key: Any = None) -> str:
    _summary, out = masked(event, engine, key)
    assert [o["topic"] for o in out] == ["crm.dlq"], "expected exactly one dead letter"
    return str(out[0]["value"]["reason"])


DEEP = "@@deep@@"


def with_deep(event: dict[str, Any], levels: int, key: Any = None) -> bytes:
    """The input line with ``DEEP`` replaced by an array nested ``levels`` deep (no JSON
    writer writes such nesting, which is the point)."""
    line = orjson.dumps({"topic": "crm.public.contacts", "key": key or {"id": 1},
                         "value": event})
    nested = "[" * levels + orjson.dumps(SECRET).decode() + "]" * levels
    return line.replace(orjson.dumps(DEEP), nested.encode())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("op", [{}, [1], 1, None, True])
def test_an_op_of_any_json_type_is_unknown_op(engine: str, op: Any) -> None:
    assert dlq_reason({"op": op, "after": {"id": 1}}, engine) == "unknown_op"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("sentinel", [-(2**63), 2**63 - 1])
def test_postgres_infinity_timestamps_are_published_as_they_came(engine: str,
                                                                 sentinel: int) -> None:
    """Debezium writes PostgreSQL's -infinity/infinity as the int64 extremes; generalised
    to a day they would leave 64 bits, so they pass as they are (they say nothing)."""
    summary, out = masked({"op": "c", "after": {"id": 1, "consent_updated_at": sentinel}},
                          engine)
    assert not summary.dlq
    assert {o["value"]["after"]["consent_updated_at"] for o in out
            if o["topic"] == "bi.sales.contacts" and o["value"]} == {sentinel}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("value", [1e308, 18446744073709551615, -9.3e18])
def test_a_generalised_timestamp_beyond_64_bits_is_a_dead_letter(engine: str,
                                                                 value: Any) -> None:
    reason = dlq_reason({"op": "c", "after": {"id": 1, "consent_updated_at": value}}, engine)
    assert reason == "invalid_field_value"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("levels", [255, 600, 1_000])
def test_a_deeply_nested_kept_column_is_a_dead_letter(engine: str, levels: int) -> None:
    """``segment`` is kept: nesting it is not a scalar (and orjson writes 254 levels at most)."""
    line = with_deep({"op": "c", "after": {"id": 1, "segment": DEEP}}, levels)
    assert dlq_reason(line, engine) == "invalid_field_value"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("levels", [255, 1_000])
def test_a_deeply_nested_connect_schema_is_a_dead_letter(engine: str, levels: int) -> None:
    """A schema-wrapped event whose schema nests deeper than a view's JSON can carry."""
    schema = {"type": "struct", "fields": [{"field": "after", "type": "struct", "doc": DEEP,
                                            "fields": [{"field": "id", "type": "int64"}]}]}
    line = with_deep({"schema": schema, "payload": {"op": "c", "after": {"id": 1}}}, levels)
    assert dlq_reason(line, engine) == "unsupported_schema"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("levels", [255, 1_000])
def test_a_deeply_nested_key_is_a_dead_letter(engine: str, levels: int) -> None:
    line = with_deep({"op": "c", "after": {"id": 1}}, levels, key={"id": DEEP})
    assert dlq_reason(line, engine) == "invalid_key"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("block", "member", "value"), [
    ("source", "ts_ms", SECRET), ("source", "db", {"x": SECRET}), ("source", "lsn", [SECRET]),
    ("source", "snapshot", 3), ("transaction", "id", {"who": SECRET}),
    ("transaction", "total_order", SECRET),
])
def test_metadata_of_another_type_is_a_dead_letter_not_published(
        engine: str, block: str, member: str, value: Any) -> None:
    event = {"op": "c", "after": {"id": 1}, block: {member: value}}
    assert dlq_reason(event, engine) == "invalid_metadata"
    # truncates are not published at all, but their metadata is checked alike
    assert dlq_reason({**event, "op": "t", "after": None}, engine) == "invalid_metadata"


@pytest.mark.parametrize("engine", ENGINES)
def test_well_typed_metadata_is_published(engine: str) -> None:
    source = {"version": "3.6.1.Final", "connector": "postgresql", "ts_ms": 1_700_000_000_000,
              "snapshot": "false", "db": "crm", "schema": "public", "table": "contacts",
              "lsn": 123, "txId": 9, "sequence": '["1","2"]', "query": SECRET}
    txn = {"id": "9:123", "total_order": 1, "data_collection_order": 1}
    summary, out = masked({"op": "c", "after": {"id": 1}, "source": source, "transaction": txn},
                          engine)
    assert not summary.dlq
    full = next(o["value"] for o in out if o["topic"] == "bi.sales.contacts")
    assert full["source"] == {k: v for k, v in source.items() if k != "query"}
    assert full["transaction"] == txn
    flat = next(o["value"] for o in out if o["topic"] == "bi.analytics.contacts")
    assert flat["__source_ts_ms"] == 1_700_000_000_000


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("value", [{"flag": SECRET}, [SECRET], "yes"])
def test_text_in_a_boolean_column_is_a_dead_letter(engine: str, value: Any) -> None:
    """``consent_marketing`` is kept as `type: boolean` in the reference rules."""
    event = {"op": "c", "after": {"id": 1, "consent_marketing": value}}
    assert dlq_reason(event, engine) == "invalid_field_value"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_kept_object_of_any_kind_is_refused_unless_declared(engine: str) -> None:
    """Objects and arrays need ``type: object``/``array``/``json`` in the rule."""
    event = {"op": "c", "after": {"id": 1, "segment": {"a": 1}}}
    assert dlq_reason(event, engine) == "invalid_field_value"


def test_the_engines_agree_on_minus_zero_and_duplicate_members(tmp_path: Any) -> None:
    """A kept ``-0`` is written as orjson writes it, and a kept object with a duplicate
    member keeps the last one, whichever engine masks it."""
    if "native" not in ENGINES:
        pytest.skip("the native core is not built (cargo missing)")
    rules = tmp_path / "rules"
    import shutil
    shutil.copytree(RULES, rules)
    table = rules / "tables" / "accounts.yaml"
    table.write_text(table.read_text().replace(
        "employees:", "extra:     {class: business, action: keep, type: object}\n      employees:",
        1))
    compiled = compile_rules(load_validated(rules), demo_keys(), demo_keks())
    line = (b'{"topic":"crm.public.accounts","key":{"id":1},"value":{"op":"c","after":'
            b'{"id":1,"employees":-0,"extra":{"a":1,"b":2,"a":3}}}}')
    outs = []
    for core in (None, native.select(compiled, "native")):
        summary = Summary()
        outs.append([orjson.dumps(o) for o in mask_lines(MaskingEngine(compiled), [line],
                                                        summary, core)])
        assert not summary.dlq
    assert outs[0] == outs[1]
    first = orjson.loads(outs[0][0])["value"]
    row = first.get("after") or first
    assert row["employees"] == 0 and row["extra"] == {"a": 3, "b": 2}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_column_name_that_is_no_identifier_is_not_printed(engine: str) -> None:
    summary, _ = masked({"op": "c", "after": {"id": 1, SECRET: 1, "new_column": 2}}, engine)
    text = summary.render()
    assert SECRET not in text and "contacts.new_column" in text
    assert "(a name that is no identifier)" in text


def test_an_unforeseen_failure_is_an_internal_error_with_no_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The last resort, offline: the exception's class, never its message."""
    def explode(*_: Any) -> Any:
        raise RuntimeError(SECRET)

    engine = MaskingEngine(COMPILED)
    monkeypatch.setattr(engine, "process", explode)
    summary = Summary()
    line = orjson.dumps({"topic": "crm.public.contacts", "key": None,
                         "value": {"op": "c", "after": {"id": 1}}})
    out = list(mask_lines(engine, [line], summary))
    assert out[0]["value"]["reason"] == "internal_error"
    assert out[0]["value"]["detail"] == "RuntimeError"
    assert SECRET not in orjson.dumps(out).decode()


def test_the_processors_last_resort_dead_letters_and_logs_no_message(
        caplog: pytest.LogCaptureFixture) -> None:
    """``Masker._one``: what is neither a dead-letter reason nor the processor's own error
    becomes the dead letter ``internal_error``; the log line and the dead letter have the
    coordinates and the class only."""
    masker = Masker.__new__(Masker)
    masker.leak_sample = Sampler(0)
    masker.policy, masker.dlq_topic = [], "crm.dlq"
    failing: Callable[..., Any] = lambda *_: (_ for _ in ()).throw(KeyError(SECRET))  # noqa: E731
    masker._masked = failing  # type: ignore[method-assign]
    msg = SimpleNamespace(topic=lambda: "crm.public.contacts", partition=lambda: 2,
                          offset=lambda: 41)
    step = masker._one(msg, 1)  # type: ignore[arg-type]
    assert isinstance(step, DeadLetter) and step.reason == "internal_error"
    [(topic, key, value, headers)] = step.records
    assert topic == "crm.dlq" and orjson.loads(value or b"{}")["detail"] == "KeyError"
    assert SECRET.encode() not in b"".join([key or b"", value or b"", *(v for _, v in headers)])
    assert "crm.public.contacts[2]@41" in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("note", ["a" * 100_000 + "@", "b-" * 50_000 + "@x.", "x@" * 50_000])
def test_a_crafted_note_is_scrubbed_without_stalling(engine: str, note: str) -> None:
    """The Python scrub tried the e-mail pattern from every position of a run of address
    characters: "a" * 40,000 + "@" took 7 s. A hang guard with a wide margin, not a speed
    target (those are in benchmarks/)."""
    started = time.monotonic()
    summary, out = masked({"op": "c", "after": {"id": 1, "notes": note}}, engine)
    assert time.monotonic() - started < 3
    assert not summary.dlq and out


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("value", [1_777_975_872_123, 1_777_975_872, 10**18])
def test_a_timestamp_of_another_unit_is_a_dead_letter_not_a_date_decades_off(
        engine: str, value: int) -> None:
    """``consent_updated_at`` is declared micro_timestamp. Debezium sends milliseconds for a
    timestamp(0..3) column or under time.precision.mode=connect: read as microseconds, May 2026
    became 21 January 1970 and was published. Milliseconds, seconds, nanoseconds: refused."""
    event = {"op": "c", "after": {"id": 1, "consent_updated_at": value}}
    assert dlq_reason(event, engine) == "invalid_field_value"
    summary, _ = masked({"op": "c", "after": {"id": 1, "consent_updated_at": 0}}, engine)
    assert not summary.dlq  # the epoch itself is a value


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("schema", [
    {"type": "struct", "fields": [{"field": "source", "type": "struct", "fields": "x"}]},
    {"type": "struct", "fields": [{"field": "after", "fields": [SECRET, {"field": SECRET}]}]},
    {"type": "struct", "fields": [{"field": "after", "fields": {"id": 1}}]},
    {"type": "struct", "fields": [{"field": "before", "type": "struct", "fields": [
        {"field": "id", "type": "int64"}, {"field": "segment", "type": "string",
                                           "doc": SECRET, "default": SECRET}]}]},
])
def test_a_connect_schema_of_any_shape_neither_crashes_nor_leaks(engine: str,
                                                                 schema: Any) -> None:
    """A schema-wrapped event's outputs carry a schema derived from the source's: whatever
    that holds, the event is masked or a dead letter that names the part, never the last
    resort, and no text of it that names no published column reaches an output."""
    event = {"schema": schema, "payload": {"op": "c", "after": {"id": 1}, "source": {}}}
    summary, out = masked(event, engine)  # asserts that SECRET reaches no output
    assert set(summary.dlq) <= {"unsupported_schema"}
    for record in out:
        if record["topic"] != "crm.dlq":
            assert set(record["value"]) == {"schema", "payload"}
