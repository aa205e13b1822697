"""`crm-masker validate`: the shipped rules pass; each kind of mistake gets its file:line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from processor.cli import main
from processor.rules import load_validated, validate

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"
CRM_MODEL = REPO / "docs" / "crm-model.md"  # the reference CRM, kept in the repository


def test_shipped_rules_are_valid() -> None:
    result = CliRunner().invoke(main, ["validate", str(RULES)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def _model_columns() -> dict[str, set[str]]:
    """Tables and columns from the reference model's table in docs/crm-model.md."""
    columns: dict[str, set[str]] = {}
    for line in CRM_MODEL.read_text().splitlines():
        m = re.match(r"\| `(\w+)` \| (.+?) \|", line)
        if not m:
            continue
        text = re.sub(r"\([^)]*\)", "", m.group(2))  # drop "(bigint PK)" etc.
        columns[m.group(1)] = {c.strip() for c in text.split(",") if c.strip()}
    return columns


def test_every_column_of_the_reference_model_has_a_rule() -> None:
    from processor.generator.model import TABLES

    rules = load_validated(RULES).rules
    assert set(TABLES) == set(rules.tables)
    for table, cols in TABLES.items():
        assert set(cols) == set(rules.tables[table].fields), table


def test_the_generators_model_is_the_reference_model() -> None:
    from processor.generator.model import TABLES

    assert {t: set(c) for t, c in TABLES.items()} == _model_columns()


def test_special_category_never_reaches_a_view_and_join_keys_share_domains() -> None:
    rules = load_validated(RULES).rules
    assert rules.tables["contacts"].fields["health_notes"].action == "drop"
    for view in rules.views.values():
        assert "contacts.health_notes" not in view.overrides
    fields = {t: rules.tables[t].fields for t in rules.tables}
    domain = lambda t, f: fields[t][f].params["domain"]  # noqa: E731
    assert domain("contacts", "id") == domain("contracts", "contact_id") \
        == domain("activities", "contact_id") == "contact"
    assert domain("accounts", "id") == domain("contacts", "account_id") \
        == domain("contracts", "account_id")
    assert domain("users", "id") == domain("audit_log", "user_id") \
        == domain("activities", "user_id") == domain("contacts", "owner_user_id")


# case: (text in contacts.yaml, replacement, expected message, text on the reported line)
BROKEN = {
    "unknown action": ("first_name:         {class: personal,   action: drop, entity: name}",
                       "first_name:         {class: personal,   action: pseudonymise}",
                       r"error: .*unknown action 'pseudonymise'.*did you mean 'pseudonymize'",
                       "first_name:"),
    "bad parameter": ("action: mask, keep_last: 2}", "action: mask, keep_lats: 2}",
                      r"error: .*keep_lats.*Extra inputs", "phone:"),
    "missing legal basis": ("    legal_basis: contract              # Art. 6(1)(b)\n", "",
                            r"error: .*missing required key 'legal_basis'.*Art\. 6", "contacts:"),
    "special published": ("health_notes:       {class: special,    action: drop, ",
                          "health_notes:       {class: special,    action: scrub, ",
                          r"error: .*special-category.*'scrub'", "health_notes:"),
    "unknown domain": ("domain: tax_id,", "domain: steuer,",
                       r"error: .*unknown pseudonym domain 'steuer'", "tax_id:"),
    "bad retention": ("retention: P10Y                    # HGB", "retention: ten years  # HGB",
                      r"error: .*ISO-8601", "retention:"),
    "key not deterministic": (
        "id:                 {class: identifier, action: pseudonymize, domain: contact}",
        "id:                 {class: identifier, action: drop}",
        r"error: .*key column 'id' needs a deterministic", "id:"),
    "condition on unknown field": ("when: {field: consent_marketing,", "when: {field: consent,",
                                   r"error: .*condition names 'consent'", "when:"),
    "unknown class": ("segment:            {class: business,", "segment:            {class: biz,",
                      r"error: .*class.*(identifier|business)", "segment:"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_invalid_rule_reports_file_and_line(case: str, tmp_path: Path) -> None:
    old, new, pattern, on_line = BROKEN[case]
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    contacts = rules / "tables" / "contacts.yaml"
    text = contacts.read_text()
    assert old in text, f"test fixture out of date: {old!r}"
    contacts.write_text(text.replace(old, new))

    result = CliRunner().invoke(main, ["validate", str(rules)])
    assert result.exit_code == 1
    assert re.search(r"contacts\.yaml:\d+: " + pattern, result.output), result.output
    line = int(re.search(r"contacts\.yaml:(\d+):", result.output).group(1))
    assert on_line in contacts.read_text().splitlines()[line - 1], result.output


def test_line_numbers_point_at_the_offending_key(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text((RULES / "ruleset.yaml").read_text())
    table = tmp_path / "t.yaml"
    table.write_text(
        "tables:\n"
        "  t:\n"
        "    topic: crm.public.t\n"
        "    legal_basis: contract\n"
        "    purposes: [analytics]\n"
        "    retention: P1Y\n"
        "    fields:\n"
        "      id: {class: identifier, action: keep}\n"
        "      name: {class: personal, action: shuffle}\n"
    )
    _, problems = validate(tmp_path)
    mine = [p for p in problems if p.file.endswith("t.yaml")]
    assert any(p.line == 9 and "unknown action 'shuffle'" in p.message for p in mine), problems


def test_personal_field_in_clear_is_a_warning_and_strict_fails(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    contacts = rules / "tables" / "contacts.yaml"
    contacts.write_text(contacts.read_text().replace(
        "first_name:         {class: personal,   action: drop, entity: name}",
        "first_name:         {class: personal,   action: keep}"))
    ok = CliRunner().invoke(main, ["validate", str(rules)])
    assert ok.exit_code == 0 and "warning" in ok.output and "in clear" in ok.output
    strict = CliRunner().invoke(main, ["validate", "--strict", str(rules)])
    assert strict.exit_code == 1


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("version: 1\ntables:\n  a: [unclosed\n")
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert re.search(r"bad\.yaml:[34]: error: .*YAML syntax", result.output), result.output


def test_two_files_defining_one_table_clash(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    shutil.copy(rules / "tables" / "users.yaml", rules / "tables" / "users_again.yaml")
    result = CliRunner().invoke(main, ["validate", str(rules)])
    assert result.exit_code == 1
    assert "defined twice" in result.output


@pytest.mark.parametrize(("old", "new", "pattern"), [
    ("type: volume_threshold\n      severity: high", "type: volume_treshold\n      severity: high",
     r"anomaly\.yaml:\d+: error: .*unknown detector 'volume_treshold'.*did you mean"),
    ("threshold: 2000", "threshold: -5", r"anomaly\.yaml:\d+: error: .*threshold.*greater than 0"),
    ("timezone: Europe/Berlin", "timezone: Europe/Atlantis",
     r"anomaly\.yaml:\d+: error: .*unknown time zone"),
    ("count: record_count", "count: records", r"anomaly\.yaml:\d+: error: .*no column 'records'"),
    ("    table: audit_log", "    table: auditlog", r"anomaly\.yaml:\d+: error: .*unknown table"),
])
def test_anomaly_section_is_validated(old: str, new: str, pattern: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    anomaly = rules / "anomaly.yaml"
    assert old in anomaly.read_text()
    anomaly.write_text(anomaly.read_text().replace(old, new, 1))
    result = CliRunner().invoke(main, ["validate", str(rules)])
    assert result.exit_code == 1
    assert re.search(pattern, result.output), result.output


@pytest.mark.parametrize(("tables", "expected"), [
    ("[]", set()), ("[contacts]", {"bi.sales.contacts"}),
    ("[contacts, accounts, contracts]",
     {"bi.sales.contacts", "bi.sales.accounts", "bi.sales.contracts"})])
def test_a_view_gets_topics_for_exactly_the_tables_it_publishes(
        tables: str, expected: set[str], tmp_path: Path) -> None:
    """`tables: []` publishes nothing (as the compiler has it): no topics to create or check."""
    from processor.pipeline.topics import desired_topics

    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    ruleset = rules / "ruleset.yaml"
    text = ruleset.read_text()
    assert "    tables: [contacts, accounts, contracts]\n" in text
    ruleset.write_text(text.replace("    tables: [contacts, accounts, contracts]\n",
                                    f"    tables: {tables}\n"))
    validated, problems = validate(rules)
    assert validated is not None, problems
    names = {t.name for t in desired_topics(validated.rules, 1)}
    assert {n for n in names if n.startswith("bi.sales.")} == expected
    assert "bi.analytics.contacts" in names  # the other view is untouched


def test_topics_creates_exactly_the_topics_the_processor_writes() -> None:
    """`topics` and the processor's start-up check and ACLs read one list (RuleTopics): the
    topics to create are the processor's outputs, no more and no fewer, with or without
    anomaly detection."""
    from processor.pipeline.topics import desired_topics
    from processor.rules.topics import RuleTopics

    validated, problems = validate(RULES)
    assert validated is not None, problems
    rules = validated.rules
    assert rules.anomaly is not None and rules.kpis
    created = {t.name for t in desired_topics(rules, 3)}
    assert created == set(RuleTopics.of(rules).outputs)
    assert rules.alert_topic in created and rules.anomaly.by_actor_topic in created
    plain = rules.model_copy(update={"anomaly": None})
    created = {t.name for t in desired_topics(plain, 3)}
    assert created == set(RuleTopics.of(plain).outputs)
    assert rules.alert_topic not in created and rules.anomaly.by_actor_topic not in created
