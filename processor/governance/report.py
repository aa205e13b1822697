"""The record of processing activities (Art. 30 GDPR) and the data-flow inventory, generated
from the same rules that the processor enforces, so the paperwork cannot drift from reality.

``build_report`` turns a validated rule set into plain data, organised per processing activity
(a purpose of the rules); ``render.py`` prints it in German or English. Every measure is worded
by the compiled action itself (``Action.measure``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from processor.actions.base import CompileContext, SubjectScope
from processor.actions.registry import action_class, compile_action
from processor.i18n import Localized, translated
from processor.rules import ValidatedRules
from processor.rules.model import (
    PERSONAL_CLASSES,
    ActionSpec,
    Controller,
    FieldRule,
    Record,
    RuleSet,
    TableRules,
    ViewRules,
)


@dataclass(frozen=True)
class Measure:
    """What happens to a field in one view, as the record words it."""

    text: Localized
    removes: bool = False
    #: the action finds what its detectors find (scrub): the record says what it misses
    best_effort: bool = False
    #: (field, "equals" | "not_null", value): the measure applies only then
    condition: tuple[str, str, Any] | None = None
    otherwise: Measure | None = None


@dataclass
class FieldEntry:
    name: str
    field_class: str
    description: Any
    justification: Any
    art9_exception: str | None
    #: view name → the measure applied in that view (views that carry the table)
    measures: dict[str, Measure]
    published_in_clear: list[str] = field(default_factory=list)


@dataclass
class Recipient:
    view: str
    topic: str
    format: str
    readers: list[str]
    description: Any


@dataclass
class TableEntry:
    name: str
    topic: str
    description: Any
    data_subjects: list[str]
    purposes: list[str]
    legal_basis: str
    legitimate_interest: Any
    retention: str
    retention_start: Any
    fields: list[FieldEntry]
    recipients: list[Recipient]

    def fields_of(self, *classes: str) -> list[str]:
        return [f.name for f in self.fields if f.field_class in classes]


@dataclass
class Activity:
    """One processing activity of the record: a purpose and the tables read for it."""

    purpose: str
    name: Any
    description: Any
    tables: list[TableEntry]


@dataclass
class Finding:
    severity: str  # "warning" | "info"
    table: str
    field: str
    code: str  # a key into the labels: clear_in_view, justified_clear, special_kept_out …
    detail: Any = ""  # a name list, or a text of the rules (one per language)


@dataclass(frozen=True)
class Enforcement:
    """The broker's ACLs compared with the rules' (``report --bootstrap-servers``)."""

    checked: dt.date
    in_place: int
    wanted: int
    beyond: int
    #: how the record's own connection went: SASL_SSL, SSL, PLAINTEXT …; and the mechanism
    protocol: str
    mechanism: str = ""


@dataclass
class Report:
    version: str
    sha256: str
    key_id: str
    date: dt.date
    rules: RuleSet
    tables: list[TableEntry]
    activities: list[Activity]
    findings: list[Finding]
    #: (where, text) of every free text of the rules, for the translation check
    texts: list[tuple[str, Any]]
    enforcement: Enforcement | None = None

    @property
    def controller(self) -> Controller:
        return self.rules.controller

    @property
    def record(self) -> Record:
        return self.rules.record

    def untranslated(self, lang: str) -> list[str]:
        return [where for where, value in self.texts if not translated(value, lang)]


def describe(spec: ActionSpec, table: str, field_name: str, key_id: str,
             subject: SubjectScope | None = None) -> Measure:
    """What an action does, from the compiled action itself (so it cannot drift)."""
    action = compile_action(spec.action, spec.params,
                            CompileContext(table=table, field=field_name, key_id=key_id, keys=None,
                                           subject=subject))
    measure = Measure(action.measure(), type(action).removes_field, type(action).best_effort)
    if isinstance(spec, FieldRule) and spec.when is not None:
        other = describe(spec.otherwise_spec, table, field_name, key_id,
                         subject)
        condition = ((spec.when.field, "not_null", None) if spec.when.not_null
                     else (spec.when.field, "equals", spec.when.equals))
        measure = Measure(measure.text, False, measure.best_effort, condition, other)
    return measure


def _reveals_all(spec: ActionSpec) -> bool:
    return action_class(spec.action).reveals == "all"


def build_report(validated: ValidatedRules, date: dt.date | None = None) -> Report:
    rules = validated.rules
    key_id = rules.pseudonym_key_id
    tables: list[TableEntry] = []
    findings: list[Finding] = []
    for table_name, table in rules.tables.items():
        views = {name: view for name, view in rules.views.items() if view.publishes(table_name)}
        entries = [_field_entry(table_name, table, name, rule, views, key_id)
                   for name, rule in table.fields.items()]
        recipients = [Recipient(name, view.topic_of(table_name), view.format,
                                list(view.readers), view.description)
                      for name, view in views.items()]
        tables.append(TableEntry(table_name, table.topic, table.description,
                                 list(table.data_subjects), list(table.purposes),
                                 table.legal_basis, table.legitimate_interest, table.retention,
                                 table.retention_start, entries, recipients))
        findings += _table_findings(table_name, table, bool(views))
        for entry in entries:
            findings += _field_findings(table_name, entry)
    findings += _record_findings(rules)
    activities = [_activity(rules, purpose, tables) for purpose in
                  dict.fromkeys(p for t in rules.tables.values() for p in t.purposes)]
    return Report(validated.version, validated.sha256, key_id, date or dt.date.today(), rules,
                  tables, activities, findings, _texts(rules))


def _activity(rules: RuleSet, purpose: str, tables: list[TableEntry]) -> Activity:
    """A purpose with its name and description from the record (the id where it has none)."""
    known = rules.record.purposes.get(purpose)
    return Activity(purpose, known.name if known is not None else purpose,
                    known.description if known is not None else "",
                    [t for t in tables if purpose in t.purposes])


def _field_entry(table_name: str, table: TableRules, name: str, rule: FieldRule,
                 views: dict[str, ViewRules], key_id: str) -> FieldEntry:
    measures: dict[str, Measure] = {}
    clear: list[str] = []
    subject = (SubjectScope(table.subject, table.subject_domain)
               if table.subject and table.subject_domain else None)
    for view_name, view in views.items():
        spec = view.spec_for(table_name, name, rule)
        measures[view_name] = describe(spec, table_name, name, key_id, subject)
        if _reveals_all(spec) and not (isinstance(spec, FieldRule) and spec.when is not None):
            clear.append(view_name)
    return FieldEntry(name, rule.field_class, rule.description, rule.justification,
                      rule.art9_exception, measures, clear)


def _table_findings(name: str, table: TableRules, published: bool) -> list[Finding]:
    found: list[Finding] = []
    if not published:
        found.append(Finding("info", name, "", "not_published"))
    if table.legal_basis == "legitimate_interests" and not table.legitimate_interest:
        found.append(Finding("warning", name, "", "interest_missing"))
    if not table.retention_start:
        found.append(Finding("warning", name, "", "retention_start_missing"))
    return found


def _field_findings(table: str, entry: FieldEntry) -> list[Finding]:
    found: list[Finding] = []
    if entry.field_class == "special":
        found.append(Finding("info", table, entry.name, "special_kept_out"))
        if entry.art9_exception is None:
            found.append(Finding("warning", table, entry.name, "art9_missing"))
    elif entry.field_class in PERSONAL_CLASSES and entry.published_in_clear:
        if entry.justification:
            found.append(Finding("info", table, entry.name, "justified_clear",
                                 entry.justification))
        else:
            found.append(Finding("warning", table, entry.name, "clear_in_view",
                                 ", ".join(entry.published_in_clear)))
    if entry.field_class == "free_text" and any(m.best_effort for m in entry.measures.values()):
        found.append(Finding("info", table, entry.name, "scrub_best_effort"))
    return found


def _record_findings(rules: RuleSet) -> list[Finding]:
    """Identifiers of the rules that the record cannot name in words, and what it lacks."""
    record = rules.record
    found: list[Finding] = []
    if record.third_country_transfers is None:
        found.append(Finding("warning", "", "", "transfers_not_stated"))
    catalogues = (("purposes", record.purposes, [p for t in rules.tables.values()
                                                 for p in t.purposes]),
                  ("data_subjects", record.data_subjects, [s for t in rules.tables.values()
                                                           for s in t.data_subjects]),
                  ("recipients", record.recipients, [r for v in rules.views.values()
                                                     for r in v.readers]))
    for section, known, used in catalogues:
        unnamed = sorted(set(used) - set(known))
        if unnamed:
            found.append(Finding("info", "", "", "unnamed",
                                 f"record.{section}: " + ", ".join(unnamed)))
    return found


def _texts(rules: RuleSet) -> list[tuple[str, Any]]:
    """Every free text of the rules that the record prints, with where it is written."""
    found: list[tuple[str, Any]] = []
    record = rules.record
    for name, purpose in record.purposes.items():
        found += [(f"record.purposes.{name}.name", purpose.name),
                  (f"record.purposes.{name}.description", purpose.description)]
    found += [(f"record.data_subjects.{k}", v) for k, v in record.data_subjects.items()]
    found += [(f"record.recipients.{k}", v) for k, v in record.recipients.items()]
    found += [(f"record.processors[{i}].service", p.service) for i, p in
              enumerate(record.processors)]
    found += [(f"record.processors[{i}].agreement", p.agreement) for i, p in
              enumerate(record.processors)]
    found += [(f"record.third_country_transfers[{i}].description", t.description)
              for i, t in enumerate(record.third_country_transfers or [])]
    found += [(f"record.measures[{i}]", m) for i, m in enumerate(record.measures)]
    for name, table in rules.tables.items():
        found += [(f"tables.{name}.{key}", getattr(table, key))
                  for key in ("description", "legitimate_interest", "retention_start")]
        for field_name, rule in table.fields.items():
            found += [(f"tables.{name}.fields.{field_name}.{key}", getattr(rule, key))
                      for key in ("description", "justification")]
    found += [(f"views.{name}.description", view.description)
              for name, view in rules.views.items()]
    return [(where, value) for where, value in found if value]

