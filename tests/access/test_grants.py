"""The least-privilege ACLs that the rules imply, and drift, without a broker."""

from __future__ import annotations

import shutil
from pathlib import Path

from processor.access.grants import Grant, desired_grants, drift
from processor.rules import load_validated, validate
from tests.helpers import RULES

RULESET = load_validated(RULES).rules


def grants_of(principal: str) -> list[Grant]:
    return [g for g in desired_grants(RULESET) if g.principal == principal]


def test_a_view_reader_reads_exactly_its_view() -> None:
    bi = grants_of("User:bi_analyst")
    topics = {g.name for g in bi if g.resource == "topic"}
    kpis = {"bi.kpi.activities_per_day", "bi.kpi.contacts_by_segment",
            "bi.kpi.contracts_by_product"}  # the released KPIs that name the BI team
    assert topics == {f"bi.analytics.{t}" for t in ("accounts", "activities", "contacts",
                                                    "contracts", "users")} | kpis
    assert {g.operation for g in bi if g.resource == "topic"} == {"read", "describe"}
    assert sorted((g.name, g.pattern) for g in bi if g.resource == "group") == \
        [("bi.analytics.", "prefixed"), *sorted((f"{k}.", "prefixed") for k in kpis)]
    sales = {g.name for g in grants_of("User:sales") if g.resource == "topic"}
    assert sales == {"bi.sales.accounts", "bi.sales.contacts", "bi.sales.contracts",
                     "bi.kpi.contracts_by_product"}


def test_nobody_but_the_processor_reads_the_raw_topics() -> None:
    raw = [g for g in desired_grants(RULESET) if g.resource == "topic"
           and g.name.startswith("crm.public.")]
    assert {g.principal for g in raw if g.operation == "read"} == {"User:crm-masker"}
    assert {g.principal for g in raw if g.operation == "write"} == {"User:debezium"}
    alerts = [g for g in desired_grants(RULESET) if g.name == "crm.alerts"]
    assert {g.principal for g in alerts if g.operation == "read"} == {"User:security"}
    audit = [g for g in desired_grants(RULESET) if g.name == "crm.audit.proc"]
    assert {g.principal for g in audit if g.operation == "read"} == \
        {"User:auditor", "User:crm-masker"}


def test_only_the_processor_and_the_key_custodians_reach_the_data_keys() -> None:
    keys = [g for g in desired_grants(RULESET) if g.name == "crm.keys.subjects"]
    assert {g.principal for g in keys if g.operation == "read"} == \
        {"User:crm-masker", "User:security"}
    assert {g.principal for g in keys if g.operation == "write"} == \
        {"User:crm-masker", "User:security"}
    assert drift(RULESET, desired_grants(RULESET)).clean


def test_the_processor_may_write_every_output_under_its_transactional_ids() -> None:
    mine = grants_of("User:crm-masker")
    written = {g.name for g in mine if g.operation == "write" and g.resource == "topic"}
    views = {v.topic.format(table=t) for v in RULESET.views.values() for t in RULESET.tables
             if v.publishes(t)}
    internal = "crm.internal.access-by-actor"
    kpis = {kpi.topic for kpi in RULESET.kpis.values()}
    assert written == views | kpis | {"crm.dlq", "crm.alerts", "crm.audit.proc",
                                      "crm.keys.subjects", internal, "crm.internal.kpi-facts"}
    # the by-actor topic names employees in clear, the facts single subjects: the processor
    # alone reads and writes them
    for topic in (internal, "crm.internal.kpi-facts"):
        assert {g.principal for g in desired_grants(RULESET) if g.name == topic} == \
            {"User:crm-masker"}
    assert Grant("User:crm-masker", "transactional_id", "crm-masker", "prefixed", "write") in mine
    assert Grant("User:crm-masker", "group", "crm-masker", "literal", "read") in mine
    assert not any(g.operation in ("all", "create", "alter", "delete") for g in mine)


def test_drift_finds_grants_beyond_the_rules_and_ignores_other_resources() -> None:
    wanted = desired_grants(RULESET)
    hand_made = [Grant("User:bi_analyst", "topic", "crm.public.contacts", "literal", "read"),
                 Grant("User:sales", "topic", "bi.analytics.", "prefixed", "read"),
                 Grant("User:anyone", "topic", "*", "literal", "read"),
                 Grant("User:bi_analyst", "topic", "bi.analytics.contacts", "literal", "all")]
    unrelated = [Grant("User:connect", "topic", "_connect-configs", "literal", "write"),
                 Grant("User:connect", "group", "crm-connect", "literal", "read")]
    found = drift(RULESET, [*wanted[1:], *hand_made, *unrelated])
    assert found.missing == [wanted[0]]
    assert found.extra == sorted(hand_made)
    assert found.unrelated == 2
    assert drift(RULESET, wanted).clean


def test_every_reader_needs_a_principal(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    access = rules / "access.yaml"
    access.write_text(access.read_text().replace("    sales: User:sales\n", "")
                      .replace("bi_analyst: User:bi_analyst", "bi_analyst: User:crm-masker"))
    validated, problems = validate(rules)
    assert validated is None
    said = {p.message for p in problems}
    assert "reader 'sales' has no principal under access.principals" in said
    assert "'bi_analyst' is the processor's principal 'User:crm-masker'" in said
    access.write_text("access: {processor: crm-masker}\n")
    validated, problems = validate(rules)
    assert validated is None and any("access.processor" in p.path for p in problems)
