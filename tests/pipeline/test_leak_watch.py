"""Leak watch on the real broker: a mis-classed e-mail column is found, shipped rules are clean."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.pipeline.harness import Namespace, cli, output_topics, start_processor, stop
from tests.pipeline.test_lifecycle import free_port, http_get, wait_for

pytestmark = pytest.mark.kafka
CONSUMED = re.compile(r"crm_masker_events_consumed_total\{[^}]*\} (\S+)")
SUSPECT = re.compile(r'crm_masker_output_pii_suspected_total\{field="(\w+)",kind="(\w+)",'
                     r'table="(\w+)"\} ([1-9][\d.e+]*)')  # the non-zero counts


def run_and_scrape(ns: Namespace, bootstrap: str) -> str:
    """Run the processor over the generated input; the metrics page once the input is drained."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    proc = start_processor(ns, bootstrap, metrics_port=port)
    try:
        wait_for(lambda: 'crm_masker_leak_watch_rows_total{table="contacts"}' in http_get(url)[1],
                 timeout=90)
        previous, text = "", http_get(url)[1]
        while CONSUMED.findall(text) != CONSUMED.findall(previous):  # until the input is drained
            time.sleep(1.5)
            previous, text = text, http_get(url)[1]
    finally:
        log = stop(proc)
    assert proc.returncode == 0, log
    return text


def setup(tmp_path: Path, bootstrap: str, leak: bool) -> Namespace:
    ns = Namespace(tmp_path).create()
    ruleset = ns.rules / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text() + "leak_watch_sample: 1.0\n")
    if leak:
        users = ns.rules / "tables" / "users.yaml"
        users.write_text(users.read_text().replace(
            "email:          {class: personal,   action: pseudonymize, domain: email, "
            "normalize: [strip, lower]}",
            "email:          {class: business,   action: keep}"))
        assert "class: business,   action: keep}" in users.read_text()
    ns.topics(bootstrap)
    ns.generate(bootstrap, 3000, 8)
    return ns


def test_an_email_column_classed_business_is_found(kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = setup(tmp_path, kafka_bootstrap, leak=True)
    text = run_and_scrape(ns, kafka_bootstrap)
    found = {(t, f, k): float(n) for f, k, t, n in SUSPECT.findall(text)}
    assert found.get(("users", "email", "email"), 0) > 100, found
    assert {t for t, _, _ in found} == {"users"}, found
    users_topic = f"{ns.ns}.bi.analytics.users"
    scan = cli("scan", "--bootstrap-servers", kafka_bootstrap, "--topic", users_topic,
               check=False)
    assert scan.returncode == 1
    assert re.search(r"  email: \d+ × email", scan.stdout), scan.stdout
    assert "@" not in scan.stdout  # counts, never the values


def test_shipped_rules_keep_the_leak_watch_silent(kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = setup(tmp_path, kafka_bootstrap, leak=False)
    text = run_and_scrape(ns, kafka_bootstrap)
    assert not SUSPECT.findall(text)
    assert re.search(r'crm_masker_leak_watch_rows_total\{table="contacts"\} [1-9]', text)
    args = [arg for topic in output_topics(ns) for arg in ("--topic", topic)]
    scan = cli("scan", "--bootstrap-servers", kafka_bootstrap, *args, check=False)
    assert scan.returncode == 0, scan.stdout
    assert scan.stdout.count("0 suspect value(s)") == len(output_topics(ns))
