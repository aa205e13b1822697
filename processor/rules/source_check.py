"""Check a rule set against the CRM's real columns (``validate --postgres``): every action
must be defined for what Debezium sends for its column's PostgreSQL type.

A `money`, `uuid`, `jsonb`, enum, array or `interval` column, a `timestamp(0)` (milliseconds)
or a `numeric` of another scale is found here, with a hint, instead of as dead letters — or
worse, as a value read in the wrong unit — after the processor has started.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from processor.actions.base import CompileContext
from processor.actions.registry import compile_action
from processor.errors import Problem
from processor.formats.postgres_types import Connector, SourceColumn
from processor.rules import ValidatedRules
from processor.rules.loader import LoadedRules, Loc, load_rules
from processor.rules.model import ActionSpec, FieldRule

HINT = ("change the rule's action or its parameters, or drop the column "
        "(see the connector guide in the README)")


def table_of(topic: str) -> tuple[str, str]:
    """(PostgreSQL schema, table) of a Debezium topic ``<prefix>.<schema>.<table>``."""
    parts = topic.split(".")
    return (parts[-2], parts[-1]) if len(parts) >= 3 else ("public", parts[-1])


def _specs(validated: ValidatedRules, table: str, field: str, rule: FieldRule
           ) -> Iterator[tuple[Loc, ActionSpec]]:
    """Every action that may apply to the column, with where the rules say it."""
    loc: Loc = ("tables", table, "fields", field)
    yield (*loc, "action"), rule
    if rule.when is not None and rule.otherwise is not None:
        yield (*loc, "otherwise", "action"), rule.otherwise
    for view_name, view in validated.rules.views.items():
        spec = view.overrides.get(f"{table}.{field}")
        if spec is not None:
            yield ("views", view_name, "overrides", f"{table}.{field}", "action"), spec


def _column_problems(loaded: LoadedRules, validated: ValidatedRules, table: str, field: str,
                     rule: FieldRule, column: SourceColumn, connector: Connector
                     ) -> Iterator[Problem]:
    ctx = CompileContext(table=table, field=field, key_id="", keys=None)
    for loc, spec in _specs(validated, table, field, rule):
        action = compile_action(spec.action, spec.params, ctx)
        problem = action.source_problem(column, connector.typed)
        if problem is not None:
            yield loaded.problem(loc, f"{column.describe()}: {problem}", HINT)


def source_problems(rules_dir: Path, validated: ValidatedRules,
                    columns: dict[tuple[str, str], dict[str, SourceColumn]],
                    connector: Connector) -> list[Problem]:
    """Problems of the rules against ``columns`` ((schema, table) → column → what Debezium
    sends): an action that cannot take its column's values is an error; a rule for a column
    the database does not have, and a column that no rule names, are warnings."""
    loaded = load_rules(rules_dir)
    problems: list[Problem] = []
    for table_name, table in validated.rules.tables.items():
        where = table_of(table.topic)
        found = columns.get(where)
        if found is None:
            problems.append(loaded.problem(
                ("tables", table_name, "topic"), f"the database has no table {'.'.join(where)}",
                "check the topic (<prefix>.<schema>.<table>) and the database URL",
                severity="warning"))
            continue
        for field, rule in table.fields.items():
            column = found.get(field)
            if column is None:
                problems.append(loaded.problem(
                    ("tables", table_name, "fields", field),
                    f"{'.'.join(where)} has no column {field}",
                    "a typo, or a column the CRM dropped", severity="warning"))
                continue
            problems += _column_problems(loaded, validated, table_name, field, rule, column,
                                         connector)
        for name, column in found.items():
            if name not in table.fields:
                problems.append(loaded.problem(
                    ("tables", table_name, "fields"),
                    f"{column.describe()} and has no rule: it is never published, and "
                    "reported as schema drift", "add a rule (drop, if BI does not need it)",
                    severity="warning"))
    problems.sort(key=lambda p: (p.file, p.line))
    return problems
