"""The Art. 30 record as a data-protection officer reads it: every point of Art. 30(1)(a)–(g)
named, one section per processing activity, a date and the rule set's version and hash, the
German version in German, and findings where the rules leave a point open."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from processor.cli import main
from processor.rules import load_validated, validate

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"

#: English words that are not also German words: none may appear in the German record outside
#: code spans (identifiers of the rules) and proper names
_WORDS = """
the and of to for with from by is are be been this that which or not none true false if
otherwise only all each every into out on at after before their its it they them who what
where when why how can cannot may must should would could has have had does there these those
than then some any yes own first last same other more most less such because while until
between through under over above below without within about against among customer customers
prospect prospects contract contracts analytics reporting security monitoring employee employees
contractor contractors published unchanged removed replaced masked truncated generalised
generalized pseudonymised pseudonymized scrubbed characters character year years month months
day days hour hours key keys view views field fields table tables recipient recipients purpose
purposes legal basis retention relationship processing record records activity activities
controller officer protection data personal business technical free text identifiers special
categories category interest interests legitimate consent obligation transfer transfers third
country countries measures measure organisational encryption access audit trail sales
operations planning territory digits postcode history calls meetings notes companies company
trader traders accounts account staff events event input detection anomaly products fees needed
attribute inactive shared share thousands flag band honour already coarse warning note source
description readers reader class justification findings finding annex inventory flow addresses
address phone numbers number names salutation title kinship word written obfuscated payment card
tax identification people holds misspelt street identifying context mayor wife best effort
measured deletion marker delete compacted forget kept keep apart never equal join joins
remain recital minimisation default allow allows alert alerts raises left rule rules enforces
generated drift representative joint stated processor processors agreement provider operation
platform quality improving statistics unauthorised exports mass integrity accountability batch
exactly once transaction chained previous rows checked values look like effectiveness testing
unusual volumes patterns goes counted until end shown set
"""
ENGLISH = set(_WORDS.split())


def report(rules: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["report", "--rules", str(rules), "--date", "2026-12-06",
                                       *args])
    assert result.exit_code == 0, result.output
    return result.output


class _Text(HTMLParser):
    """The text of an HTML page without its <code> spans (identifiers) and <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._skip += tag in ("code", "style", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("code", "style", "title")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def english_words(text: str, proper_names: list[str]) -> set[str]:
    """The English words of a text, leaving out code spans, proper names, e-mail addresses,
    paths and identifiers (anything with a dot, slash or underscore in it)."""
    text = re.sub(r"`[^`]*`", " ", text)
    for name in proper_names:
        text = text.replace(name, " ")
    chunks = [c for c in text.split() if not re.search(r"[._/@]", c.strip(".,;:()"))]
    words = re.findall(r"[A-Za-zÄÖÜäöüß]+", " ".join(chunks))
    return {w for w in words if w.lower() in ENGLISH}


def proper_names() -> list[str]:
    rules = load_validated(RULES).rules
    return ["crm-masker", rules.controller.name, rules.controller.address,
            rules.controller.dpo, *(p.name for p in rules.record.processors)]


def test_the_german_record_has_no_english_word() -> None:
    markdown = report(RULES, "--lang", "de")
    assert english_words(markdown, proper_names()) == set()
    page = _Text()
    page.feed(report(RULES, "--lang", "de", "--format", "html"))
    assert english_words(" ".join(page.parts), proper_names()) == set()


def test_the_word_check_finds_english_where_it_is() -> None:
    """The check is not vacuous: the English record, and one English text, are found."""
    assert len(english_words(report(RULES), proper_names())) > 50
    assert english_words("Zweck: customers data `contacts.email`", []) == {"customers", "data"}


@pytest.mark.parametrize(("lang", "point"), [
    ("en", "Art. 30(1)({})"), ("de", "Art. 30 Abs. 1 lit. {}")])
def test_every_point_of_art_30_1_is_named(lang: str, point: str) -> None:
    text = report(RULES, "--lang", lang)
    for letter in "abcdefg":
        assert point.format(letter) in text, letter
    activities = re.findall(r"^## .*", text, re.M)
    # one section per processing activity (purpose), each with points (b) to (g)
    purposes = {p for t in load_validated(RULES).rules.tables.values() for p in t.purposes}
    assert sum(f"(`{p}`)" in h for h in activities for p in purposes) == len(purposes)
    assert text.count(point.format("b")) == len(purposes)
    assert text.count(point.format("g")) == len(purposes)


def test_the_record_is_dated_and_names_the_rule_set() -> None:
    validated = load_validated(RULES)
    german, english = report(RULES, "--lang", "de"), report(RULES)
    assert f"Stand: 06.12.2026. Regelwerk {validated.version} (sha256 " \
           f"{validated.sha256[:16]})" in german
    assert f"As of 2026-12-06. Rule set {validated.version}" in english


def test_what_a_dpo_asks_for_is_in_the_reference_record() -> None:
    german = report(RULES, "--lang", "de")
    assert "verfolgtes berechtigtes Interesse: Sicherheit der Verarbeitung" in german
    assert "gelesen aufgrund von ausdrücklicher Einwilligung (Art. 9 Abs. 2 lit. a DSGVO)" in german
    assert "| Beispiel Cloud GmbH | Betrieb des Kafka-Clusters" in german
    assert re.search(r"lit\. e DSGVO\):\*\*\n\n- keine\n", german)  # transfers: none, said
    assert "`contacts`: 10 Jahre, gerechnet ab dem Ende der Kundenbeziehung" in german
    assert "Live-Dashboards des BI-Teams" in german  # the views' descriptions are shown
    assert "Verschlüsselung bei der Übertragung" in german  # the controller's own measures
    assert "Pseudonymisierung (Art. 32 Abs. 1 lit. a DSGVO)" in german  # and crm-masker's
    assert "## Befunde" in german and "Warnung" not in german


BARE_RULES = """
version: "1"
pseudonym_key_id: k1
domains: [person]
views:
  bi: {topic: "bi.{table}", readers: [analysts], purposes: [marketing], tables: [people]}
tables:
  mailings:
    topic: crm.public.mailings
    legal_basis: consent
    purposes: [marketing]
    retention: P1Y
    fields:
      id: {class: identifier, action: pseudonymize, domain: person}
  people:
    topic: crm.public.people
    description: People we know.
    data_subjects: [customers]
    legal_basis: legitimate_interests
    purposes: [analytics]
    retention: P1Y
    fields:
      id:     {class: identifier, action: pseudonymize, domain: person}
      health: {class: special, action: drop}
      plan:   {class: business, action: keep, art9_exception: explicit_consent}
"""


def test_what_the_rules_leave_open_is_a_finding_and_a_warning(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(BARE_RULES)
    validated, problems = validate(tmp_path)
    assert validated is not None  # all of it is a warning: the processor may still run
    said = " ".join(p.message for p in problems)
    assert "without the interest pursued" in said
    assert "without an exception of Art. 9(2)" in said
    assert "art9_exception on a business field" in said
    assert "publishes 'people' for none of the table's purposes" in said  # purpose limitation
    assert {p.severity for p in problems} == {"warning"}
    german = report(tmp_path, "--lang", "de")
    for finding in ("Übermittlungen in Drittländer sind nicht angegeben",
                    "ohne das verfolgte berechtigte Interesse (legitimate_interest)",
                    "ohne angegebene Ausnahme nach Art. 9 Abs. 2 DSGVO (art9_exception)",
                    "Löschfrist ohne das Ereignis, ab dem sie läuft",
                    "Texte ohne deutsche Fassung (wie geschrieben wiedergegeben): "
                    "tables.people.description",
                    "Kennungen ohne Bezeichnung für das Verzeichnis"):
        assert finding in german, finding
    assert "im Regelwerk nicht angegeben (record.third_country_transfers)" in german
    # an identifier without a name stays an identifier, never a made-up word
    assert "## Verarbeitungstätigkeit 2: `analytics`" in german


def test_the_committed_example_is_what_the_rules_give() -> None:
    for lang in ("de", "en"):
        committed = (REPO / "docs" / f"record-of-processing.{lang}.md").read_text()
        assert committed == report(RULES, "--lang", lang), \
            f"docs/record-of-processing.{lang}.md is stale: run make record"


def test_a_record_text_in_a_third_language_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    record = rules / "record.yaml"
    record.write_text(record.read_text().replace("name: {en: Customer service,",
                                                 "name: {fr: Service client,"))
    validated, problems = validate(rules)
    assert validated is None
    assert any(p.path == "record.purposes.customer_service.name.fr.[key]"
               and "should be 'en' or 'de'" in p.message for p in problems), problems


def test_the_record_lists_the_released_kpis_their_k_and_the_warehouse() -> None:
    """Art. 30(1)(d): who receives what. The KPIs are recipients of their own (numbers, no
    rows), with the smallest group they release; the warehouse receives the sales view."""
    text = report(RULES, "--lang", "en")
    activity = text.split("Business analytics", 1)[1]
    assert "released KPI contracts_by_product (cells of at least 5 data subjects" in activity
    assert "`bi.kpi.contracts_by_product`" in activity
    assert "BI warehouse (internal; a PostgreSQL database of its own" in text
    assert "`crm.internal.kpi-facts`" in text.split("Technical and organisational", 1)[1]
    german = report(RULES, "--lang", "de")
    assert "freigegebene Kennzahl activities_per_day (Zellen aus mindestens 5" in german
