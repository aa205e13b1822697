"""The record of processing activities is generated from the rules and follows them."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

from click.testing import CliRunner

from processor.cli import main
from tests.helpers import require_tool

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"


def report(rules: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["report", "--rules", str(rules), "--date", "2026-12-06",
                                       *args])
    assert result.exit_code == 0, result.output
    return result.output


def section(md: str, table: str) -> str:
    """A table's part of annex A (its measures per field and view)."""
    start = md.index(f"### Table `{table}`") if "### Table" in md \
        else md.index(f"### Tabelle `{table}`")
    end = md.find("\n##", start + 4)
    return md[start:end]


def test_report_covers_every_table_and_field_of_the_reference_model() -> None:
    from processor.generator.model import TABLES  # equal to docs/crm-model.md, tested in tests/rules

    md = report(RULES)
    for table, columns in TABLES.items():
        text = section(md, table)
        for column in columns:
            assert f"| `{column}` |" in text, (table, column)
        assert "crm.public." + table in text
    assert "`contacts.health_notes`: special category, read and published in no view" in md
    assert ("`contacts.health_notes`: read under explicit consent (Art. 9(2)(a) GDPR); "
            "published in no view") in md


def test_report_changes_when_a_rule_changes(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    before = report(rules)
    phone = re.search(r"\| `phone` \|.*", section(before, "contacts"))
    assert phone and "masked, only the last 2 characters shown" in phone.group(0)

    contacts = rules / "tables" / "contacts.yaml"
    text = contacts.read_text()
    text = text.replace("phone:              {class: personal,   action: mask, keep_last: 2}",
                        "phone:              {class: personal,   action: drop}")
    text = re.sub(r"        justification:\n          en: ISO country code only[^\n]*\n"
                  r"          de: [^\n]*\n", "", text)
    contacts.write_text(text)
    after = report(rules)
    phone = re.search(r"\| `phone` \|.*", section(after, "contacts"))
    assert phone and "masked" not in phone.group(0) and "| removed |" in phone.group(0)
    assert ("warning `contacts.country`: personal field published in clear in view(s): "
            "analytics, sales_ops") in after
    assert "warning `contacts.country`" not in before
    assert "note `contacts.country`: published in clear, justified: ISO country code" in before


def test_german_labels() -> None:
    md = report(RULES, "--lang", "de")
    assert md.startswith("# Verzeichnis von Verarbeitungstätigkeiten (Art. 30 Abs. 1 DSGVO)")
    assert "pseudonymisiert (HMAC-SHA256, Schlüssel `k2026a`, Domäne `contact`)" in md
    assert "vergröbert auf Jahr" in md and "Rechtsgrundlage" in md
    assert "Vertrag (Art. 6 Abs. 1 lit. b DSGVO)" in md
    assert "maskiert, nur die letzten 2 Zeichen sichtbar" in md
    assert "wenn `consent_marketing` = wahr, sonst durch null ersetzt" in md


def test_html_is_one_self_contained_page() -> None:
    html = report(RULES, "--format", "html")
    assert html.startswith("<!doctype html>") and "@media print" in html
    assert not re.search(r"(src|href)=['\"]?https?:", html)
    assert html.count("<section class='table'") == 6
    assert "<h2 id='activity-analytics'>" in html and "<code>analytics</code>" in html


def _png_facts(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values of the pixel data."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = require_tool("chromium", "chromium-browser")
    page = tmp_path / "report.html"
    page.write_text(report(RULES, "--format", "html", "--lang", "de"), encoding="utf-8")
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "Verzeichnis von Verarbeitungstätigkeiten" in dom
    assert all(f"id=\"table-{t}\"" in dom for t in ("contacts", "accounts", "audit_log"))
    shot = tmp_path / "report.png"
    subprocess.run([*flags, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    width, height, shades = _png_facts(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    assert shades > 50, "the screenshot is blank"
    pdf = tmp_path / "report.pdf"
    subprocess.run([*flags, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    pages = pdf.read_bytes().count(b"/Type /Page") - pdf.read_bytes().count(b"/Type /Pages")
    assert pages >= 7, "printing starts each table on its own page"
