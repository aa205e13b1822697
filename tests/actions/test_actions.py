"""Each masking action on hand-picked values, including Debezium encodings."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.actions.base import CompileContext
from processor.actions.registry import action_names, compile_action, validate_params
from processor.formats import debezium_types as dbz
from processor.keys import KeyRing
from tests.helpers import demo_keys

KEYS = demo_keys()


def act(name: str, keys: KeyRing = KEYS, key_id: str = "k2026a", **params: Any) -> Any:
    return compile_action(name, params, CompileContext("t", "f", key_id, keys)).apply


def test_registry_has_every_action_of_the_design() -> None:
    assert {"keep", "drop", "null", "redact", "pseudonymize", "mask", "truncate", "generalize",
            "email_domain", "scrub"} <= set(action_names())


def test_pseudonyms_are_keyed_deterministic_and_tagged_with_the_key_id() -> None:
    p = act("pseudonymize", domain="contact")
    assert p(42) == p(42) == p("42")
    assert p(42).startswith("k2026a:") and len(p(42)) == len("k2026a:") + 32
    assert p(42) != p(43)
    assert p(None) is None


def test_pseudonyms_differ_across_domains_and_keys() -> None:
    contact = act("pseudonymize", domain="contact")
    account = act("pseudonymize", domain="account")
    other_key = act("pseudonymize", key_id="k2026b", domain="contact")
    assert contact(7) != account(7)
    assert contact(7).split(":")[1] != other_key(7).split(":")[1]
    assert other_key(7).startswith("k2026b:")


@given(st.text(min_size=1), st.text(min_size=1))
def test_pseudonym_collisions_only_for_equal_values(a: str, b: str) -> None:
    p = act("pseudonymize", domain="email")
    assert (p(a) == p(b)) == (a == b)


def test_pseudonym_is_not_a_plain_hash() -> None:
    import hashlib

    p = act("pseudonymize", domain="email")
    plain = hashlib.sha256(b"max@example.de").hexdigest()[:32]
    assert p("max@example.de").split(":")[1] != plain


def test_normalizers_make_spellings_match() -> None:
    p = act("pseudonymize", domain="email", normalize=["strip", "lower"])
    assert p(" Max@Example.DE ") == p("max@example.de")
    iban = act("pseudonymize", domain="iban", normalize=["compact", "upper"])
    assert iban("de89 3704 0044 0532 0130 00") == iban("DE89370400440532013000")


def test_mask_truncate_redact_null_email_domain() -> None:
    assert act("mask", keep_last=2)("+49 30 1234567") == "************67"
    assert act("mask", keep_first=1, keep_last=1, fixed_length=3)("Anna") == "A***a"
    assert act("mask", keep_last=4)("12") == "**"
    assert act("truncate", keep=2)("10115") == "10"
    assert act("redact")("x") == "[REDACTED]" and act("redact")(None) is None
    assert act("null")("x") is None
    assert act("email_domain")("Max@Firma.DE") == "firma.de"
    assert act("email_domain")("no-at-sign") is None


def test_generalize_debezium_date_and_micro_timestamp() -> None:
    birth = dbz.date_to_days(date(1984, 5, 17))
    assert dbz.days_to_date(act("generalize", to="year")(birth)) == date(1984, 1, 1)
    assert dbz.days_to_date(act("generalize", to="month")(birth)) == date(1984, 5, 1)
    ts = dbz.datetime_to_micros(datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=UTC))
    day = act("generalize", to="day", encoding="micro_timestamp")(ts)
    assert dbz.micros_to_datetime(day) == datetime(2026, 3, 29, tzinfo=UTC)
    assert act("generalize", to="year", encoding="iso_date")("1984-05-17") == "1984-01-01"


def test_generalize_numbers_and_debezium_decimals_into_buckets() -> None:
    assert act("generalize", to="bucket", encoding="number", size=50)(713) == 700
    assert act("generalize", to="bucket", encoding="number", size=50)(-1) == -50
    encoded = dbz.encode_decimal(Decimal("12345.67"), 2)
    bucketed = act("generalize", to="bucket", encoding="decimal", scale=2, size=1000)(encoded)
    assert dbz.decode_decimal(bucketed, 2) == Decimal("12000.00")
    assert dbz.decode_decimal(base64.b64encode(b"\xff").decode(), 0) == Decimal(-1)


def test_generalize_rejects_inconsistent_parameters() -> None:
    assert validate_params("generalize", {"to": "bucket"})
    assert validate_params("generalize", {"to": "year", "encoding": "number"})
    assert validate_params("generalize", {"to": "bucket", "encoding": "decimal", "size": 10})
    assert not validate_params("generalize", {"to": "year"})


def test_scrub_replaces_identifiers_validated_by_checksum() -> None:
    from stdnum.iso7064 import mod_11_10

    tax_id = "8609574271" + mod_11_10.calc_check_digit("8609574271")
    text = (f"Kunde max.mustermann@example.de, Tel. 030 12345678, IBAN DE89 3704 0044 0532 "
            f"0130 00, Karte 4111 1111 1111 1111, Steuer-ID {tax_id}, Bestellung 12345678902")
    out = act("scrub")(text)
    assert out == ("Kunde [EMAIL], Tel. [PHONE], IBAN [IBAN], Karte [CARD], "
                   "Steuer-ID [TAX_ID], Bestellung 12345678902")


def test_scrub_leaves_numbers_that_fail_their_checksum() -> None:
    scrub = act("scrub")
    assert scrub("IBAN DE00 3704 0044 0532 0130 00") == "IBAN DE00 3704 0044 0532 0130 00"
    assert scrub("Karte 4111 1111 1111 1112") == "Karte 4111 1111 1111 1112"


def test_scrub_takes_phone_numbers_that_no_range_holds_but_not_dates() -> None:
    scrub = act("scrub")
    # 0151 takes eight more digits: one short, phonenumbers calls it possible, not valid
    assert scrub("Rückruf (0151) 1234567 oder +49 151 1234567") == "Rückruf [PHONE] oder [PHONE]"
    assert scrub("Gespräch am 01.02.2024, Bestellung 0001234567") == (
        "Gespräch am 01.02.2024, Bestellung 0001234567")


def test_scrub_replacement_may_only_name_the_kind() -> None:
    assert act("scrub", replacement="<{kind}>")("max@example.de") == "<EMAIL>"
    assert act("scrub", replacement="{{x}}")("max@example.de") == "{x}"
    assert any("placeholder" in msg for _, msg in validate_params("scrub", {"replacement": "{x}"}))
    assert validate_params("scrub", {"replacement": "{0}"})


@pytest.mark.parametrize("name", ["pseudonymize", "mask", "truncate", "generalize", "scrub"])
def test_unknown_parameters_are_rejected(name: str) -> None:
    assert any("Extra inputs" in msg for _, msg in validate_params(name, {"bogus": 1}))
