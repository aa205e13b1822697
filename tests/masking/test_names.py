"""Names in free text: the CRM's own people (learnt from the columns marked ``entity: name``,
kept as keyed token hashes) and unknown people after a salutation, found alike by both
engines."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import orjson
import pytest

from processor.masking.compiler import compile_rules
from processor.masking.engine import MaskingEngine
from processor.masking.native import NativeEngine
from processor.pii.names import NameLexicon, PyNameSet, fold, name_tokens
from processor.rules import load_validated
from tests.helpers import RULES, demo_keks, demo_keys, require_native_core
from tests.masking.test_native_engine import assert_same, engines

CONTACTS, USERS, ACTIVITIES = ("crm.public.contacts", "crm.public.users",
                               "crm.public.activities")


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return require_native_core()


def event(row: dict[str, Any], op: str = "c") -> bytes:
    return orjson.dumps({"op": op, "before": None, "after": row, "source": {"ts_ms": 1},
                         "ts_ms": 2})


def contact(cid: int, first: str, last: str, notes: str | None = None) -> bytes:
    return event({"id": cid, "first_name": first, "last_name": last, "notes": notes})


def subject_of(fast: Any, text: str, aid: int) -> str:
    got = fast.process(ACTIVITIES, orjson.dumps({"id": aid}),
                       event({"id": aid, "contact_id": 1, "subject": text}))
    assert got is not None, "the core left the event to Python"
    value = orjson.loads(got[1][0][2])
    return str((value.get("after") or value)["subject"])


@pytest.mark.parametrize(("text", "expected"), [
    ("Rückruf Jürgen Müller-Lüdenscheidt", "Rückruf [NAME] [NAME]-[NAME]"),
    ("MÜLLER hat angerufen, Mueller bestätigt", "[NAME] hat angerufen, [NAME] bestätigt"),
    ("Müllers Vertrag ist da", "[NAME] Vertrag ist da"),
    ("Juergen meldet sich", "[NAME] meldet sich"),
    ("Frau Weber wegen Herrn Yılmaz", "Frau [NAME] wegen Herrn [NAME]"),
    ("Ehemann Peter Schmidt (Tel. 030 1234567)", "Ehemann [NAME] (Tel. [PHONE])"),
    ("ein müller ist kein Name in Kleinschreibung", "ein müller ist kein Name in Kleinschreibung"),
    ("Von Montag an Zählerstand melden", "Von Montag an Zählerstand melden"),
])
def test_known_and_unknown_names_are_scrubbed_alike(core: ModuleType, text: str,
                                                    expected: str) -> None:
    engine, fast = engines(RULES, core)
    assert assert_same(engine, fast, CONTACTS, b'{"id":1}',
                       contact(1, "Jürgen", "Müller-Lüdenscheidt", "Jürgen Müller zog um"))
    # (the contact's own notes already name him: learnt before the row is masked)
    key, value = orjson.dumps({"id": 9}), event({"id": 9, "contact_id": 1, "subject": text})
    assert assert_same(engine, fast, ACTIVITIES, key, value)
    assert subject_of(fast, text, 9) == expected


@pytest.mark.parametrize("text", ["Rückruf Bø Anna", "Laut Herrn Nø", "Brøs Vertrag"])
def test_a_word_ending_in_a_letter_of_two_bytes_stays_in_the_core(core: ModuleType,
                                                                  text: str) -> None:
    """The possessive check cuts a final s, never a letter that folds to itself in two bytes
    (ø, ð): the core used to fail there and leave the whole event to Python."""
    engine, fast = engines(RULES, core)
    assert assert_same(engine, fast, CONTACTS, b'{"id":1}', contact(1, "Anna", "Bø"))
    assert assert_same(engine, fast, ACTIVITIES, b'{"id":2}',
                       event({"id": 2, "contact_id": 1, "subject": text}))
    assert "Bø" not in subject_of(fast, text, 3)


def test_a_contacts_own_notes_lose_its_name_in_the_same_event(core: ModuleType) -> None:
    engine, fast = engines(RULES, core)
    value = contact(3, "Anna", "Becker", "Anna Becker zieht nach Köln")
    assert assert_same(engine, fast, CONTACTS, b'{"id":3}', value)
    got = fast.process(CONTACTS, b'{"id":3}', value)
    assert got is not None
    assert b"Becker" not in b"".join(v or b"" for _, _, v in got[1])


def test_a_text_seen_before_a_name_was_learnt_is_searched_again(core: ModuleType) -> None:
    engine, fast = engines(RULES, core)
    text = "Rückruf bei Frieda Kowalczyk"
    assert subject_of(fast, text, 1) == text  # nobody knows her yet (no salutation)
    assert_same(engine, fast, ACTIVITIES, b'{"id":1}',
                event({"id": 1, "contact_id": 1, "subject": text}))
    assert assert_same(engine, fast, USERS, b'{"id":5}',
                       event({"id": 5, "username": "fk", "full_name": "Frieda Kowalczyk"}))
    assert subject_of(fast, text, 2) == "Rückruf bei [NAME] [NAME]"
    assert assert_same(engine, fast, ACTIVITIES, b'{"id":2}',
                       event({"id": 2, "contact_id": 1, "subject": text}))


def test_folding_and_tokens() -> None:
    assert fold("MÜLLER") == fold("Müller") == fold("Mueller") == "mueller"
    assert fold("Çelik") == "celik" and fold("Strauß") == "strauss"
    assert list(name_tokens("Anna-Lena von der Heide")) == ["anna", "lena", "heide"]
    assert list(name_tokens("J. R. Ewing")) == ["ewing"]


def test_the_python_set_holds_hashes_only() -> None:
    lexicon = NameLexicon(b"k" * 32)
    lexicon.names = PyNameSet()
    lexicon.add(["Anna Becker"])
    assert lexicon.contains("becker") and not lexicon.contains("weber")
    held = lexicon.names._hashes
    assert len(held) == 2 and all(isinstance(h, int) for h in held)
    # another key, other hashes: a set is useless without its key
    other = NameLexicon(b"j" * 32)
    other.names = PyNameSet()
    other.add(["Anna Becker"])
    assert not held & other.names._hashes


def test_a_name_with_letters_the_core_cannot_fold_is_learnt_whole(core: ModuleType) -> None:
    """As `run` has them: both engines on one compiled rule set, one name set. Γιάννης is
    Python's to fold (the core leaves the row, and any text naming him, to Python); Müller of
    the same row is still found by the core in a text it scrubs itself."""
    compiled = compile_rules(load_validated(RULES), demo_keys(), demo_keks())
    engine, fast = MaskingEngine(compiled), NativeEngine(compiled, core)
    value = contact(4, "Γιάννης", "Müller")
    assert fast.process(CONTACTS, b'{"id":4}', value) is None  # the row is Python's
    engine.process(CONTACTS, {"id": 4}, orjson.loads(value))
    assert subject_of(fast, "Rückruf Müller.", 3) == "Rückruf [NAME]."
    # a text naming him: the core hands it to the Python scrub, which folds Γιάννης
    assert subject_of(fast, "Γιάννης ruft an", 5) == "[NAME] ruft an"
    greek = event({"id": 6, "contact_id": 4, "subject": "Γιάννης ruft an"})
    masked = engine.process(ACTIVITIES, {"id": 6}, orjson.loads(greek)).records[0].value
    assert masked["subject"] == "[NAME] ruft an"
