"""The quality benchmark's own parts: the corpus labels what it says it labels, and the
scoring finds what a scrub replaced (its targets live in the benchmark, not here)."""

from __future__ import annotations

import ipaddress
import re

from benchmarks.scrub_quality import replaced, score
from processor.generator.corpus import PARTICLES, RARE_FIRST, Labelled, corpus, known_people
from processor.generator.rows import UNKNOWN_FIRST, UNKNOWN_LAST
from processor.pii.names import fold


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
                # ``von der Heyde``, ``M. Weber``, ``M.Weber``: one name
                particles, _, name = re.sub(r"^([A-ZÄÖÜ]\.)(?=\w)", r"\1 ",
                                            text.removeprefix("@")).rpartition(" ")
                assert name in unknown, text
                assert not particles or particles in PARTICLES or re.fullmatch(
                    r"[A-ZÄÖÜ]\.", particles), text
            elif kind in ("phone", "iban", "tax_id", "card"):
                assert len(re.findall(r"\d", text)) >= 7, (kind, text)
            elif kind == "birth_date":
                assert re.fullmatch(r"\d{1,2}\.\d{1,2}\.(?:\d{2,4})?|\d{4}-\d\d-\d\d"
                                    r"|\d{1,2}\. [A-Z][a-zä]+ \d{4}|(?:19|20)\d\d", text), text
            elif kind == "profile_url":
                assert re.search(r"linkedin\.com/in/|xing\.com/profile/", text), text
            elif kind == "social_security_number":
                assert re.fullmatch(r"\d\d ?\d{6} ?[A-Z] ?\d{3}", text), text
            elif kind == "address":
                assert re.match(r"\w[\w.-]*(?: \w+)*[ .]? \d{1,3}", text), text
            elif kind == "id_document":
                assert re.fullmatch(r"[A-Z0-9]{9}", text) and len(re.findall(r"\d", text)) >= 2
            elif kind == "mac_address":
                assert re.fullmatch(r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}", text), text
            elif kind == "credential":
                assert re.fullmatch(r"[A-Z][a-z]+\d{1,4}[!?#]?", text), text
            elif kind == "health_insurance_number":
                assert re.fullmatch(r"[A-Z]\d{9}", text), text
            elif kind == "license_plate":
                assert re.fullmatch(r"[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} \d{1,4}[EH]?", text), text
            elif kind == "ip_address":
                ipaddress.ip_address(text)
            elif kind == "email":
                assert re.search(r"@|\(at\)|\[at\]|＠| at ", text), text
    assert kinds >= {"name_known", "name_unknown", "email", "phone", "iban", "tax_id", "card",
                     "birth_date", "profile_url", "social_security_number", "address",
                     "id_document", "license_plate", "ip_address", "health_insurance_number",
                     "mac_address", "credential"}


def test_replaced_regions_are_found_even_where_a_replacement_shares_letters() -> None:
    original = "Rückruf Nguyen, Tel. 030 1234567."
    scrubbed = "Rückruf [NAME], Tel. [PHONE]."
    assert replaced(original, scrubbed) == [(8, 14), (21, 32)]


def test_score_counts_whole_spans_and_correct_regions() -> None:
    note = Labelled().add("Frau ").add("Weber", "name_unknown").add(" am 12.03.2026")
    result = score([note, note], [[(5, 10)], [(5, 8), (14, 24)]])
    assert result["name_unknown"] == 0.5  # the second found only part of the name
    assert result["precision"] == 2 / 3  # the date is no finding
