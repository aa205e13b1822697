"""Render the record of processing activities as Markdown or as one self-contained HTML page."""

from __future__ import annotations

from html import escape

from processor.governance.labels import LABELS
from processor.governance.report import LEGAL_BASIS_ARTICLE, Report, TableEntry

CLASSES = ("identifier", "personal", "special", "free_text", "business", "technical")


def md(text: str) -> str:
    """Rule text (descriptions, justifications, names) as inline Markdown: raw HTML shown as
    text, and no ``|`` or line break that would end a table cell or row."""
    return (escape(str(text), quote=False).replace("|", "\\|").replace("\r", " ")
            .replace("\n", " "))


def code(text: str) -> str:
    """A name in a Markdown code span: a backtick would end it, a ``|`` the table cell."""
    return "`" + str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _basis(table: TableEntry) -> str:
    return f"{table.legal_basis} ({LEGAL_BASIS_ARTICLE[table.legal_basis]})"


def _categories(table: TableEntry, t: dict[str, str]) -> list[tuple[str, str]]:
    return [(t[f"class.{c}"], ", ".join(table.fields_of(c))) for c in CLASSES if table.fields_of(c)]


def _finding_text(report: Report, lang: str) -> list[tuple[str, str, str]]:
    t = LABELS[lang]
    return [(t[f"severity.{f.severity}"], f"{f.table}.{f.field}" if f.field else f.table,
             t[f"f.{f.code}"].format(detail=f.detail)) for f in report.findings]


def render_markdown(report: Report, lang: str = "en") -> str:
    t = LABELS[lang]
    out = [f"# {t['title']}", "", t["generated"].format(version=md(report.version),
                                                         sha=report.sha256[:16]), ""]
    c = report.controller
    out += [f"- **{t['controller']}:** {md(c.get('name', ''))}", f"- **{t['contact']}:** "
            f"{md(c.get('contact', ''))}", f"- **{t['dpo']}:** {md(c.get('dpo', ''))}", "",
            t["tom"].format(key_id=md(report.key_id)), ""]
    for table in report.tables:
        out += [f"## {t['table']} {code(table.name)}", "",
                f"- **{t['source']}:** {code(table.topic)}",
                f"- **{t['description']}:** {md(table.description)}",
                f"- **{t['subjects']}:** {md(', '.join(table.data_subjects))}",
                f"- **{t['purposes']}:** {md(', '.join(table.purposes))}",
                f"- **{t['legal_basis']}:** {_basis(table)}",
                f"- **{t['retention']}:** {md(table.retention)}",
                f"- **{t['special']}:** "
                f"{md(', '.join(table.fields_of('special'))) or t['special_none']}",
                "", f"**{t['categories']}:**", ""]
        out += [f"- {name}: {md(fields)}" for name, fields in _categories(table, t)]
        out += ["", f"**{t['recipients']}:**", "",
                f"| {t['view']} | {t['topic']} | {t['format']} | {t['readers']} |",
                "|---|---|---|---|"]
        out += [f"| {md(r.view)} | {code(r.topic)} | {md(r.format)} | {md(', '.join(r.readers))} |"
                for r in table.recipients]
        views = [r.view for r in table.recipients]
        out += ["", f"**{t['measures']}:**", "",
                f"| {t['field']} | {t['class']} | " + " | ".join(map(md, views)) + " |",
                "|---|---|" + "---|" * len(views)]
        for f in table.fields:
            cells = [md(f.measures[v].text(lang)) for v in views]
            note = f" ({t['justification']}: {md(f.justification)})" if f.justification else ""
            out.append(f"| {code(f.name)} | {t['class.' + f.field_class]}{note} | "
                       + " | ".join(cells) + " |")
        out.append("")
    out += [f"## {t['flow']}", "", t["flow_intro"], ""]
    for table in report.tables:
        for r in table.recipients:
            kept = [f.name for f in table.fields if f.measures[r.view].action != "drop"]
            out.append(f"- {code(table.topic)} → {code(r.topic)} ({md(r.view)}): "
                       f"{md(', '.join(kept))}")
    out += ["", f"## {t['findings']}", ""]
    findings = _finding_text(report, lang)
    out += [f"- **{sev}** {code(where)}: {md(text)}" for sev, where, text in findings] \
        or [t["no_findings"]]
    return "\n".join(out) + "\n"


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;color:#1b1f23;max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #1b1f23}h2{font-size:1.25em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{border:1px solid #c8ccd0;
padding:3px 6px;text-align:left;vertical-align:top}th{background:#eef1f4}code{font-size:.92em}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}
.warning{color:#a4260b;font-weight:600}.info{color:#3c5a78}.meta{color:#57606a}
@media print{body{margin:0;max-width:none;font-size:10pt}section.table{break-before:page}
th{background:#eee!important;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def render_html(report: Report, lang: str = "en") -> str:
    t = LABELS[lang]
    e = escape
    parts = [f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>",
             f"<title>{e(t['title'])}</title><style>{STYLE}</style></head><body>",
             f"<h1>{e(t['title'])}</h1>",
             "<p class='meta'>"
             f"{e(t['generated'].format(version=report.version, sha=report.sha256[:16]))}</p>"]
    c = report.controller
    parts.append("<dl>" + "".join(f"<dt>{e(t[k])}</dt><dd>{e(c.get(f, ''))}</dd>" for k, f in
                                  (("controller", "name"), ("contact", "contact"), ("dpo", "dpo")))
                 + "</dl>")
    parts.append(f"<p>{e(t['tom'].format(key_id=report.key_id))}</p>")
    for table in report.tables:
        views = [r.view for r in table.recipients]
        rows = [(t["source"], f"<code>{e(table.topic)}</code>"),
                (t["description"], e(table.description)),
                (t["subjects"], e(", ".join(table.data_subjects))),
                (t["purposes"], e(", ".join(table.purposes))),
                (t["legal_basis"], e(_basis(table))), (t["retention"], e(table.retention)),
                (t["special"], e(", ".join(table.fields_of("special")) or t["special_none"]))]
        rows += [(f"{t['categories']}: {name}", e(fields)) for name, fields in _categories(table, t)]
        parts.append(f"<section class='table' id='table-{e(table.name)}'>"
                     f"<h2>{e(t['table'])} <code>{e(table.name)}</code></h2><dl>"
                     + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>")
        parts.append(f"<h3>{e(t['recipients'])}</h3><table><tr><th>{e(t['view'])}</th>"
                     f"<th>{e(t['topic'])}</th><th>{e(t['format'])}</th><th>{e(t['readers'])}"
                     "</th></tr>" + "".join(
                         f"<tr><td>{e(r.view)}</td><td><code>{e(r.topic)}</code></td>"
                         f"<td>{e(r.format)}</td><td>{e(', '.join(r.readers))}</td></tr>"
                         for r in table.recipients) + "</table>")
        header = "".join(f"<th>{e(v)}</th>" for v in views)
        body = "".join(
            f"<tr><td><code>{e(f.name)}</code></td><td>{e(t['class.' + f.field_class])}"
            + (f"<br><small>{e(t['justification'])}: {e(f.justification)}</small>"
               if f.justification else "") + "</td>"
            + "".join(f"<td>{e(f.measures[v].text(lang))}</td>" for v in views) + "</tr>"
            for f in table.fields)
        parts.append(f"<h3>{e(t['measures'])}</h3><table><tr><th>{e(t['field'])}</th>"
                     f"<th>{e(t['class'])}</th>{header}</tr>{body}</table></section>")
    parts.append(f"<section><h2>{e(t['flow'])}</h2><p>{e(t['flow_intro'])}</p><ul>")
    for table in report.tables:
        for r in table.recipients:
            kept = [f.name for f in table.fields if f.measures[r.view].action != "drop"]
            parts.append(f"<li><code>{e(table.topic)}</code> → <code>{e(r.topic)}</code> "
                         f"({e(r.view)}): {e(', '.join(kept))}</li>")
    parts.append(f"</ul></section><section><h2>{e(t['findings'])}</h2><ul>")
    findings = _finding_text(report, lang)
    parts += [f"<li><span class='{'warning' if sev == t['severity.warning'] else 'info'}'>"
              f"{e(sev)}</span> <code>{e(where)}</code>: {e(text)}</li>"
              for sev, where, text in findings] or [f"<li>{e(t['no_findings'])}</li>"]
    parts.append("</ul></section></body></html>")
    return "\n".join(parts) + "\n"
