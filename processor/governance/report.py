"""The record of processing activities (Art. 30 GDPR) and the data-flow inventory, generated
from the same rules that the processor enforces, so the paperwork cannot drift from reality.

``build_report`` turns a validated rule set into plain data; ``render_markdown`` and
``render_html`` print it in German or English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from processor.actions.base import CompileContext
from processor.actions.registry import action_class, compile_action
from processor.governance.labels import LABELS, LEVELS
from processor.rules import ValidatedRules
from processor.rules.model import PERSONAL_CLASSES, ActionSpec, FieldRule, TableRules, ViewRules

LEGAL_BASIS_ARTICLE = {
    "consent": "Art. 6(1)(a)", "contract": "Art. 6(1)(b)", "legal_obligation": "Art. 6(1)(c)",
    "vital_interests": "Art. 6(1)(d)", "public_task": "Art. 6(1)(e)",
    "legitimate_interests": "Art. 6(1)(f)",
}


@dataclass
class FieldEntry:
    name: str
    field_class: str
    description: str
    justification: str
    #: view name → the measure applied in that view (views that carry the table)
    measures: dict[str, Measure]
    published_in_clear: list[str] = field(default_factory=list)


@dataclass
class Recipient:
    view: str
    topic: str
    format: str
    readers: list[str]
    description: str


@dataclass
class TableEntry:
    name: str
    topic: str
    description: str
    data_subjects: list[str]
    purposes: list[str]
    legal_basis: str
    retention: str
    fields: list[FieldEntry]
    recipients: list[Recipient]

    def fields_of(self, *classes: str) -> list[str]:
        return [f.name for f in self.fields if f.field_class in classes]


@dataclass
class Finding:
    severity: str  # "warning" | "info"
    table: str
    field: str
    code: str  # a key into the labels: clear_in_view, justified_clear, special_kept_out …
    detail: str = ""


@dataclass
class Report:
    version: str
    sha256: str
    key_id: str
    controller: dict[str, str]
    views: list[str]
    tables: list[TableEntry]
    findings: list[Finding]


@dataclass(frozen=True)
class Measure:
    """An action as the record shows it: its name, its shown parameters, maybe a condition."""

    action: str
    params: tuple[tuple[str, Any], ...] = ()
    test: str = ""
    otherwise: Measure | None = None

    def text(self, lang: str) -> str:
        labels = LABELS[lang]
        params = dict(self.params)
        if self.action == "generalize":
            key = "m.generalize.bucket" if params.get("level") == "bucket" else "m.generalize"
            params["level"] = LEVELS.get(lang, {}).get(str(params["level"]), params["level"])
        else:
            key = f"m.{self.action}"
        text = labels.get(key, self.action).format(**params)
        if self.otherwise is not None:
            return labels["m.when"].format(then=text, test=self.test,
                                           otherwise=self.otherwise.text(lang))
        return text


def describe(spec: ActionSpec, table: str, field_name: str, key_id: str) -> Measure:
    """What an action does, from the compiled action itself (so it cannot drift)."""
    action = compile_action(spec.action, spec.params,
                            CompileContext(table=table, field=field_name, key_id=key_id, keys=None))
    measure = Measure(spec.action, tuple(sorted(action.measure().items())))
    if isinstance(spec, FieldRule) and spec.when is not None:
        other = describe(spec.otherwise or ActionSpec(action="null"), table, field_name, key_id)
        test = (f"{spec.when.field} ≠ null" if spec.when.not_null
                else f"{spec.when.field} = {spec.when.equals!r}")
        measure = Measure(measure.action, measure.params, test, other)
    return measure


def _reveals_all(spec: ActionSpec) -> bool:
    return action_class(spec.action).reveals == "all"


def build_report(validated: ValidatedRules) -> Report:
    rules = validated.rules
    key_id = rules.pseudonym_key_id
    tables: list[TableEntry] = []
    findings: list[Finding] = []
    for table_name, table in rules.tables.items():
        views = {name: view for name, view in rules.views.items() if view.publishes(table_name)}
        entries = [_field_entry(table_name, table, name, rule, views, key_id)
                   for name, rule in table.fields.items()]
        recipients = [Recipient(name, view.topic.format(table=table_name), view.format,
                                list(view.readers), view.description)
                      for name, view in views.items()]
        tables.append(TableEntry(table_name, table.topic, table.description,
                                 list(table.data_subjects), list(table.purposes),
                                 table.legal_basis, table.retention, entries, recipients))
        if not views:
            findings.append(Finding("info", table_name, "", "not_published"))
        for entry in entries:
            findings += _field_findings(table_name, entry)
    return Report(validated.version, validated.sha256, key_id, rules.controller.model_dump(),
                  list(rules.views), tables, findings)


def _field_entry(table_name: str, table: TableRules, name: str, rule: FieldRule,
                 views: dict[str, ViewRules], key_id: str) -> FieldEntry:
    measures: dict[str, Measure] = {}
    clear: list[str] = []
    for view_name, view in views.items():
        spec: ActionSpec = view.overrides.get(f"{table_name}.{name}", rule)
        measures[view_name] = describe(spec, table_name, name, key_id)
        if _reveals_all(spec) and not (isinstance(spec, FieldRule) and spec.when is not None):
            clear.append(view_name)
    return FieldEntry(name, rule.field_class, rule.description, rule.justification, measures,
                      clear)


def _field_findings(table: str, entry: FieldEntry) -> list[Finding]:
    found: list[Finding] = []
    if entry.field_class == "special":
        found.append(Finding("info", table, entry.name, "special_kept_out",
                             ", ".join(sorted({m.action for m in entry.measures.values()}))))
    elif entry.field_class in PERSONAL_CLASSES and entry.published_in_clear:
        if entry.justification:
            found.append(Finding("info", table, entry.name, "justified_clear",
                                 entry.justification))
        else:
            found.append(Finding("warning", table, entry.name, "clear_in_view",
                                 ", ".join(entry.published_in_clear)))
    if entry.field_class == "free_text" and any(m.action == "scrub" for m in entry.measures.values()):
        found.append(Finding("info", table, entry.name, "scrub_best_effort"))
    return found
