"""A small block document (headings, fields, tables, lists) and its two writers, Markdown and
one self-contained HTML page: the record of processing activities is laid out once in blocks,
so both formats always say the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any


class Code(str):
    """An identifier of the rules (a table, field, topic, view): printed as code, never
    translated."""


Inline = str | Code | list[str | Code]


@dataclass
class Heading:
    level: int
    text: Inline
    anchor: str = ""


@dataclass
class Para:
    text: Inline
    css: str = ""


@dataclass
class Label:
    """The label of the list that follows (Art. 30(1)(b) … (g))."""

    text: str


@dataclass
class Fields:
    """Label: value lines (a definition list)."""

    items: Sequence[tuple[str, Inline]]


@dataclass
class Bullets:
    items: Sequence[Inline]


@dataclass
class Grid:
    header: list[Inline]
    rows: list[list[Inline]]


@dataclass
class Section:
    """A part that printing starts on a new page (one per table in annex A)."""

    anchor: str
    blocks: list[Any] = field(default_factory=list)


# ---- Markdown ----------------------------------------------------------------------------

def md(value: str) -> str:
    """Rule text (descriptions, justifications, names) as inline Markdown: raw HTML shown as
    text, and no ``|`` or line break that would end a table cell or row."""
    return (escape(str(value), quote=False).replace("|", "\\|").replace("\r", " ")
            .replace("\n", " "))


def code(value: str) -> str:
    """A name in a Markdown code span: a backtick would end it, a ``|`` the table cell."""
    return "`" + str(value).replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _md_inline(value: Inline) -> str:
    parts = value if isinstance(value, list) else [value]
    return "".join(code(p) if isinstance(p, Code) else md(p) for p in parts)


def _md_block(block: Any) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + _md_inline(block.text), ""]
    if isinstance(block, Para):
        return [_md_inline(block.text), ""]
    if isinstance(block, Label):
        return [f"**{md(block.text)}:**", ""]
    if isinstance(block, Fields):
        return [f"- **{md(k)}:** {_md_inline(v)}" for k, v in block.items] + [""]
    if isinstance(block, Bullets):
        return [f"- {_md_inline(item)}" for item in block.items] + [""]
    if isinstance(block, Grid):
        return ["| " + " | ".join(map(_md_inline, block.header)) + " |",
                "|" + "---|" * len(block.header),
                *("| " + " | ".join(map(_md_inline, row)) + " |" for row in block.rows), ""]
    if isinstance(block, Section):
        return [line for inner in block.blocks for line in _md_block(inner)]
    raise TypeError(type(block).__name__)


# ---- HTML --------------------------------------------------------------------------------

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;color:#1b1f23;max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #1b1f23}h2{font-size:1.25em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{border:1px solid #c8ccd0;
padding:3px 6px;text-align:left;vertical-align:top}th{background:#eef1f4}code{font-size:.92em}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}
p.label{font-weight:600;margin:.8em 0 .2em}ul{margin-top:.2em}.meta{color:#57606a}
@media print{body{margin:0;max-width:none;font-size:10pt}section.table{break-before:page}
th{background:#eee!important;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _html_inline(value: Inline) -> str:
    parts = value if isinstance(value, list) else [value]
    return "".join(f"<code>{escape(p)}</code>" if isinstance(p, Code) else escape(p)
                   for p in parts)


def _html_block(block: Any) -> str:
    if isinstance(block, Heading):
        anchor = f" id='{escape(block.anchor)}'" if block.anchor else ""
        return f"<h{block.level}{anchor}>{_html_inline(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        css = f" class='{block.css}'" if block.css else ""
        return f"<p{css}>{_html_inline(block.text)}</p>"
    if isinstance(block, Label):
        return f"<p class='label'>{escape(block.text)}:</p>"
    if isinstance(block, Fields):
        return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{_html_inline(v)}</dd>"
                                for k, v in block.items) + "</dl>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Grid):
        head = "".join(f"<th>{_html_inline(h)}</th>" for h in block.header)
        rows = "".join("<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row) + "</tr>"
                       for row in block.rows)
        return f"<table><tr>{head}</tr>{rows}</table>"
    if isinstance(block, Section):
        return (f"<section class='table' id='{escape(block.anchor)}'>"
                + "".join(map(_html_block, block.blocks)) + "</section>")
    raise TypeError(type(block).__name__)


def to_markdown(blocks: list[Any]) -> str:
    lines = [line for block in blocks for line in _md_block(block)]
    return "\n".join(lines).rstrip("\n") + "\n"


def to_html(blocks: list[Any], lang: str, title: str) -> str:
    body = [_html_block(b) for b in blocks]
    return "\n".join([f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>",
                      f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
                      *body, "</body></html>"]) + "\n"
