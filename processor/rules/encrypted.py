"""Which columns the rules encrypt per data subject: the one answer that compiling, topics,
ACLs and the record of processing activities read."""

from __future__ import annotations

from processor.actions.registry import action_class, action_names
from processor.rules.model import ActionSpec, RuleSet


def encrypted_fields(rules: RuleSet) -> list[tuple[str, str, str]]:
    """(table, column, subject domain) of every column that a per-subject action publishes
    in some view (its table rule, its ``otherwise`` or a view's override)."""
    found = []
    for table_name, table in rules.tables.items():
        specs: dict[str, list[ActionSpec]] = {n: [r, *filter(None, [r.otherwise])]
                                              for n, r in table.fields.items()}
        for view in rules.views.values():
            for target, spec in view.overrides.items():
                column = target.removeprefix(table_name + ".")
                if view.publishes(table_name) and column != target and column in specs:
                    specs[column].append(spec)
        for column, column_specs in specs.items():
            if any(s.action in action_names() and action_class(s.action).per_subject
                   for s in column_specs):
                found.append((table_name, column, table.subject_domain or "?"))
    return found
