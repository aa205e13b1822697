"""The masked schemas that a rule set implies for given source schemas, recorded in
``<schemas>/views/``, and whether a rule change keeps them compatible for BI consumers.

A BI consumer reads a view with the schema it knows; a rule change must not make new records
unreadable for it (FORWARD) nor old records unreadable with the new schema (BACKWARD). Apache
Avro's own checker decides; ``crm-masker validate --schemas`` warns on FULL incompatibility,
``crm-masker schemas`` records the accepted schemas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from processor.avro import derive
from processor.errors import Problem
from processor.masking.compiler import compile_rules
from processor.rules import ValidatedRules


@dataclass(frozen=True)
class DerivedSchema:
    subject: str  # <view topic>-value / -key
    view: str
    table: str
    schema: dict[str, Any]


def source_schema(schemas_dir: Path, table: str, field: str) -> dict[str, Any] | None:
    path = schemas_dir / f"{table}-{field}.avsc"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def derived_schemas(validated: ValidatedRules, schemas_dir: Path) -> list[DerivedSchema]:
    """Masked key and value schemas of every view of every table with a source schema file."""
    compiled = compile_rules(validated, None)  # describing only: no secrets needed
    out = []
    for route in compiled.routes.values():
        value = source_schema(schemas_dir, route.table, "value")
        key = source_schema(schemas_dir, route.table, "key")
        for view in route.views:
            ns = derive.namespace(view.view, route.table)
            if value is not None:
                out.append(DerivedSchema(f"{view.topic}-value", view.view, route.table,
                                         derive.value_schema(view.format, view.plan, value, ns)))
            if key is not None:
                out.append(DerivedSchema(f"{view.topic}-key", view.view, route.table,
                                         derive.masked_key(view.plan, key, ns)))
    return out


def recorded_path(schemas_dir: Path, subject: str) -> Path:
    return schemas_dir / "views" / f"{subject}.avsc"


def stale(derived: list[DerivedSchema], schemas_dir: Path) -> list[str]:
    """The subjects whose recorded masked schema is missing or differs from the derived one."""
    return [d.subject for d in derived if not recorded_path(schemas_dir, d.subject).exists()
            or json.loads(recorded_path(schemas_dir, d.subject).read_text()) != d.schema]


def write_recorded(derived: list[DerivedSchema], schemas_dir: Path) -> list[Path]:
    paths = []
    for d in derived:
        path = recorded_path(schemas_dir, d.subject)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(d.schema, indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _field_at(schema: Any, location: str) -> str:
    """The dotted field names on a JSON-pointer location of the checker ('/fields/5/type/1')."""
    names: list[str] = []
    node, previous = schema, ""
    for token in [t for t in location.split("/") if t]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
            if previous == "fields":
                names.append(node["name"])
        else:
            break
        previous = token
    return ".".join(names)


def _incompatible_fields(reader: dict[str, Any], writer: dict[str, Any]) -> list[str]:
    """The reader's fields that cannot read the writer's data, with the checker's reason."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer)))
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    fields = sorted({_field_at(reader, loc) for loc in result.locations} - {""})
    reasons = "; ".join(sorted(str(m) for m in result.messages))
    return [f"{', '.join(fields) or 'the record'} ({reasons})"]


def _named_records(schema: Any, seen: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, list):
        for branch in schema:
            _named_records(branch, seen)
    elif isinstance(schema, dict) and schema.get("type") == "record":
        seen[f"{schema.get('namespace', '')}.{schema['name']}".lstrip(".")] = schema
        for f in schema["fields"]:
            _named_records(f["type"], seen)
    return seen


def disappeared(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Fields of the recorded schema's records that the new one no longer has (by record
    name, so that ``after`` referring to ``before``'s record counts too)."""
    old_records, new_records = _named_records(old, {}), _named_records(new, {})
    gone = []
    for name, record in old_records.items():
        kept = {f["name"] for f in new_records.get(name, {"fields": []})["fields"]}
        gone += [f"{name.rpartition('.')[2]}.{f['name']}" for f in record["fields"]
                 if f["name"] not in kept]
    return sorted(gone)


def check_compatibility(validated: ValidatedRules, schemas_dir: Path) -> list[Problem]:
    """Warnings for derived schemas that are not FULL-compatible with the recorded ones."""
    problems = []
    for d in derived_schemas(validated, schemas_dir):
        path = recorded_path(schemas_dir, d.subject)
        where = f"views.{d.view}.{d.table}"
        if not path.exists():
            problems.append(Problem(str(path), 1, where, f"no recorded masked schema for "
                                    f"{d.subject}", "record it with `crm-masker schemas`",
                                    severity="warning"))
            continue
        old = json.loads(path.read_text(encoding="utf-8"))
        if old == d.schema:
            continue
        lost = _incompatible_fields(old, d.schema)   # old readers, new records (FORWARD)
        unread = _incompatible_fields(d.schema, old)  # new readers, old records (BACKWARD)
        gone = disappeared(old, d.schema)
        if gone and not lost:  # readable (the field has a default), but the data is gone
            problems.append(Problem(str(path), 1, where,
                f"rule change removes {', '.join(gone)} from {d.subject}: BI consumers will "
                f"read only its default (null) from now on",
                "agree the change with the view's consumers, then record it with "
                "`crm-masker schemas`", severity="warning"))
        if lost:
            problems.append(Problem(str(path), 1, where,
                f"rule change breaks {d.subject} for BI consumers: records under the new rules "
                f"lack or retype {', '.join(lost)}, which the recorded schema needs",
                "keep the field (e.g. null it instead of dropping it), or agree the change with "
                "the view's consumers and record it with `crm-masker schemas`",
                severity="warning"))
        if unread:
            problems.append(Problem(str(path), 1, where,
                f"rule change breaks {d.subject}: records already published cannot be read "
                f"with the new schema ({', '.join(unread)})",
                "make the new field nullable with a default, or record the change with "
                "`crm-masker schemas`", severity="warning"))
    return problems
