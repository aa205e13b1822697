"""The quality benchmark's own parts: the corpus labels what it says it labels, and the
scoring finds what a scrub replaced (its targets live in the benchmark, not here)."""

from __future__ import annotations

import ipaddress
import re

from benchmarks.scrub_quality import replaced, score
from processor.generator.corpus import PARTICLES, RARE_FIRST, Labelled, corpus, known_people
from processor.generator.rows import UNKNOWN_FIRST, UNKNOWN_LAST
from processor.pii.names import fold

#: what a span of a kind looks like, as a pattern that finds it (``re.search``: anchored
#: where the whole span has one form)
SHAPES = {
    "phone": r"(?:\D*\d){7}", "iban": r"(?:\D*\d){7}", "tax_id": r"(?:\D*\d){7}",
    "card": r"(?:\D*\d){7}",
    "birth_date": r"^(?:\d{1,2}\.\d{1,2}\.(?:\d{2,4})?|\d\d/\d\d/\d{4}|\d{4}-\d\d-\d\d"
                  r"|\d{1,2}\. [A-Z][a-zä]+ \d{4}|(?:19|20)\d\d)$",
    "profile_url": r"linkedin\.com/in/|xing\.com/profile/",
    "social_security_number": r"^\d\d ?\d{6} ?[A-Z] ?\d{3}$",
    "address": r"^\w[\w.-]*(?: \w+)*[ .]? \d{1,3}",
    "id_document": r"^(?=(?:\D*\d){2})[A-Z0-9]{9}$",
    "mac_address": r"^[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}$",
    "credential": r"^[A-Z][a-z]+\d{1,4}[!?#]?$",
    "health_insurance_number": r"^[A-Z]\d{9}$",
    "meter_id": r"^\d(?:[A-Z]{3}\d{10}|\d{10})$",
    "license_plate": r"^[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} \d{1,4}[EH]?$",
    "email": r"@|\(at\)|\[at\]|＠| at ",
    "name_known_typo": r"^[A-ZÄÖÜ][^\W\d_]+$",  # a known surname mistyped
}


def test_every_span_holds_what_its_kind_says() -> None:
    known = known_people(5, 50)
    tokens = {fold(t) for first, last in known for t in (first, last)}
    unknown = set(UNKNOWN_FIRST) | set(UNKNOWN_LAST) | set(RARE_FIRST)
    unknown |= {name.lower() for name in UNKNOWN_LAST}  # a note typed in lower case
    notes = corpus(5, 400, known)
    kinds = set()
    for note in notes:
        for start, end, kind in note.spans:
            text = note.text[start:end]
            kinds.add(kind)
            if kind == "name_known":
                base = fold(text)
                assert base in tokens or (base.endswith("s") and base[:-1] in tokens), text
            elif kind in ("name_unknown", "name_unknown_bare"):
                # ``von der Heyde``, ``M. Weber``, ``M.Weber``, ``@Weber``: one name
                particles, _, name = re.sub(r"^([A-ZÄÖÜ]\.)(?=\w)", r"\1 ",
                                            text.removeprefix("@")).rpartition(" ")
                assert name in unknown, text
                assert not particles or particles in PARTICLES or re.fullmatch(
                    r"[A-ZÄÖÜ]\.", particles), text
            elif kind == "ip_address":
                ipaddress.ip_address(text)
            else:
                assert re.search(SHAPES[kind], text), (kind, text)
    assert kinds >= {"name_known", "name_unknown", "ip_address", *SHAPES}


def test_replaced_regions_are_found_even_where_a_replacement_shares_letters() -> None:
    original = "Rückruf Nguyen, Tel. 030 1234567."
    scrubbed = "Rückruf [NAME], Tel. [PHONE]."
    assert replaced(original, scrubbed) == [(8, 14), (21, 32)]


def test_score_counts_whole_spans_and_correct_regions() -> None:
    note = Labelled().add("Frau ").add("Weber", "name_unknown").add(" am 12.03.2026")
    result = score([note, note], [[(5, 10)], [(5, 8), (14, 24)]])
    assert result["name_unknown"] == 0.5  # the second found only part of the name
    assert result["precision"] == 2 / 3  # the date is no finding
