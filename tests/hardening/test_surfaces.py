"""What an attacker or a careless setting reaches besides events (issue #19): metric labels,
the metrics port, the client settings that exactly-once rests on, the Markdown report."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client import REGISTRY, generate_latest

from processor.anomaly.config import AnomalyRules
from processor.anomaly.engine import AnomalyEngine
from processor.errors import CrmMaskerError
from processor.governance.render import render_markdown
from processor.governance.report import build_report
from processor.observability import http
from processor.pipeline import kafka_config
from processor.pipeline.checkpoint import flush_metrics
from processor.pipeline.facts import TransactionFacts
from processor.rules import load_validated
from tests.helpers import RULES, free_port

SECRET = "Erika Mustermann erika.m@example.com"


def test_access_labels_come_only_from_the_declared_vocabulary() -> None:
    """A users row whose role is a name and an e-mail, and an action nobody declared: the
    volume metric counts them as `other`, and the text never reaches /metrics."""
    rules = load_validated(RULES).rules.anomaly
    assert rules is not None
    engine = AnomalyEngine(rules)
    engine.on_row("users", "c", {"id": 7, "role": SECRET, "active": True})
    engine.on_row("users", "c", {"id": 8, "role": "sales", "active": True})
    labels = []
    for actor, action in ((7, "export"), (8, SECRET), (8, "export"), (9, "view")):
        engine.on_row("audit_log", "c", {"id": actor * 100 + len(labels), "user_id": actor,
                                         "action": action, "record_count": 3,
                                         "occurred_at": 1_700_000_000_000_000})
        assert engine.last_access is not None
        labels.append(engine.last_access[:2])
    assert labels == [("other", "export"), ("sales", "other"), ("sales", "export"),
                      ("unknown", "view")]
    facts = TransactionFacts()
    for role, action in labels:
        facts.access_records[(role, action)] += 3
    flush_metrics(facts)
    exposed = generate_latest(REGISTRY).decode()
    assert "Erika" not in exposed and "example.com" not in exposed
    assert 'crm_masker_access_records_total{action="other",role="sales"}' in exposed


def test_without_a_vocabulary_every_label_is_other() -> None:
    engine = AnomalyEngine(AnomalyRules.model_validate({"access_log": {"table": "audit_log"}}))
    engine.on_row("audit_log", "c", {"id": 1, "user_id": 1, "action": "export",
                                     "occurred_at": 1_700_000_000_000_000})
    assert engine.last_access == ("unknown", "other", 1)


def test_the_metrics_port_is_loopback_exact_and_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "REQUEST_TIMEOUT_S", 0.5)
    port = free_port()
    server = http.serve(port, http.Health())
    try:
        assert server.server_address[0] == "127.0.0.1"
        base = f"http://127.0.0.1:{port}"
        assert b"crm_masker" in urllib.request.urlopen(base + "/metrics", timeout=5).read()
        for path in ("/metricsfoo", "/metrics/x", "/healthzz", "/"):
            with pytest.raises(urllib.error.HTTPError) as exc:
                urllib.request.urlopen(base + path, timeout=5)
            assert exc.value.code == 404, path
        # half-sent requests: more than the cap, each held open; they are let go after the
        # timeout, and a real scrape is served again
        held = []
        for _ in range(http.MAX_CONNECTIONS + 8):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /metr")
            held.append(sock)
        time.sleep(1.5)
        assert b"crm_masker" in urllib.request.urlopen(base + "/metrics", timeout=5).read()
        closed = 0
        for sock in held:
            sock.settimeout(2)
            with contextlib.suppress(TimeoutError, ConnectionResetError):
                closed += sock.recv(1) == b""
            sock.close()
        assert closed == len(held), "a half-sent request still holds its connection"
    finally:
        server.shutdown()


@pytest.mark.parametrize("name", sorted(kafka_config.PROTECTED))
def test_exactly_once_settings_cannot_be_overridden(name: str) -> None:
    with pytest.raises(CrmMaskerError, match=name):
        kafka_config.consumer_config("b:9092", "g", "i", {name: "x"})
    with pytest.raises(CrmMaskerError, match=name):
        kafka_config.producer_config("b:9092", "t", {name: "x"})


def test_run_refuses_an_override_before_it_connects() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "processor", "run", "--bootstrap-servers", "127.0.0.1:1",
         "--keys", "deploy/keys/demo-keys.yaml", "--allow-demo-keys",
         "--kafka-option", "isolation.level=read_uncommitted"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "isolation.level cannot be changed" in result.stderr
    assert time.monotonic() - started < 20


def test_rule_text_cannot_break_the_markdown_report(tmp_path: pytest.TempPathFactory) -> None:
    import shutil
    rules = tmp_path / "rules"  # type: ignore[operator]
    shutil.copytree(RULES, rules)
    contacts = rules / "tables" / "contacts.yaml"
    contacts.write_text(contacts.read_text().replace(
        "en: BI must honour consent (purpose limitation); a yes/no flag",
        'en: "a | b <script>alert(1)</script>"'))
    text = render_markdown(build_report(load_validated(rules)))
    row = next(line for line in text.splitlines() if line.startswith("| `consent_marketing`"))
    header = next(line for line in text.splitlines() if line.startswith("| Field |")
                  and "analytics" in line)
    assert row.count(" | ") == header.count(" | ")  # the cell did not split
    assert "<script>" not in text and "&lt;script&gt;" in text
