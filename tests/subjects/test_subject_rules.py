"""The rules' data subjects: validated, and what encrypt needs from them (and the KEK)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from processor.errors import KeyFileError
from processor.masking.compiler import compile_rules
from processor.rules import load_validated
from processor.rules.encrypted import encrypted_fields
from tests.helpers import RULES, demo_keys
from tests.rules.test_validate import validate


def rules_with(tmp_path: Path, table: str, old: str, new: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / "tables" / f"{table}.yaml" if table != "ruleset" else rules / "ruleset.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return rules


def test_the_reference_rules_name_each_tables_subject_and_encrypt_the_sales_phone() -> None:
    rules = load_validated(RULES).rules
    assert {name: (t.subject, t.subject_domain) for name, t in rules.tables.items()} == {
        "contacts": ("id", "contact"), "contracts": ("contact_id", "contact"),
        "activities": ("contact_id", "contact"), "users": ("id", "user"),
        "audit_log": ("user_id", "user"), "accounts": (None, None)}
    assert encrypted_fields(rules) == [("contacts", "phone", "contact")]
    assert [t for t in rules.tables.values() if t.home_of_subject] == \
        [rules.tables["contacts"], rules.tables["users"]]


@pytest.mark.parametrize(("table", "old", "new", "message"), [
    ("contracts", "subject: contact_id", "subject: contakt_id",
     "subject column 'contakt_id' has no rule"),
    ("contracts", "subject: contact_id", "subject: status",
     "subject column 'status' must be pseudonymised with a domain, not 'keep'"),
    ("contacts", "subject: id  ", "",
     "encrypt keys values per data subject, and contacts names none"),
    ("ruleset", "contacts.phone: {action: encrypt, domain: phone}",
     "contacts.id: {action: encrypt, domain: phone}",
     "the subject column cannot be encrypted"),
    # a contact's contracts lie in several partitions: two workers could each make its key
    ("ruleset", "contacts.phone: {action: encrypt, domain: phone}",
     "contracts.iban: {action: encrypt, domain: iban}",
     "encrypt makes one key per data subject, and contracts's rows of one subject lie in "
     "several partitions (its key is id, its subject contact_id): two workers could each make "
     "the subject's key, and the key topic would keep only one of them"),
])
def test_a_wrong_subject_is_one_clear_problem(tmp_path: Path, table: str, old: str, new: str,
                                              message: str) -> None:
    validated, problems = validate(rules_with(tmp_path, table, old, new))
    assert validated is None
    assert message in {p.message for p in problems}, [p.message for p in problems]


def test_a_subject_kinds_keys_are_made_in_one_table(tmp_path: Path) -> None:
    """Two tables keyed by their subject, both of one kind, both encrypting: their partitions
    are read by different workers, which could each make one subject's key."""
    rules = rules_with(tmp_path, "contacts", "  contacts:\n", "  contacts:\n")
    contacts = (rules / "tables" / "contacts.yaml").read_text()
    leads = contacts.replace("  contacts:\n    topic: crm.public.contacts",
                             "  leads:\n    topic: crm.public.leads")
    leads = leads.replace("phone:              {class: personal,   action: mask, keep_last: 2}",
                          "phone:              {class: personal,   action: encrypt, domain: phone}")
    assert "leads:" in leads and "action: encrypt" in leads
    (rules / "tables" / "leads.yaml").write_text(leads)
    validated, problems = validate(rules)
    assert validated is None
    assert ("encrypt keys contact subjects in contacts already: two workers (one reading "
            "contacts, one leads) could each make a subject's key, and the key topic would keep "
            "only one of them") in {p.message for p in problems}, [p.message for p in problems]


def test_rules_that_encrypt_need_the_kek_to_run(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"the rules encrypt contacts\.phone: pass the KEK "
                                           r"file \(--kek-file or CRM_MASKER_KEK_FILE\)"):
        compile_rules(load_validated(RULES), demo_keys())
    compile_rules(load_validated(RULES), None)  # describing (validate, report) needs no keys


def test_run_without_the_kek_is_one_line_before_it_connects() -> None:
    import os
    import subprocess
    import sys

    from tests.helpers import DEMO_KEYS

    env = {k: v for k, v in os.environ.items() if k != "CRM_MASKER_KEK_FILE"}
    done = subprocess.run(
        [sys.executable, "-m", "processor", "run", "--rules", str(RULES), "--keys",
         str(DEMO_KEYS), "--allow-demo-keys", "--bootstrap-servers", "127.0.0.1:1"],
        capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: the rules encrypt contacts.phone: run needs the KEK file (--kek-file or "
        "CRM_MASKER_KEK_FILE), which the security team holds"]


def test_reveal_refuses_without_the_kek_file() -> None:
    from click.testing import CliRunner

    from processor.cli import main

    done = CliRunner(env={"CRM_MASKER_KEK_FILE": None}).invoke(
        main, ["reveal", "--bootstrap-servers", "127.0.0.1:1", "--reason", "test",
               "enc:phone:contact/k2026a:00:AAAA"])
    assert done.exit_code != 0
    assert "reveal needs the KEK file" in str(done.exception or done.output)


@pytest.mark.parametrize(("lang", "says"), [
    ("en", ["the values of `contacts.phone` are encrypted per data subject",
            "key custodians (information security team (internal))", "within 1 day",
            "`crm-masker subject` finds every record"]),
    ("de", ["die Werte von `contacts.phone` werden je betroffener Person verschlüsselt",
            "Schlüsselverwahrer (Informationssicherheit (intern))", "binnen 1 Tag",
            "`crm-masker subject` findet"]),
])
def test_the_record_says_what_is_encrypted_who_may_reveal_it_and_when_it_is_gone(
        lang: str, says: list[str]) -> None:
    from tests.governance.test_record_for_a_dpo import report

    text = report(RULES, "--lang", lang)
    for phrase in says:
        assert phrase in text, phrase
