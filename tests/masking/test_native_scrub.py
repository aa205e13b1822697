"""scrub in the native core: the detectors' patterns run in Rust (`regex`) and their Python
``confirm`` decides each candidate. A pattern that matched differently there would leave a
phone number or an IBAN in a published value, so both engines' outputs are compared on text
built to tell the two regex engines apart: every character next to and inside candidates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.masking.engine import MaskingEngine
from processor.masking.native import NativeEngine
from processor.pii.recognizers import NUMBER_EDGE, forget_confirmed, recognizer, recognizer_kinds
from tests.helpers import require_native_core
from tests.masking.test_native_engine import EDGE_TOPIC, _edge_engines, edge_bytes, engines
from tests.masking.test_native_engine import edge_rules as edge_rules

#: texts in which the character ``c`` decides a match: a word boundary, a letter of an e-mail
#: address or a top-level domain, a character inside a candidate, case folding
TEMPLATES = [
    "{c}0151 8710709{c}", "0171{c}2345678", "+49 (0) 171 {c} 234 56 78",
    "Ruf{c}+49 30 1234567", "0{c}30 1234567", "(0{c}30) 1234567",
    "{c}DE89 3704 0044 0532 0130 00{c}", "DE89{c}3704 0044 0532 0130 00", "{c}e89 3704 0044 "
    "0532 0130 00", "max{c}@example.d{c}", "{c}max@ex{c}ample.de", "a@b.{c}{c}", "x{c}@y.com",
    "4111 1111 1111 1111{c}", "{c}4111{c}1111 1111 1111", "{c}12 345 678 901{c}",
    "Konto {c}DE89370400440532013000 bzw. 0{c}151 8710709", "am {c}01.02.2024{c}",
    "{c}0044 0532 0130 00{c}",
    "Grüße,{c}Anna{c}Berg", "Herrn von der{c}H{c}yde", "Ansprechpartnerin{c}Fr. Wagner{c}",
    "geb.{c}12.03.1985{c}", "{c}Geburtsdatum:{c}1985-03-12",
    "mit{c}Thomas{c}Berger{c}", "{c}J{c}rgen Kühn", "Hans-{c}eter Brandt", "Hr.{c}Kowalski",
    "Name:{c}Zimmermann", "Thomas-Mann-{c}traße", "geb. am{c}3. M{c}rz 1962{c}",
    "HERR{c}MAIER{c}", "Herr M{c}LLER", "FRAU{c}Weber", "St.-Nr.{c}181/815/0815{c}5",
    "Herr O{c}Connor", "Frau Mc{c}onald{c}", "Frau Dipl.-K{c}fr. Weber", "Herr Dr.{c}Ing. Kraus",
    "{c}linked{c}n.com/in/an{c}a-b{c}", "SV-Nr.{c}12 150785 {c} 123",
    "{c}Goethe{c}traße 12{c}", "Lindenweg 4{c} 50667 K{c}ln", "Am{c}Markt 3", "Berliner{c}Str. 5",
    "Karl-{c}arx-Allee 34{c}", "An der{c}Alster 12, 20099 Hamburg{c}", "Hauptstr. 1{c}a",
    "Ausweis-Nr.{c}L01X00T47{c}", "{c}Reisepass C01X{c}0T47", "Kfz-Kennzeichen{c}M-AB 1234{c}",
    "Kennzeichen M-{c}B 12{c}4", "{c}192.0.2.2{c}4{c}", "2001:db8:{c}:1{c}", "HERRN DOS{c}SANTOS",
    "Versicherungsnehmer:{c}Weber", "VN{c}Berger", "Hr{c}Krüger{c}", "Kd.{c}Nowak",
    "Frau Rechtsanw{c}ltin Lohmann", "Mr.{c}Smith", "Mrs{c}Patel{c}", "Kind regards{c}Sarah",
    "{c}T.{c}Berger", "A.-{c}. Nowak", "z.{c}B. Neukunden", "gez.{c}Schulz",
    "anna{c}at example dot c{c}m", "a punkt b at{c}gmx punkt de", "x{c}@ y.org{c}",
    "Bäckerei{c}Schulz e.{c}.", "Termin Weber{c}e.Kfm.{c}", "Inh.{c}Brenner",
    "({c} 30) 12 34 56", "0{c}61 31 / 23 45 67", "Frau Von{c}der Leyen{c}", "Von:{c}Kowalczyk",
    "Schulz,{c}Anna{c}", "{c}eber, J{c}rgen",
    "Geburtstag des{c}Kunden:{c}17. M{c}rz 1972{c}", "Geburtstag: 03.0{c}.{c}", "geb.{c}1965{c}",
    "{c}Jahrgang 195{c}", "Jg.{c}1958", "KVNR:{c}A12345678{c}", "Versichertennummer{c}B 1234567{c} 9",
    "{c}00:1A:2B:3C:4D:5{c}{c}", "00-1a{c}2b-3c-4d-5e", "Passwort:{c}Sommer2024!{c}",
    "PIN{c}\"47{c}1\"", "Kennwort lautet{c}x7Yq", "Moritz Graf{c}von Sch{c}nborn{c}",
    "Freiherr zu{c}Guttenberg", "Moin{c}Hauke{c},",
    "wohnt im{c}Wiesengrund 3{c}", "DOB:{c}03/25/1985{c}", "Best,{c}Lisa{c}", "Thanks,{c}Raj",
    "lebt jetzt am M{c}hlbach 7a", "Z{c}hlernummer{c}1ESY116051234{c}", "MaLo-ID:{c}5123869678{c}",
    "Eheleute{c}Hans und{c}Grete Zimmermann{c}", "Familie Jan u.{c}Eva Berg", "{c}@jschulz{c}",
    "cc{c}@Sabine.Ro{c}h", "anna{c}@example.com", "mfg{c}Tobias", "Lieber{c}Jan{c}Berg,",
    "Ansprechpartner{c}in: Alex Winter",
    "Bearbeiter:{c}n: Weber", "Herr Dipl.-Kfm.{c}(FH) Michael Braun", "regards{c}Dipl.-Ing. Katrin",
    "Herrn Dr.{c}h.c. Engelhardt", "herr{c}m{c}ller{c}", "fr.{c}dr. schmidt-{c}eber",
    "Frau N{c}uyen Thi Lan{c}", "{c}John{c}Smith",
    "Von:{c}Kowalski, Jan{c}", "An: Lindqvist,{c}Ragnhild\r{c}", "verh.{c}Hoffmann",
    "c/o{c}Schneider", "z.{c}Hd. Kruse", "VG,{c}Mareike", "LG{c}Kalle",
    "Teilnehmer: Schmidt,{c}Wagner und{c}Becker{c}", "Ursula von{c}der Leyen{c}",
    "Sabine{c}von Hohenberg", "Berg,{c}* 12.03.1970{c}", "({c}* 3. März 1962)", "namens{c}Gruber",
    "h.c.{c}mult. Sabine",
    '{{"lastName":{c}"Berg{c}x"}}', '"first_name"{c}:"anna"', "Nachname{c}Kessler",
    "Assistent{c}Kenji Watanabe", "{c}756.1234.5678.97{c}", "756.1234{c}5678.97",
    "SVNR{c}1237 010180{c}", "Steuer-ID:{c}12 345 678 901{c}", "IdNr.{c}12 345{c}678 901",
    "Postnummer{c}12345678{c}", "Post-Nr.{c}1234{c}567",
    "Frau Dr.{c}eier{c}", "Frau{c}Dr.Meier", "Mein Name ist{c}Lindqvist{c}",
    "hier{c}spricht Ragnhild Pfeiffer", "Ich hei{c}e Radomir",
]
#: every character up to Latin Extended-B, general punctuation, the euro sign, and a sample of
#: the rest: other scripts' letters and digits, marks, joiners, connector punctuation, folding
CHARACTERS = [chr(i) for i in [*range(0x250), *range(0x2000, 0x2070), 0x20AC, 0x212A, 0x2160,
                               0x0300, 0x0301, 0x0660, 0x0966, 0xFF10, 0x0391, 0x03C3, 0x0430,
                               0x05D0, 0x0627, 0x4E2D, 0x1E9E, 0xFB01, 0x1D7CE, 0x10400]]


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return require_native_core()


def scrubbed(engine: MaskingEngine | NativeEngine, text: str) -> object:
    """The ``notes`` column of the edge table's first (flat) view, masked by one engine."""
    value = edge_bytes(notes=text)
    if isinstance(engine, MaskingEngine):
        return engine.process(EDGE_TOPIC, {"id": 7}, orjson.loads(value)).records[0].value["notes"]
    got = engine.process(EDGE_TOPIC, orjson.dumps({"id": 7}), value)
    assert got is not None, "the core left the whole event to Python"
    return orjson.loads(got[1][0][2])["notes"]


def test_every_character_around_and_inside_candidates_scrubs_alike(
        edge_rules: Path, core: ModuleType) -> None:
    engine, fast = _edge_engines(edge_rules, core)
    found = 0
    for c in CHARACTERS:
        for template in TEMPLATES:
            text = template.format(c=c)
            python = scrubbed(engine, text)
            assert scrubbed(fast, text) == python, (hex(ord(c)), template)
            found += "[" in str(python)
    assert found > len(CHARACTERS) * 4  # the templates do hold findings


@pytest.fixture
def scrub_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts that reach the Python scrub action, from engines built after this fixture."""
    from processor.actions.scrub import Scrub

    calls: list[str] = []
    apply = Scrub.apply
    monkeypatch.setattr(Scrub, "apply", lambda self, value: calls.append(value) or apply(self,
                                                                                         value))
    return calls


def test_german_text_is_scrubbed_in_the_core(edge_rules: Path, core: ModuleType,
                                             scrub_calls: list[str]) -> None:
    """Umlauts, ß, € and typographic dashes keep the text in the core: only the detectors'
    ``confirm`` is called, never the Python scrub action."""
    calls = scrub_calls
    engine, fast = engines(edge_rules, core)
    text = "Rückruf unter 0151 87107090 – Überweisung 12 € an DE89 3704 0044 0532 0130 00, Grüße"
    expected = "Rückruf unter [PHONE] – Überweisung 12 € an [IBAN], Grüße"
    assert scrubbed(engine, text) == expected
    calls.clear()
    assert scrubbed(fast, text) == expected
    assert calls == []  # the core scrubbed it; only the detectors' confirm ran in Python
    # the Turkish ı and İ too: Python's case-blind [A-Z] takes them, the core reads them as ſ
    turkish = "Herr Yılmaz, yılmaz69@posteo.de, İD89 3704 0044 0532 0130 00, ıban 0151 87107090"
    python = scrubbed(engine, turkish)
    assert python == "Herr [NAME], [EMAIL], İD89 3704 0044 0532 0130 00, ıban [PHONE]"
    calls.clear()
    assert scrubbed(fast, turkish) == python
    assert calls == []
    greek = "Ρ 0151 87107090"
    assert scrubbed(fast, greek) == "Ρ [PHONE]"
    assert greek in calls  # a character outside the admitted ones: the Python action decides


SCRUB_TEXT = st.lists(st.one_of(
    st.sampled_from(["0151 8710709", "+49 30 1234567", "DE89 3704 0044 0532 0130 00",
                     "DE89370400440532013000", "4111 1111 1111 1111", "12 345 678 901",
                     "max@example.de", "a.b@c-d.co.uk", "01.02.2024", "@", "(0)", "00", "+", " ",
                     "-", "/", ".",
                     "Rückruf", "ß", "é", "ı", "İ", "\u00a0", "€", "\u2013"]),
    st.text(alphabet=st.sampled_from("0123456789 +-/().@_aADEZzäÜßéıİ\u00a0€\u2013"),
            max_size=12),
    st.text(max_size=6),
), max_size=8).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=SCRUB_TEXT)
def test_any_text_scrubs_alike(edge_rules: Path, core: ModuleType,
                               text: str) -> None:
    engine, fast = _edge_engines(edge_rules, core)
    assert scrubbed(fast, text) == scrubbed(engine, text)


def matches(pattern: re.Pattern[str]) -> st.SearchStrategy[str]:
    """Strings that ``pattern`` matches whole. A number detector's boundaries are ASCII
    (``NUMBER_EDGE``): Hypothesis would draw non-ASCII digits, which those never match at the
    ends, and reject them (26 s for the card's 200 examples); it draws ASCII for these."""
    if NUMBER_EDGE in pattern.pattern:
        return st.from_regex(pattern, fullmatch=True, alphabet=st.characters(max_codepoint=0x7F))
    return st.from_regex(pattern, fullmatch=True)


@pytest.mark.parametrize("kind", [k for k in recognizer_kinds() if recognizer(k).by_pattern])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_match_has_what_the_core_may_skip_text_without(kind: str, data: st.DataObject
                                                              ) -> None:
    """The core skips a detector on text with fewer digits than ``min_digits`` or without its
    ``required`` substring: every string the pattern matches must have both."""
    found = recognizer(kind)
    match = data.draw(matches(found.pattern))
    assert len(re.findall(r"\d", match)) >= found.min_digits
    assert found.required is None or found.required in match


@pytest.mark.parametrize("kind", [k for k in recognizer_kinds()
                                  if recognizer(k).whole and recognizer(k).by_pattern])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_whole_match_detector_confirms_the_whole_match_or_nothing(
        kind: str, data: st.DataObject) -> None:
    """The core asks a `whole` detector only about candidates that no earlier finding
    covers, which is exact only if its answer is the whole match or nothing."""
    found = recognizer(kind)
    match = data.draw(matches(found.pattern))
    assert found.confirm(match) in (None, (0, len(match)))


@pytest.mark.parametrize("pattern", [re.compile(r"(?<=Tel\. )\d[\d ]{5,}\d"),  # no lookbehind
                                     re.compile(r"\d[\d ]{5,}\d", re.ASCII)])  # nor re.ASCII
def test_a_pattern_the_core_cannot_mirror_leaves_scrub_to_python(
        edge_rules: Path, core: ModuleType, monkeypatch: pytest.MonkeyPatch,
        scrub_calls: list[str], pattern: re.Pattern[str]) -> None:
    from processor.pii.recognizers import PhoneRecognizer

    monkeypatch.setattr(PhoneRecognizer, "pattern", pattern)
    monkeypatch.setattr(PhoneRecognizer, "confirm", lambda self, candidate: (0, len(candidate)))
    monkeypatch.setattr(recognizer("phone"), "_confirmed", {})  # answers of the real confirm
    engine, fast = engines(edge_rules, core)
    text = "Tel. 030 1234567"
    assert scrubbed(fast, text) == scrubbed(engine, text) == "Tel. [PHONE]"
    assert scrub_calls.count(text) > 1  # the native engine asked the Python action too


@pytest.fixture
def cold_validators() -> Iterator[None]:
    """Python's cache of the detectors' answers, empty before and after the test (which
    changes a detector's answers)."""
    forget_confirmed()
    yield
    forget_confirmed()


@pytest.mark.usefixtures("cold_validators")
def test_the_core_asks_only_about_candidates_no_finding_covers(
        edge_rules: Path, core: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The digits of an IBAN look like a card number, and a run of them like a phone number:
    the core does not ask phonenumbers or Luhn about what the IBAN already covers (each such
    call costs 10–40 µs), and scrubs the same."""
    from processor.pii.recognizers import CardRecognizer, PhoneRecognizer

    asked: list[str] = []
    for cls in (CardRecognizer, PhoneRecognizer):
        confirm = cls.confirm
        monkeypatch.setattr(cls, "confirm", lambda self, candidate, confirm=confirm:
                            asked.append(candidate) or confirm(self, candidate))
    engine, fast = engines(edge_rules, core)
    text = "Lastschrift von DE41 0697 8426 5081 0948 18, Rückruf 0170 22736172"
    expected = "Lastschrift von [IBAN], Rückruf [PHONE]"
    assert scrubbed(engine, text) == expected
    assert "0697 8426 5081 0948 18" in asked  # Python asks about every candidate
    asked.clear()
    assert scrubbed(fast, text) == expected
    assert asked == ["0170 22736172"]


@pytest.mark.usefixtures("cold_validators")
def test_a_narrower_answer_from_a_whole_match_detector_leaves_the_text_to_python(
        edge_rules: Path, core: ModuleType, monkeypatch: pytest.MonkeyPatch,
        scrub_calls: list[str]) -> None:
    from processor.pii.recognizers import PhoneRecognizer

    monkeypatch.setattr(PhoneRecognizer, "confirm", lambda self, candidate: (1, len(candidate)))
    engine, fast = engines(edge_rules, core)
    text = "Rückruf 0170 22736172"
    assert scrubbed(fast, text) == scrubbed(engine, text) == "Rückruf 0[PHONE]"
    assert text in scrub_calls  # the core did not guess: the Python action scrubbed it
