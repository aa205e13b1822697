"""Render the record of processing activities as Markdown or as one self-contained HTML page.

``document`` lays the record out once, in blocks (governance/blocks.py); the two writers
only format blocks, so that both formats always say the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import isodate

from processor.governance.blocks import (
    Bullets,
    Code,
    Fields,
    Grid,
    Heading,
    Inline,
    Label,
    Para,
    Section,
    to_html,
    to_markdown,
)
from processor.governance.labels import LABELS
from processor.governance.report import Finding, Measure, Report, TableEntry
from processor.i18n import text
from processor.rules.encrypted import encrypted_fields

CLASSES = ("identifier", "personal", "special", "free_text", "business", "technical")


def document(report: Report, lang: str) -> list[Any]:
    t = LABELS[lang]
    out: list[Any] = [Heading(1, t["title"]), Para(t["status"].format(
        date=report.date.strftime(t["date"]), version=report.version, sha=report.sha256[:16]),
        css="meta")]
    out += _controller(report, t)
    for n, activity in enumerate(report.activities, start=1):
        heading: Inline = [t["activity"].format(n=n, name=text(activity.name, lang)), " (",
                           Code(activity.purpose), ")"]
        if activity.purpose not in report.record.purposes:
            heading = [t["activity"].format(n=n, name=""), Code(activity.purpose)]
        out += [Heading(2, heading, f"activity-{activity.purpose}")]
        out += _activity(report, activity.purpose, activity.tables, activity.description, t,
                         lang)
    out += _processors(report, t, lang)
    out += _measures(report, t, lang)
    out += [Heading(2, t["annex_a"], "annex-a")]
    out += [_annex_table(table, t, lang) for table in report.tables]
    out += [Heading(2, t["annex_b"], "annex-b"), Para(t["flow_intro"]),
            Bullets([[Code(table.topic), " → ", Code(r.topic), " (", Code(r.view), "): ",
                      *_codes(f.name for f in table.fields if not f.measures[r.view].removes)]
                     for table in report.tables for r in table.recipients])]
    findings = _findings(report, t, lang)
    out += [Heading(2, t["findings"], "findings"), Bullets(findings) if findings
            else Para(t["no_findings"])]
    return out


def _controller(report: Report, t: dict[str, str]) -> list[Any]:
    c = report.controller
    return [Heading(2, t["controller_section"], "controller"), Fields([
        (t["controller"], c.name or t["not_stated"]),
        (t["address"], c.address or t["not_stated"]),
        (t["contact"], c.contact or t["not_stated"]),
        (t["dpo"], c.dpo or t["not_stated"]),
        (t["representative"], c.representative or t["none"]),
        (t["joint"], ", ".join(c.joint_controllers) or t["none"])])]


def _activity(report: Report, purpose: str, tables: list[TableEntry], description: Any,
              t: dict[str, str], lang: str) -> list[Any]:
    record, views = report.record, report.rules.views
    subjects = list(dict.fromkeys(s for table in tables for s in table.data_subjects))
    bases = []
    for table in tables:
        line: list[str | Code] = [Code(table.name), ": ", t[f"basis.{table.legal_basis}"]]
        if table.legal_basis == "legitimate_interests":
            line += ["; ", t["interest"].format(text=text(table.legitimate_interest, lang))
                     if table.legitimate_interest else t["interest_missing"]]
        bases.append(line)
    categories = []
    for table in tables:
        line = [Code(table.name)]
        if table.description:
            line += [" (", text(table.description, lang), ")"]
        groups = [[t[f"class.{c}"], " (", *_codes(table.fields_of(c)), ")"]
                  for c in CLASSES if c != "special" and table.fields_of(c)]
        line.append(": ")
        for i, group in enumerate(groups):
            line += (["; "] if i else []) + group
        categories.append(line)
    special = [[Code(f"{table.name}.{f.name}"), ": ",
                t["special_line"].format(exception=t[f"art9.{f.art9_exception}"])
                if f.art9_exception else t["art9_missing"]]
               for table in tables for f in table.fields if f.field_class == "special"]
    by_view: dict[str, list[Any]] = {}
    for table in tables:
        for r in table.recipients:
            served = views[r.view].purposes
            if served is None or purpose in served:
                by_view.setdefault(r.view, [r]).append(Code(r.topic))
    recipients: list[Inline] = []
    for view, (first, *topics) in by_view.items():
        said: list[str | Code] = [Code(view)]
        if first.description:
            said += [" (", text(first.description, lang), ")"]
        readers = _names(first.readers, record.recipients, lang) or [t["not_stated"]]
        said += [": ", *readers, " ← ", *_codes(topics)]
        recipients.append(said)
    names = {table.name for table in tables}
    for name, kpi in report.rules.kpis.items():
        served = views[kpi.view].purposes
        if kpi.table in names and (served is None or purpose in served):
            released: list[str | Code] = [t["kpi_line"].format(
                name=name, k=kpi.min_group_size,
                window=_duration_words(isodate.duration_isoformat(kpi.window), t))]
            if kpi.description:
                released += [" (", text(kpi.description, lang), ")"]
            readers = _names(kpi.readers, record.recipients, lang) or [t["not_stated"]]
            recipients.append([*released, ": ", *readers, " ← ", Code(kpi.topic)])
    transfers: list[Inline]
    if record.third_country_transfers is None:
        transfers = [t["transfers_not_stated"]]
    elif not record.third_country_transfers:
        transfers = [t["none"]]
    else:
        transfers = [[f"{x.recipient} ({x.country}): {t['safeguard.' + x.safeguard]}",
                      *([". ", text(x.description, lang)] if x.description else [])]
                     for x in record.third_country_transfers]
    erasure = [[Code(table.name), ": ", _retention(table, t, lang)] for table in tables]
    blocks: list[Any] = [Label(t["purpose"]), Para(text(description, lang) or t["not_stated"])]
    points: tuple[tuple[str, Sequence[Inline]], ...] = ((t["legal_basis"], bases),
                         (t["subjects"], [_names([s], record.data_subjects, lang)
                                          for s in subjects] or [t["not_stated"]]),
                         (t["categories"], categories),
                         (t["special"], special or [t["none"]]),
                         (t["recipients"], [t["recipients_intro"], *recipients,
                                            *_enforced(report, t)]),
                         (t["transfers"], transfers),
                         (t["erasure"], erasure),
                         (t["toms_ref"], [t["toms_ref_text"]]))
    for label, items in points:
        blocks += [Label(label), Bullets(items)]
    return blocks


def _enforced(report: Report, t: dict[str, str]) -> list[Inline]:
    found = report.enforcement
    if found is None:
        return []
    return [t["recipients_enforced"].format(in_place=found.in_place, wanted=found.wanted,
                                            beyond=found.beyond,
                                            date=found.checked.strftime(t["date"]))]


def _retention(table: TableEntry, t: dict[str, str], lang: str) -> str:
    words = _duration_words(table.retention, t)
    if table.retention_start:
        return t["retention_from"].format(duration=words,
                                          start=text(table.retention_start, lang))
    return t["retention_no_start"].format(duration=words)


def _duration_words(iso: str, t: dict[str, str]) -> str:
    """P10Y → "10 years" / "10 Jahre"; the ISO text where it has other parts."""
    duration = isodate.parse_duration(iso)
    parts = []
    tdelta = getattr(duration, "tdelta", duration)
    amounts = (("years", int(getattr(duration, "years", 0))),
               ("months", int(getattr(duration, "months", 0))), ("days", tdelta.days),
               ("hours", tdelta.seconds // 3600))
    for unit, amount in amounts:
        if amount:
            one, many = t[f"unit.{unit}"].split("|")
            parts.append(f"{amount} {one if amount == 1 else many}")
    return ", ".join(parts) or iso


def _processors(report: Report, t: dict[str, str], lang: str) -> list[Any]:
    processors = report.record.processors
    blocks: list[Any] = [Heading(2, t["processors"], "processors")]
    if not processors:
        return [*blocks, Para(t["none"])]
    return [*blocks, Grid([t["processor_name"], t["service"], t["country"], t["agreement"]],
                          [[p.name, text(p.service, lang), p.country,
                            text(p.agreement, lang) or t["not_stated"]] for p in processors])]


def _measures(report: Report, t: dict[str, str], lang: str) -> list[Any]:
    rules = report.rules
    enforced = [t["tom.pseudonymisation"].format(key_id=report.key_id), t["tom.minimisation"]]
    if any(table.fields_of("special") for table in report.tables):
        enforced.append(t["tom.special"])
    if any(m.best_effort for table in report.tables for f in table.fields
           for m in f.measures.values()):
        enforced.append(t["tom.free_text"])
    enforcement = report.enforcement
    if report.rules.access is None:
        enforced.append(t["tom.access"])
    else:
        checked = ""
        if enforcement is not None:
            checked = " " + t["tom.access_checked"].format(
                date=enforcement.checked.strftime(t["date"]), in_place=enforcement.in_place,
                wanted=enforcement.wanted, beyond=enforcement.beyond)
        enforced.append(t["tom.access_rules"] + checked)
    if enforcement is not None:
        mechanism = f", {enforcement.mechanism}" if enforcement.mechanism else ""
        enforced.append(t["tom.transport"].format(
            protocol=enforcement.protocol, mechanism=mechanism,
            date=enforcement.checked.strftime(t["date"])))
    enforced.append(t["tom.integrity"].format(
        audit_topic=rules.audit_topic,
        audit_retention=_duration_words(rules.audit_retention, t)))
    if rules.leak_watch_sample > 0:
        enforced.append(t["tom.leak_watch"].format(share=f"{rules.leak_watch_sample:.0%}"
                                                   .replace("%", " %")))
    enforced.append(t["tom.dead_letters"].format(dlq_topic=rules.dlq_topic,
                                                 dlq_retention=_duration_words(rules.dlq_retention,
                                                                               t)))
    enforced.append(t["tom.erasure"])
    encrypted = encrypted_fields(rules)
    if encrypted:
        custodians = rules.access.key_custodians if rules.access is not None else []
        enforced.append(t["tom.encryption"].format(
            fields=", ".join(f"`{table}.{column}`" for table, column, _ in encrypted),
            custodians=", ".join(text(rules.record.recipients.get(c, c), lang)
                                 for c in custodians) or t["not_stated"],
            key_topic=rules.data_keys.topic,
            shred_within=_duration_words(rules.data_keys.shred_within, t)))
    enforced.append(t["tom.subject_access"].format(audit_topic=rules.audit_topic))
    if rules.anomaly is not None and rules.anomaly.detectors:
        enforced.append(t["tom.anomaly"].format(
            detectors=", ".join(rules.anomaly.detectors),
            by_actor_topic=rules.anomaly.by_actor_topic,
            retention=_duration_words(
                isodate.duration_isoformat(rules.anomaly.by_actor_retention), t)))
    if rules.kpis:
        enforced.append(t["tom.kpis"].format(
            kpis=", ".join(rules.kpis), facts_topic=rules.kpi.facts_topic,
            retention=_duration_words(isodate.duration_isoformat(rules.kpi.facts_retention),
                                      t)))
    general = [text(m, lang) for m in report.record.measures]
    return [Heading(2, t["toms"], "measures"),
            Label(t["toms_general"]), Bullets(general or [t["not_stated"]]),
            Label(t["toms_enforced"]), Bullets([_marked(said) for said in enforced])]


def _annex_table(table: TableEntry, t: dict[str, str], lang: str) -> Section:
    views = [r.view for r in table.recipients]
    rows = []
    for f in table.fields:
        cls: list[str | Code] = [t["class." + f.field_class]]
        if f.justification:
            cls += [f" ({t['justification']}: {text(f.justification, lang)})"]
        rows.append([Code(f.name), cls, *(_measure(f.measures[v], t, lang) for v in views)])
    fields: list[tuple[str, Inline]] = [(t["source"], Code(table.topic))]
    if table.description:
        fields.append((t["description"], text(table.description, lang)))
    return Section(f"table-{table.name}", [
        Heading(3, [t["annex_table"], " ", Code(table.name)]), Fields(fields),
        Grid([t["field"], t["class"], *(Code(v) for v in views)], rows)])


def _measure(measure: Measure, t: dict[str, str], lang: str) -> Inline:
    return _marked(_measure_text(measure, t, lang))


def _measure_text(measure: Measure, t: dict[str, str], lang: str) -> str:
    """The measure as text with `identifiers` marked (see Localized)."""
    said = measure.text(lang)
    if measure.condition is None or measure.otherwise is None:
        return said
    field_name, test, value = measure.condition
    if test == "not_null":
        condition = t["test.not_null"].format(field=f"`{field_name}`")
    else:
        shown = t["true" if value else "false"] if isinstance(value, bool) else repr(value)
        condition = t["test.equals"].format(field=f"`{field_name}`", value=shown)
    return t["m.when"].format(then=said, test=condition,
                              otherwise=_measure_text(measure.otherwise, t, lang))


def _marked(said: str) -> Inline:
    """A text with `identifiers`: its plain parts and its code parts."""
    return [Code(part) if i % 2 else part for i, part in enumerate(said.split("`")) if part]


def _findings(report: Report, t: dict[str, str], lang: str) -> list[Inline]:
    found = list(report.findings)
    untranslated = report.untranslated(lang)
    if untranslated:
        found.append(Finding("info", "", "", "untranslated", ", ".join(untranslated)))
    out: list[Inline] = []
    for f in found:
        where = f"{f.table}.{f.field}" if f.field else f.table
        line: list[str | Code] = [t[f"severity.{f.severity}"], " "]
        if where:
            line += [Code(where), ": "]
        out.append([*line, t[f"f.{f.code}"].format(detail=text(f.detail, lang))])
    return out


def _names(ids: Iterable[str], named: dict[str, Any], lang: str) -> list[str | Code]:
    """Identifiers of the rules in words where the record names them, else as code."""
    out: list[str | Code] = []
    for i, name in enumerate(ids):
        out += ([", "] if i else []) + [text(named[name], lang) if name in named else Code(name)]
    return out


def _codes(names: Iterable[str]) -> list[str | Code]:
    out: list[str | Code] = []
    for name in names:
        out += [", ", Code(name)] if out else [Code(name)]
    return out


def render_markdown(report: Report, lang: str = "en") -> str:
    return to_markdown(document(report, lang))


def render_html(report: Report, lang: str = "en") -> str:
    return to_html(document(report, lang), lang, LABELS[lang]["title"])
