"""schemas/: the reference CRM's source schemas, the recorded masked schemas, and
`validate --schemas` warning when a rule change would break a view's schema for BI consumers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import fastavro

from processor.generator.avro_source import write_schema_files
from tests.helpers import REPO, RULES

SCHEMAS = REPO / "schemas"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "processor", *args], capture_output=True,
                          text=True, timeout=120)


def test_shipped_source_schemas_are_the_reference_crms_and_parse(tmp_path: Path) -> None:
    for path in write_schema_files(tmp_path):
        shipped = SCHEMAS / path.name
        assert json.loads(shipped.read_text()) == json.loads(path.read_text()), path.name
        fastavro.parse_schema(json.loads(shipped.read_text()))
    value = json.loads((SCHEMAS / "contracts-value.avsc").read_text())
    text = json.dumps(value)
    for logical in ('"logicalType": "date"', '"logicalType": "timestamp-micros"',
                    '"logicalType": "decimal"'):
        assert logical in text
    assert [f["name"] for f in value["fields"]] == ["before", "after", "source", "op", "ts_ms"]


def test_recorded_masked_schemas_match_the_rules() -> None:
    result = cli("schemas", "--rules", str(RULES), "--schemas", str(SCHEMAS), "--check")
    assert result.returncode == 0, result.stderr
    result = cli("validate", str(RULES), "--schemas", str(SCHEMAS), "--strict")
    assert result.returncode == 0, result.stderr


def changed_rules(tmp_path: Path, old: str, new: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / "tables" / "users.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return rules


def schemas_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    return copy


def test_dropping_a_published_field_warns_and_strict_fails(tmp_path: Path) -> None:
    rules = changed_rules(tmp_path, "role:           {class: business,   action: keep}",
                          "role:           {class: business,   action: drop}")
    result = cli("validate", str(rules), "--schemas", str(schemas_copy(tmp_path)))
    assert result.returncode == 0
    assert "warning" in result.stderr and "Value.role" in result.stderr
    assert "bi.analytics.users-value" in result.stderr
    strict = cli("validate", str(rules), "--schemas", str(tmp_path / "schemas"), "--strict")
    assert strict.returncode == 1


def test_retyping_a_field_breaks_forward_compatibility(tmp_path: Path) -> None:
    """active: boolean kept → redacted text: consumers on the recorded schema cannot read it."""
    rules = changed_rules(tmp_path, "active:         {class: business,   action: keep}",
                          "active:         {class: business,   action: redact}")
    result = cli("validate", str(rules), "--schemas", str(schemas_copy(tmp_path)))
    assert "breaks" in result.stderr and "active" in result.stderr, result.stderr


def test_dropping_a_required_field_is_incompatible(tmp_path: Path) -> None:
    """With a NOT NULL source column (no default in the view), dropping it is a FORWARD break."""
    schemas = schemas_copy(tmp_path)
    source = json.loads((schemas / "users-value.avsc").read_text())
    row = source["fields"][0]["type"][1]
    for f in row["fields"]:
        if f["name"] == "role":
            f["type"], _ = "string", f.pop("default")
    (schemas / "users-value.avsc").write_text(json.dumps(source))
    assert cli("schemas", "--rules", str(RULES), "--schemas", str(schemas)).returncode == 0
    rules = changed_rules(tmp_path, "role:           {class: business,   action: keep}",
                          "role:           {class: business,   action: drop}")
    result = cli("validate", str(rules), "--schemas", str(schemas))
    assert "breaks bi.analytics.users-value for BI consumers" in result.stderr, result.stderr
    assert "role" in result.stderr


def test_recorded_schemas_missing_is_a_warning(tmp_path: Path) -> None:
    schemas = schemas_copy(tmp_path)
    shutil.rmtree(schemas / "views")
    result = cli("validate", str(RULES), "--schemas", str(schemas))
    assert "no recorded masked schema" in result.stderr
    assert cli("schemas", "--rules", str(RULES), "--schemas", str(schemas), "--check"
               ).returncode == 1
