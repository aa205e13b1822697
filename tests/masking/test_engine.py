"""The engine on hand-written Debezium events: ops, deletes, wrapper, source, poison."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from typing import Any

import orjson
import phonenumbers
import pytest

from processor.errors import PoisonEvent
from processor.generator.stream import CrmStream
from tests.helpers import DEMO_KEYS, RULES, engine, scalars

ENGINE = engine()


def contact(**overrides: Any) -> dict[str, Any]:
    row = {"id": 42, "first_name": "Anna", "email": "anna@example.de", "consent_marketing": True,
           "health_notes": "Diabetes", "zip": "10115", "segment": "retail",
           "notes": "Mail an anna@example.de"}
    return {**row, **overrides}


def envelope(op: str, before: Any = None, after: Any = None, **extra: Any) -> dict[str, Any]:
    return {"before": before, "after": after, "op": op, "ts_ms": 1700000000500,
            "source": {"ts_ms": 1700000000000, "table": "contacts", "lsn": 99,
                       "query": "INSERT INTO contacts VALUES ('Anna')", "xmin": 7}, **extra}


def by_topic(outcome: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in outcome.records:
        out.setdefault(r.topic, []).append(r)
    return out


def test_create_is_masked_per_view_and_source_reduced() -> None:
    outcome = ENGINE.process("crm.public.contacts", {"id": 42}, envelope("c", after=contact()))
    views = by_topic(outcome)
    assert set(views) == {"bi.analytics.contacts", "bi.sales.contacts"}
    flat = views["bi.analytics.contacts"][0].value
    assert flat["__op"] == "c" and flat["__deleted"] is False
    assert flat["__source_ts_ms"] == 1700000000000
    assert flat["zip"] == "10" and flat["segment"] == "retail"
    assert "first_name" not in flat and "health_notes" not in flat
    assert flat["notes"] == "Mail an [EMAIL]"
    assert flat["id"].startswith("k2026a:") and flat["email"].startswith("k2026a:")
    dbz = views["bi.sales.contacts"][0].value
    assert dbz["after"]["zip"] == "101"  # the view's override
    assert dbz["source"] == {"ts_ms": 1700000000000, "table": "contacts", "lsn": 99}
    assert views["bi.sales.contacts"][0].key == {"id": flat["id"]}


def test_consent_condition_nulls_the_email_without_consent() -> None:
    outcome = ENGINE.process("crm.public.contacts", {"id": 1},
                             envelope("c", after=contact(consent_marketing=False)))
    assert by_topic(outcome)["bi.analytics.contacts"][0].value["email"] is None


def test_delete_yields_masked_delete_and_tombstone_for_the_masked_key() -> None:
    outcome = ENGINE.process("crm.public.contacts", {"id": 42}, envelope("d", before=contact()))
    records = by_topic(outcome)["bi.analytics.contacts"]
    assert [r.value is None for r in records] == [False, True]
    assert records[0].value["__deleted"] is True and records[0].value["__op"] == "d"
    assert records[1].key == records[0].key and records[1].key["id"].startswith("k2026a:")


def test_an_input_tombstone_is_skipped_and_a_truncate_reaches_every_view() -> None:
    """Debezium's own tombstone is skipped (ours follow the masked delete); a truncate is
    published to each view of the table, so that BI forgets the rows too."""
    assert ENGINE.process("crm.public.contacts", {"id": 1}, None).skipped == "tombstone"
    truncate = ENGINE.process("crm.public.contacts", None, envelope("t"))
    assert truncate.skipped is None
    views = by_topic(truncate)
    assert set(views) == {"bi.analytics.contacts", "bi.sales.contacts"}
    flat = views["bi.analytics.contacts"][0]
    assert flat.key == {"id": None}  # compacted topics take no record without a key
    assert flat.value["__op"] == "t" and flat.value["__deleted"] is False
    full = views["bi.sales.contacts"][0].value
    assert full["op"] == "t" and full["before"] is None and full["after"] is None
    assert "query" not in full["source"]


def test_schema_wrapped_in_is_schema_wrapped_out() -> None:
    """Kafka Connect's JSON converter with schemas: the payloads are masked as without, and
    each output carries the masked schema (a Connect sink with the same converter reads it)."""
    from processor.generator import model

    schema = model.envelope_schema("contacts")
    value = {"schema": schema, "payload": envelope("r", after=contact())}
    key = {"schema": model.key_schema("contacts"), "payload": {"id": 42}}
    plain = ENGINE.process("crm.public.contacts", {"id": 42}, envelope("r", after=contact()))
    wrapped = ENGINE.process("crm.public.contacts", key, value)
    assert [(r.key["payload"], r.value["payload"]) for r in wrapped.records] == [
        (r.key, r.value) for r in plain.records]
    for record in wrapped.records:
        payload, masked = record.value["payload"], record.value["schema"]
        row = payload if "__op" in payload else payload["after"]
        struct = masked if "__op" in payload else next(
            f for f in masked["fields"] if f["field"] == "after")
        fields = {f["field"]: f for f in struct["fields"]}
        assert set(row) <= set(fields), "a published column without a schema"
        assert "first_name" not in fields  # dropped columns leave the schema too
        assert fields["email"]["type"] == "string"  # pseudonymised
        assert fields["birth_date"]["name"] == "io.debezium.time.Date"  # generalised, same type
        assert record.key["schema"]["fields"][0] == {"type": "string", "optional": False,
                                                     "field": "id"}


def test_unknown_columns_are_dropped_and_reported_by_name() -> None:
    outcome = ENGINE.process("crm.public.contacts", {"id": 42},
                             envelope("u", before=contact(), after=contact(new_col="x")))
    assert outcome.unknown_fields == ["new_col"]
    for record in outcome.records:
        assert "new_col" not in orjson.dumps(record.value).decode()


@pytest.mark.parametrize(("value", "reason"), [
    ([1, 2], "not_envelope"),
    ({"after": {}}, "not_envelope"),
    (envelope("x", after=contact()), "unknown_op"),
    (envelope("c"), "not_envelope"),
    (envelope("c", after=contact(birth_date="not a day")), "invalid_field_value"),
])
def test_poison_events_have_a_reason_and_no_value_in_the_message(value: Any, reason: str) -> None:
    with pytest.raises(PoisonEvent) as exc:
        ENGINE.process("crm.public.contacts", {"id": 1}, value)
    assert exc.value.reason == reason
    assert "Anna" not in str(exc.value) and "not a day" not in str(exc.value)


def test_unroutable_topic() -> None:
    with pytest.raises(PoisonEvent) as exc:
        ENGINE.process("crm.public.unknown", None, envelope("c", after={}))
    assert exc.value.reason == "unroutable"


def test_mask_command_end_to_end_with_dlq_lines() -> None:
    lines = [
        {"topic": "crm.public.contacts", "key": {"id": 42},
         "value": envelope("c", after=contact())},
        "this is not json Anna",
        {"topic": "crm.public.contacts", "key": None, "value": {"op": "c", "after": "Anna"}},
    ]
    stdin = b"".join((orjson.dumps(x) if isinstance(x, dict) else x.encode()) + b"\n"
                     for x in lines)
    result = subprocess.run(
        [sys.executable, "-m", "processor", "mask", "--rules", str(RULES), "--keys",
         str(DEMO_KEYS), "--allow-demo-keys"], input=stdin, capture_output=True, check=True)
    out = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [o["topic"] for o in out] == ["bi.analytics.contacts", "bi.sales.contacts",
                                         "crm.dlq", "crm.dlq"]
    assert out[2]["value"]["reason"] == "not_json" and out[2]["value"]["source"]["line"] == 2
    assert out[3]["value"]["reason"] == "not_envelope" and out[3]["value"]["source"]["line"] == 3
    assert b"Anna" not in result.stdout and b"Anna" not in result.stderr
    assert b"3 input lines, 2 output records, 2 to the DLQ" in result.stderr


def test_mask_refuses_demo_keys_unless_allowed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "processor", "mask", "--rules", str(RULES), "--keys",
         str(DEMO_KEYS)], input=b"", capture_output=True)
    assert result.returncode == 2
    assert b"holds a demo key" in result.stderr and b"base64:" not in result.stderr


@pytest.mark.parametrize("raw_id", [b"123456789012345678901234567890", b"-9223372036854775809"])
def test_identifiers_beyond_64_bits_are_rejected_not_rounded(raw_id: bytes) -> None:
    from processor.formats.envelope import decode_json

    value = decode_json(b'{"op": "c", "after": {"id": ' + raw_id + b"}}")
    with pytest.raises(PoisonEvent) as exc:
        ENGINE.process("crm.public.contacts", None, value)
    assert exc.value.reason == "number_out_of_range"


@pytest.mark.parametrize(("raw", "reason"), [
    (b'{"id": NaN}', "not_json"),
    (b'"\\ud800"', "not_json"),
    (b"\xff\xfe", "not_json"),
    (b"[" * 1100 + b"]" * 1100, "not_json"),
])
def test_decoder_rejects_what_would_corrupt_or_crash(raw: bytes, reason: str) -> None:
    from processor.formats.envelope import decode_json

    with pytest.raises(PoisonEvent) as exc:
        decode_json(raw)
    assert exc.value.reason == reason


def test_unsigned_64_bit_identifiers_stay_exact() -> None:
    from processor.formats.envelope import decode_json

    value = decode_json(b'{"op": "c", "after": {"id": 18446744073709551615}}')
    out = ENGINE.process("crm.public.contacts", None, value)
    other = ENGINE.process("crm.public.contacts", None, {"op": "c", "after": {"id": 18446744073709551614}})
    assert out.records[0].key != other.records[0].key


def test_views_share_the_compiled_actions_of_columns_they_treat_alike() -> None:
    """Two views of contacts differ only in zip: every other column uses one action instance
    (one pseudonym/scrub cache), zip has one per view."""
    route = engine().compiled.routes["crm.public.contacts"]
    first, second = (view.plan for view in route.views)
    assert first is not second
    fns_a = {name: fn for name, fn, _ in first.steps if fn is not None}
    fns_b = {name: fn for name, fn, _ in second.steps if fn is not None}
    assert fns_a["notes"].__self__ is fns_b["notes"].__self__  # type: ignore[attr-defined]
    assert fns_a["iban"].__self__ is fns_b["iban"].__self__  # type: ignore[attr-defined]
    assert fns_a["zip"].__self__ is not fns_b["zip"].__self__  # type: ignore[attr-defined]


#: what the generator writes into notes, in its own formats (see processor/generator/rows.py)
CONTACT_DETAILS = {
    "phone": re.compile(r"\+49 \d+ \d{7}"),
    "mobile": re.compile(r"0(?:151|160|170|171|176) \d{7,8}"),
    "email": re.compile(r"[\w.]+@[\w-]+\.\w+"),
    "iban": re.compile(r"DE\d\d(?: \d{4}){4} \d\d"),
}


def test_the_generators_notes_leave_no_contact_detail_in_any_view() -> None:
    """Notes hide phone and mobile numbers, e-mails and IBANs; none may reach a view. That
    includes mobile numbers one digit short of a real range (0151 and seven digits), which
    phonenumbers calls possible but not valid: people mistype numbers and still reach a person."""
    seen: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    short_mobiles = 0
    for record in CrmStream(seed=3).events(40_000):
        row = (record.value or {}).get("after") or {}
        notes = row.get("notes")
        if not isinstance(notes, str) or not record.topic.endswith(".contacts"):
            continue
        outcome = ENGINE.process(record.topic, record.key, record.value)
        published = [s for r in outcome.records for s in scalars([r.key, r.value])
                     if isinstance(s, str)]
        for kind, pattern in CONTACT_DETAILS.items():
            for detail in pattern.findall(notes):
                seen[kind] += 1
                leaked[kind] += any(detail in text for text in published)
                short_mobiles += kind == "mobile" and not phonenumbers.is_valid_number(
                    phonenumbers.parse(detail, "DE"))
    assert min(seen[kind] for kind in CONTACT_DETAILS) >= 20, seen
    assert short_mobiles >= 5, "the stream no longer holds the mistyped mobile numbers"
    assert not +leaked, (leaked, seen)
