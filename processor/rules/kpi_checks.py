"""The checks of the rules' KPIs: a KPI aggregates what its view publishes of its table."""

from __future__ import annotations

from processor.actions.registry import action_class, action_names
from processor.errors import Problem, did_you_mean
from processor.rules.loader import LoadedRules, Loc
from processor.rules.model import ActionSpec, RuleSet


def _view_spec(rules: RuleSet, view_name: str, table_name: str, column: str) -> ActionSpec | None:
    """The action that a view applies to a column; None: the table has no such column."""
    rule = rules.tables[table_name].fields.get(column)
    return rules.views[view_name].spec_for(table_name, column, rule) if rule is not None else None


def kpi_problems(loaded: LoadedRules, rules: RuleSet) -> list[Problem]:
    """A KPI aggregates what its view publishes of its table: columns that the view drops
    cannot be grouped or summed, the event time must be a declared date or timestamp, and
    its subjects are the table's ``subject`` (as the view publishes it)."""
    problems: list[Problem] = []
    topics = {view.topic_of(t) for view in rules.views.values() for t in rules.tables
              if view.publishes(t)} | {t.topic for t in rules.tables.values()}
    for name, kpi in rules.kpis.items():
        kloc: Loc = ("kpis", name)
        if kpi.view not in rules.views:
            problems.append(loaded.problem((*kloc, "view"), f"unknown view {kpi.view!r}",
                                           did_you_mean(kpi.view, sorted(rules.views))))
            continue
        if kpi.table not in rules.tables or not rules.views[kpi.view].publishes(kpi.table):
            problems.append(loaded.problem((*kloc, "table"),
                f"view {kpi.view!r} does not publish a table {kpi.table!r}",
                "a KPI aggregates one table of its view"))
            continue
        table = rules.tables[kpi.table]
        if table.subject is None:
            problems.append(loaded.problem((*kloc, "table"),
                f"{kpi.table} names no subject column",
                "the cells count distinct data subjects: set the table's subject"))
        if kpi.topic in topics or rules.kpi.facts_topic == kpi.topic:
            problems.append(loaded.problem((*kloc, "topic"),
                f"topic {kpi.topic!r} is also another input or output", "give it its own"))
        topics.add(kpi.topic)
        used: list[tuple[Loc, str]] = [((*kloc, "time"), kpi.time)]
        used += [((*kloc, "group_by", i), c) for i, c in enumerate(kpi.group_by)]
        used += [((*kloc, "measures", m), spec.column) for m, spec in kpi.measures.items()]
        if table.subject is not None:
            used.append(((*kloc, "table"), table.subject))
        for loc, column in used:
            spec = _view_spec(rules, kpi.view, kpi.table, column)
            if spec is None:
                problems.append(loaded.problem(loc, f"{kpi.table} has no column {column!r}",
                                               did_you_mean(column, sorted(table.fields))))
            elif spec.action in action_names() and not spec.publishes:
                problems.append(loaded.problem(loc,
                    f"view {kpi.view!r} does not publish {kpi.table}.{column}",
                    "a KPI reads only what its view publishes"))
        time_spec = _view_spec(rules, kpi.view, kpi.table, kpi.time)
        if time_spec is not None and time_spec.params.get("encoding") not in (
                "date", "micro_timestamp", "milli_timestamp"):
            problems.append(loaded.problem((*kloc, "time"),
                f"the event time {kpi.table}.{kpi.time} declares no date or timestamp encoding",
                "keep or generalize it with encoding: micro_timestamp (or date, "
                "milli_timestamp)"))
        for m, measure in kpi.measures.items():
            spec = _view_spec(rules, kpi.view, kpi.table, measure.column)
            # a number is published by the actions that keep the input's type
            if spec is not None and action_class(spec.action).output_type is not None:
                problems.append(loaded.problem((*kloc, "measures", m),
                    f"{spec.action} does not publish a number", "sum or average a kept or "
                    "generalised numeric column"))
    return problems
