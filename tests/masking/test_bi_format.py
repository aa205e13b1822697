"""The ``bi`` view format: the flat row with Debezium's encodings decoded for BI tools, by the
event's schema where it has one, else by the encodings that the rules declare; with Avro the
logical types stay (Avro readers decode them)."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from processor.formats import debezium_types as dbz
from processor.formats.decoded import decode_row, decoder_of
from processor.formats.logical_types import LogicalType, of_connect_envelope
from processor.generator.stream import CrmStream
from tests.helpers import RULES, engine

SIGNED = datetime(2026, 5, 5, 10, 11, 12, 345678, tzinfo=dbz.EPOCH.tzinfo)


def test_each_logical_type_decodes_to_the_text_a_bi_tool_reads() -> None:
    def decode(name: str, value: Any, **parameters: str) -> Any:
        decoder = decoder_of(LogicalType(name, tuple(parameters.items())))
        assert decoder is not None, name
        return decoder(value)

    micros = dbz.datetime_to_micros(SIGNED)
    assert decode("io.debezium.time.Date", dbz.date_to_days(date(1984, 2, 29))) == "1984-02-29"
    assert decode("io.debezium.time.Date", -1) == "1969-12-31"
    assert decode("io.debezium.time.MicroTimestamp", micros) == "2026-05-05T10:11:12.345678Z"
    assert decode("io.debezium.time.Timestamp", micros // 1000) == "2026-05-05T10:11:12.345Z"
    assert decode("io.debezium.time.NanoTimestamp", micros * 1000 + 9) == \
        "2026-05-05T10:11:12.345678009Z"
    assert decode("io.debezium.time.MicroTimestamp", -1) == "1969-12-31T23:59:59.999999Z"
    # PostgreSQL's infinity as Debezium sends it: not a date, left as it came
    assert decode("io.debezium.time.MicroTimestamp", 2**63 - 1) == 2**63 - 1
    assert decode("io.debezium.time.Date", 2**31 - 1) == 2**31 - 1
    assert decode("io.debezium.time.MicroTime", 36_672_000_001) == "10:11:12.000001"
    scale2 = {"scale": "2"}
    assert decode("org.apache.kafka.connect.data.Decimal", dbz.encode_decimal(
        Decimal("-1234.50"), 2), **scale2) == "-1234.50"
    big = Decimal("123456789012345678.99")  # beyond float64: a JSON number would lose it
    assert decode("org.apache.kafka.connect.data.Decimal", dbz.encode_decimal(big, 2),
                  **scale2) == str(big)
    assert decode("io.debezium.data.VariableScaleDecimal",
                  {"scale": 3, "value": dbz.encode_decimal(Decimal("2.5"), 3)}) == "2.500"
    # a value that is not of its type (a masked text, a decimal sent as a string) stays
    assert decode("io.debezium.time.Date", "ps_contact_x") == "ps_contact_x"
    assert decode("org.apache.kafka.connect.data.Decimal", "12.5", **scale2) == "12.5"
    assert decoder_of(LogicalType("io.debezium.time.ZonedTimestamp")) is None
    assert decode_row({"a": 1, "b": None}, {"b": lambda v: "x"}) == {"a": 1, "b": None}


@pytest.fixture(scope="module")
def bi_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference rules with the analytics view in the ``bi`` format."""
    rules = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(RULES, rules)
    ruleset = rules / "ruleset.yaml"
    text = ruleset.read_text()
    assert "format: flat" in text
    ruleset.write_text(text.replace("format: flat", "format: bi", 1))
    return rules


def first(stream: CrmStream, table: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for record in stream.events(3000):
        if record.table == table and record.op in ("c", "r"):
            return record.key, record.value
    raise AssertionError(f"no insert into {table}")


def view_value(outcome: Any, view: str) -> dict[str, Any]:
    return next(r.value for r in outcome.records if f".{view}." in r.topic or
                r.topic.startswith(f"{view}."))


def test_without_a_schema_the_rules_encodings_decode_the_row(bi_rules: Path) -> None:
    masking = engine(bi_rules)
    key, value = first(CrmStream(seed=3, users=20), "contracts")
    row = value["after"]
    bi = view_value(masking.process("crm.public.contracts", key, value), "bi.analytics")
    flat = view_value(engine().process("crm.public.contracts", key, value), "bi.analytics")
    assert set(bi) == set(flat)
    # kept (keep with encoding) and generalised (generalize's encoding) columns decoded
    assert bi["monthly_fee"] == str(dbz.decode_decimal(row["monthly_fee"], 2))
    signed = dbz.micros_to_datetime(flat["signed_at"])
    assert bi["signed_at"] == f"{signed:%Y-%m-%dT%H:%M:%S}.000000Z" and signed.hour == 0
    start = dbz.days_to_date(flat["start_date"])
    assert bi["start_date"] == start.isoformat() and start.day == 1
    # pseudonyms, texts, flags and the added columns as they are
    for column in ("id", "contact_id", "product", "status", "__op", "__deleted",
                   "__source_ts_ms"):
        assert bi[column] == flat[column], column


def test_a_connect_schema_decides_where_the_event_has_one(bi_rules: Path) -> None:
    """The JSON converter with schemas: the event's own types decide (a column sent in
    milliseconds reads as such), and the record is plain JSON, no schema wrapper."""
    masking = engine(bi_rules)
    key, value = first(CrmStream(seed=3, users=20, with_schema=True), "contacts")
    types = of_connect_envelope(value["schema"])
    assert types["birth_date"].name == "io.debezium.time.Date"
    bi = view_value(masking.process("crm.public.contacts", key, value), "bi.analytics")
    assert "schema" not in bi and "payload" not in bi
    row = value["payload"]["after"]
    assert bi["birth_date"] == date(dbz.days_to_date(row["birth_date"]).year, 1, 1).isoformat()
    assert bi["created_at"] == dbz.micros_to_datetime(row["created_at"]).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    # the sales view (debezium format) still carries the masked schema
    sales = view_value(masking.process("crm.public.contacts", key, value), "bi.sales")
    assert set(sales) == {"schema", "payload"}


def test_avro_rows_keep_their_logical_types(bi_rules: Path) -> None:
    """With an Avro writer schema the row stays encoded: the Avro schema says what it is."""
    masking = engine(bi_rules)
    key, value = first(CrmStream(seed=3, users=20), "contracts")
    types = {"start_date": LogicalType("io.debezium.time.Date")}
    bi = view_value(masking.process("crm.public.contracts", key, value, types), "bi.analytics")
    assert isinstance(bi["start_date"], int) and isinstance(bi["signed_at"], int)
