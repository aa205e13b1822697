"""`validate --postgres`: every action against what Debezium sends for its column's type, read
from a real PostgreSQL with the reference CRM and the types a CRM adds over the years."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from processor.cli import main
from processor.formats import postgres_types as pt
from tests.cdc import NEW_TYPES_RULES, NEW_TYPES_SQL, CdcChain, add_contact_rules
from tests.helpers import RULES
from tests.pipeline.harness import cli

pytestmark = pytest.mark.kafka  # the session's PostgreSQL comes with the CDC chain

#: besides the new types: an array that is scrubbed and one kept as a scalar, an interval
#: bucketed as a number, a column without a rule, a type change and a decimal's new scale
EXTRA_COLUMNS = NEW_TYPES_SQL + """
ALTER TABLE contacts ADD COLUMN labels text[], ADD COLUMN unruled text;
ALTER TABLE contracts ALTER COLUMN signed_at TYPE timestamp(0);
ALTER TABLE contacts ALTER COLUMN lifetime_value TYPE numeric(12, 3);
"""
EXTRA_RULES = {**NEW_TYPES_RULES, "tags": "{class: free_text, action: scrub}",
               "labels": "{class: business, action: keep}",
               "callback_after": "{class: personal, action: generalize, to: bucket, "
                                 "encoding: number, size: 3600}"}


@pytest.fixture
def crm_with_new_types(cdc: CdcChain) -> str:
    import psycopg

    db = cdc.database()
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(EXTRA_COLUMNS)
    return db


def rules_with_new_types(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    add_contact_rules(rules, EXTRA_RULES)
    return rules


def problems(output: str) -> dict[str, str]:
    """key path → the line (errors and warnings) of validate's output."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"\S+:\d+: (error|warning): (\S+): (.*)", line)
        if match:
            found[match[2]] = f"{match[1]}: {match[3]}"
    return found


def test_the_reference_rules_fit_the_reference_crm(cdc: CdcChain) -> None:
    result = CliRunner().invoke(main, ["validate", str(RULES), "--strict", "--postgres",
                                       cdc.database()])
    assert result.exit_code == 0, result.output
    assert "0 warning(s)" in result.output


def test_each_action_is_checked_against_debeziums_encoding_of_its_type(
        crm_with_new_types: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(rules_with_new_types(tmp_path)),
                                       "--postgres", crm_with_new_types])
    assert result.exit_code == 1, result.output
    found = problems(result.output)
    assert found.pop("tables.contacts.fields.tags.action").startswith(
        "error: contacts.tags is text[]: scrub reads text values, and Debezium sends array")
    assert found.pop("tables.contacts.fields.callback_after.action").startswith(
        "error: contacts.callback_after is interval: generalize to: bucket reads numbers; "
        "Debezium sends interval")
    assert found.pop("tables.contacts.fields.labels.action").endswith(
        "keep with type: scalar refuses the array that Debezium writes for text[]: use type: "
        "array (hint: change the rule's action or its parameters, or drop the column (see the "
        "connector guide in the README))")
    assert "use encoding: milli_timestamp" in found.pop("tables.contracts.fields.signed_at.action")
    assert "use scale: 3" in found.pop("tables.contacts.fields.lifetime_value.action")
    unruled = found.pop("tables.contacts.fields")
    assert unruled.startswith("warning: contacts.unruled is text and has no rule")
    # money (a decimal of scale 2), uuid, jsonb and enums are handled by their rules
    assert not found, found


def test_with_typed_events_the_schema_decides_units_and_scales(
        crm_with_new_types: str, tmp_path: Path) -> None:
    """A connector with schemas (or Avro) names each column's type in every event: the unit
    and the scale follow it, so only the type mismatches are left."""
    connector = tmp_path / "connector.json"
    config = json.loads((RULES.parent / "deploy" / "debezium" / "crm-postgres.json").read_text())
    config["config"]["value.converter.schemas.enable"] = "true"
    connector.write_text(json.dumps(config))
    result = CliRunner().invoke(main, ["validate", str(rules_with_new_types(tmp_path)),
                                       "--postgres", crm_with_new_types,
                                       "--connector", str(connector)])
    found = problems(result.output)
    assert sorted(path for path, line in found.items() if line.startswith("error")) == [
        "tables.contacts.fields.callback_after.action", "tables.contacts.fields.labels.action",
        "tables.contacts.fields.tags.action"]


@pytest.mark.parametrize(("udt", "settings", "kind"), [
    ("timestamp", {}, pt.MICRO_TS),
    ("timestamp", {"time.precision.mode": "connect"}, pt.MILLI_TS),
    ("numeric", {"decimal.handling.mode": "string"}, pt.DECIMAL_STRING),
    ("numeric", {"decimal.handling.mode": "double"}, pt.FLOAT),
    ("interval", {"interval.handling.mode": "string"}, pt.TEXT),
    ("money", {}, pt.DECIMAL),
])
def test_connector_settings_change_the_encoding(udt: str, settings: dict[str, str],
                                                kind: str) -> None:
    got, _ = pt.kind_of(udt, "b", False, 6, 2, {**pt.DEFAULT_SETTINGS, **settings})
    assert got == kind


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    result = cli("validate", str(RULES), "--postgres",
                 "postgresql://crm:s3cret-pw@127.0.0.1:1/crm", check=False)
    assert result.returncode == 2  # not the rules' fault: the environment's
    assert result.stderr.startswith("error: cannot read the CRM's columns"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cret-pw" not in result.stderr + result.stdout
