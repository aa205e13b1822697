"""Identifiers written the way people and copy-paste write them: grouped with non-breaking or
thin spaces, a zero-width character inside, a full-width ＠, ``(at)``/``[at]``, an IBAN grouped
with ``-`` or ``.``, a tax id with ``/``. Both engines scrub them alike; the text around a finding
stays as written, and a date is not a phone number."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from processor.pii.normalize import normalize
from processor.pii.recognizers import find_all
from tests.helpers import require_native_core
from tests.masking.test_native_engine import _edge_engines
from tests.masking.test_native_engine import edge_rules as edge_rules
from tests.masking.test_native_scrub import scrubbed

#: (text, its scrubbed form)
CASES = [
    ("Tel. 030\u00a01234\u00a05678 (privat)", "Tel. [PHONE] (privat)"),
    ("mobil 0171\u2009234\u20095678.", "mobil [PHONE]."),
    ("Rückruf 0301234\u200b5678 bitte", "Rückruf [PHONE] bitte"),
    ("IBAN DE89-3704-0044-0532-0130-00, danke", "IBAN [IBAN], danke"),
    ("IBAN DE89.3704.0044.0532.0130.00", "IBAN [IBAN]"),
    ("Konto DE89\u00a03704\u00a00044\u00a00532\u00a00130\u00a000", "Konto [IBAN]"),
    ("IBAN DE89 3704 0044\u200b 0532 0130 00", "IBAN [IBAN]"),
    ("Mail: anna＠example.org!", "Mail: [EMAIL]!"),
    ("Mail an anna(at)example.org senden", "Mail an [EMAIL] senden"),
    ("anna [at] example [dot] org", "[EMAIL]"),
    ("Kontakt: Anna.Becker{AT}firma(PUNKT)de", "Kontakt: [EMAIL]"),
    ("Steuer-ID 86/095/742/719 liegt vor", "Steuer-ID [TAX_ID] liegt vor"),
    ("Termin am 12.03.2026 um 10 Uhr", "Termin am 12.03.2026 um 10 Uhr"),
    ("am 01.02.2024 anrufen: 030 1234567", "am 01.02.2024 anrufen: [PHONE]"),
    ("Vertrag vom 3.5.26, Betrag 1.234,56 €", "Vertrag vom 3.5.26, Betrag 1.234,56 €"),
]


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return require_native_core()


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_both_engines_scrub_the_written_forms(text: str, expected: str, edge_rules: Path,
                                              core: ModuleType) -> None:
    engine, fast = _edge_engines(edge_rules, core)
    assert scrubbed(engine, text) == expected
    assert scrubbed(fast, text) == expected


def test_a_finding_is_mapped_back_to_the_characters_it_was_written_with() -> None:
    text = "x anna (at) example (dot) org y"
    read = normalize(text)
    assert read.text == "x anna@example.org y"
    [(start, end, kind)] = find_all(text)
    assert (text[:start], text[end:], kind) == ("x ", " y", "email")


def test_plain_ascii_is_read_as_it_is() -> None:
    text = "Rückruf erbeten"[1:].encode("ascii", "ignore").decode()
    assert normalize(text).text is text and normalize(text).origin is None
