"""Where an event names its columns' types (a Connect schema, an Avro writer schema), the type
decides how a generalised value is read, not the encoding the rule declares: a column altered
to timestamp(0) sends milliseconds, a decimal's scale may change."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from processor.errors import PoisonEvent
from processor.formats import debezium_types as dbz
from processor.formats.logical_types import LogicalType, of_avro_record, of_connect_envelope
from tests.helpers import engine

TOPIC = "crm.public.contracts"
SIGNED = datetime(2026, 5, 5, 10, 11, 12, tzinfo=dbz.EPOCH.tzinfo)
MICROS = dbz.datetime_to_micros(SIGNED)
DAY_MICROS = dbz.datetime_to_micros(SIGNED.replace(hour=0, minute=0, second=0))


def contract(signed_at: int) -> dict[str, Any]:
    return {"id": 1, "contract_no": "V-1", "contact_id": 2, "product": "strom_basis",
            "start_date": 20000, "end_date": None, "monthly_fee": "AfQ=", "iban": None,
            "status": "active", "signed_at": signed_at}


def wrapped(row: dict[str, Any], signed_at_type: str) -> dict[str, Any]:
    """The event as the JSON converter with schemas writes it (only the columns' schemas that
    matter here)."""
    fields = [{"field": "id", "type": "int64"},
              {"field": "signed_at", "type": "int64", "optional": True, "name": signed_at_type}]
    row_schema = {"type": "struct", "optional": True, "fields": fields}
    schema = {"type": "struct", "fields": [{**row_schema, "field": "before"},
                                           {**row_schema, "field": "after"},
                                           {"type": "string", "field": "op"}]}
    return {"schema": schema, "payload": {"op": "c", "before": None, "after": row}}


def signed_at(outcome: Any) -> Any:
    """The value in every view (flat and Debezium-formatted), which must agree."""
    found = set()
    for record in outcome.records:
        payload = record.value.get("payload", record.value)
        found.add((payload.get("after") or payload).get("signed_at"))
    assert len(found) == 1, found
    return found.pop()


def test_milliseconds_named_by_the_schema_are_generalised_as_milliseconds() -> None:
    eng = engine()
    out = eng.process(TOPIC, {"id": 1}, wrapped(contract(MICROS // 1000), "io.debezium.time.Timestamp"))
    assert signed_at(out) == DAY_MICROS // 1000
    micro = eng.process(TOPIC, {"id": 1}, wrapped(contract(MICROS), "io.debezium.time.MicroTimestamp"))
    assert signed_at(micro) == DAY_MICROS


def test_without_a_schema_the_rule_decides_and_milliseconds_are_a_dead_letter() -> None:
    eng = engine()
    with pytest.raises(PoisonEvent) as caught:
        eng.process(TOPIC, {"id": 1}, {"op": "c", "before": None,
                                       "after": contract(MICROS // 1000)})
    assert (caught.value.reason, caught.value.detail) == ("invalid_field_value",
                                                          "contracts.signed_at")


def test_avro_types_come_from_connect_names_or_avro_logical_types() -> None:
    row = {"type": "record", "name": "Value", "fields": [
        {"name": "signed_at", "type": ["null", {"type": "long", "connect.version": 1,
                                                "connect.name": "io.debezium.time.Timestamp"}]},
        {"name": "fee", "type": ["null", {"type": "bytes", "logicalType": "decimal",
                                          "precision": 12, "scale": 3}]},
        {"name": "note", "type": ["null", "string"]}]}
    types = of_avro_record(row)
    assert types == {"signed_at": LogicalType("io.debezium.time.Timestamp"),
                     "fee": LogicalType("org.apache.kafka.connect.data.Decimal",
                                        (("scale", "3"),))}


def test_a_decimal_scale_from_the_schema_replaces_the_rules() -> None:
    eng = engine()
    plan = eng.route("crm.public.contacts").views[0].plan
    value = dbz.encode_decimal(Decimal("12345.678"), 3)
    typed = plan.for_types({"lifetime_value": LogicalType(
        "org.apache.kafka.connect.data.Decimal", (("scale", "3"), ("connect.decimal.precision", "12")))})
    assert typed is not plan
    out = typed.mask_row({"lifetime_value": value})["lifetime_value"]
    assert dbz.decode_decimal(out, 3) == Decimal("12000.000")
    # read under the rule's scale 2 the same bytes would be 123456.78
    assert dbz.decode_decimal(plan.mask_row({"lifetime_value": value})["lifetime_value"],
                              2) == Decimal("123000.00")
    # a schema that agrees with the rule keeps the compiled plan
    same = {"lifetime_value": LogicalType("org.apache.kafka.connect.data.Decimal", (("scale", "2"),))}
    assert plan.for_types(same) is plan


def test_a_connect_envelope_names_its_rows_types() -> None:
    types = of_connect_envelope(wrapped(contract(0), "io.debezium.time.Timestamp")["schema"])
    assert types == {"signed_at": LogicalType("io.debezium.time.Timestamp")}


@pytest.mark.parametrize("scale", ["²", "-1", "", "x"])
def test_a_scale_that_is_no_number_leaves_the_rules(scale: str) -> None:
    """A schema is input too: a decimal's scale that is no plain number (a crafted schema)
    keeps the rule's scale instead of failing the event outside the masking."""
    plan = engine().route("crm.public.contacts").views[0].plan
    odd = {"lifetime_value": LogicalType("org.apache.kafka.connect.data.Decimal",
                                         (("scale", scale),))}
    assert plan.for_types(odd) is plan
