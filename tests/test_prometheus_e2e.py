"""A real Prometheus scrapes the real processor with the project's own config and rules, and
a real Alertmanager with the shipped routes delivers to the sample receiver of compose."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import require_tool
from tests.pipeline.harness import Namespace, read_topics, start_processor, stop
from tests.pipeline.test_lifecycle import free_port, http_get, wait_for

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[1]


def prometheus_config(tmp_path: Path, target: str, alertmanager: str) -> Path:
    """The shipped prometheus.yml, pointed at the test's processor and Alertmanager and
    evaluated every second."""
    config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(REPO / "deploy/prometheus/rules" / "*.yml")]
    (managers,) = config["alerting"]["alertmanagers"]
    managers["static_configs"] = [{"targets": [alertmanager]}]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [target]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def query(base: str, expr: str) -> list[dict]:  # type: ignore[type-arg]
    status, body = http_get(f"{base}/api/v1/query?query={urllib.parse.quote(expr)}")
    return json.loads(body)["data"]["result"] if status == 200 else []


def alertmanager_config(tmp_path: Path, receiver: str) -> Path:
    """The shipped alertmanager.yml with the sample receiver's address of the test."""
    text = (REPO / "deploy/alertmanager/alertmanager.yml").read_text()
    assert "http://alert-receiver:8080/" in text
    path = tmp_path / "alertmanager.yml"
    path.write_text(text.replace("http://alert-receiver:8080/", f"{receiver}/"))
    return path


def notifications(receiver: str) -> list[dict]:  # type: ignore[type-arg]
    status, body = http_get(f"{receiver}/notifications")
    return json.loads(body) if status == 200 else []


def start_alerting(tmp_path: Path, started: list[subprocess.Popen[bytes]]) -> tuple[str, str]:
    """The sample receiver (deploy/alert_receiver.py) and the real Alertmanager routing to it;
    their addresses."""
    receiver_port, manager_port = free_port(), free_port()
    receiver = f"http://127.0.0.1:{receiver_port}"
    started.append(subprocess.Popen(
        [sys.executable, str(REPO / "deploy/alert_receiver.py"), "--host", "127.0.0.1",
         "--port", str(receiver_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    started.append(subprocess.Popen(
        [require_tool("prometheus-alertmanager"),
         f"--config.file={alertmanager_config(tmp_path, receiver)}",
         f"--storage.path={tmp_path / 'alertmanager'}",
         f"--web.listen-address=127.0.0.1:{manager_port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(lambda: http_get(f"{receiver}/healthz")[0] == 200, timeout=30)
    wait_for(lambda: http_get(f"http://127.0.0.1:{manager_port}/-/ready")[0] == 200, timeout=60)
    return receiver, f"127.0.0.1:{manager_port}"


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[int], tuple[str, str]]]:
    """Start the real Prometheus with the shipped config and rules against a processor port,
    and Alertmanager with the sample receiver; the addresses of Prometheus and the receiver."""
    prometheus = require_tool("prometheus")
    started: list[subprocess.Popen[bytes]] = []

    def start(metrics_port: int) -> tuple[str, str]:
        port = free_port()
        receiver, alertmanager = start_alerting(tmp_path, started)
        config = prometheus_config(tmp_path, f"127.0.0.1:{metrics_port}", alertmanager)
        started.append(subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_get(f"{base}/-/ready")[0] == 200, timeout=60)
        wait_for(lambda: [r["value"][1] for r in query(base, 'up{job="crm-masker"}')] == ["1"],
                 timeout=60)
        return base, receiver

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(30)


def firing(base: str, alertname: str, **labels: str) -> bool:
    status, body = http_get(f"{base}/api/v1/alerts")
    alerts = json.loads(body)["data"]["alerts"] if status == 200 else []
    return any(a["labels"]["alertname"] == alertname and a["state"] == "firing"
               and all(a["labels"].get(k) == v for k, v in labels.items()) for a in alerts)


def assert_dashboard_queries_answer(base: str) -> None:
    """Every query of the shipped Grafana dashboard is valid PromQL for the real Prometheus, and
    the throughput, commit and leak-watch panels show the running processor."""
    dashboard = json.loads((REPO / "deploy/grafana/dashboards/crm-masker.json").read_text())
    answered = {}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$instance", ".*")
            status, body = http_get(f"{base}/api/v1/query?query={urllib.parse.quote(expr)}")
            assert status == 200 and json.loads(body)["status"] == "success", (expr, body)
            answered[panel["title"]] = json.loads(body)["data"]["result"]
    for title in ("Input events/s by topic", "Leak watch: rows inspected/s by table",
                  "Seconds since the last committed transaction, by instance", "Rule set"):
        wait_for(lambda title=title: query(base, next(
            t["expr"].replace("$instance", ".*") for p in dashboard["panels"]
            if p["title"] == title for t in p["targets"])) != [], timeout=30)
    assert len(answered) == len(dashboard["panels"])


def delivered(receiver: str, receiver_name: str, alertname: str, **labels: str) -> bool:
    return any(n["receiver"] == receiver_name and n["alertname"] == alertname
               and n["status"] == "firing" and all(n.get(k) == v for k, v in labels.items())
               for n in notifications(receiver))


def test_prometheus_sees_the_processor_up_and_a_leak_alert_firing(
        kafka_bootstrap: str, tmp_path: Path,
        prometheus: Callable[[int], tuple[str, str]]) -> None:
    ns = Namespace(tmp_path).create()
    ruleset = ns.rules / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text() + "leak_watch_sample: 1.0\n")
    users = ns.rules / "tables" / "users.yaml"
    users.write_text(users.read_text().replace(
        "email:          {class: personal,   action: pseudonymize, domain: email, "
        "normalize: [strip, lower]}", "email:          {class: business,   action: keep}"))
    ns.topics(kafka_bootstrap)
    metrics_port = free_port()
    processor = start_processor(ns, kafka_bootstrap, metrics_port=metrics_port)
    try:
        base, receiver = prometheus(metrics_port)
        ns.generate(kafka_bootstrap, 3000, 1, "--rate", "1000")
        try:
            wait_for(lambda: firing(base, "CrmMaskerPersonalDataSuspected", table="users"),
                     timeout=90)
        except AssertionError:
            leaks = query(base, "crm_masker_output_pii_suspected_total")
            raise AssertionError(f"no leak alert; series {leaks}; processor log:\n"
                                 f"{stop(processor)[-4000:]}") from None
        rules = json.loads(http_get(f"{base}/api/v1/rules")[1])["data"]["groups"]
        assert {r["name"] for g in rules for r in g["rules"]} >= {
            "CrmMaskerDown", "CrmMaskerPersonalDataSuspected", "CrmMaskerAccessAnomaly"}
        assert_dashboard_queries_answer(base)
        # Alertmanager routes the leak to security and to the data-protection officer
        for name in ("security", "privacy"):
            wait_for(lambda name=name: delivered(receiver, name, "CrmMaskerPersonalDataSuspected",
                                                 table="users", severity="critical"), timeout=60)
        assert not any(n["receiver"] in ("ops", "ops-pager", "pager")
                       and n["alertname"] == "CrmMaskerPersonalDataSuspected"
                       for n in notifications(receiver))
    finally:
        stop(processor)


def test_an_injected_mass_export_fires_its_alert_in_prometheus(
        kafka_bootstrap: str, tmp_path: Path,
        prometheus: Callable[[int], tuple[str, str]]) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    metrics_port = free_port()
    processor = start_processor(ns, kafka_bootstrap, metrics_port=metrics_port)
    try:
        base, receiver = prometheus(metrics_port)
        result = subprocess.run(
            [sys.executable, "-m", "processor", "generate", "--scenario", "access-days",
             "--users", "60", "--bootstrap-servers", kafka_bootstrap, "--topic-prefix",
             ns.source_prefix], capture_output=True, timeout=300)
        assert result.returncode == 0, result.stderr
        wait_for(lambda: firing(base, "CrmMaskerAccessAnomaly", detector="sales_mass_export"),
                 timeout=90)
        assert not firing(base, "CrmMaskerPersonalDataSuspected")
        # the security team is notified, with the detector's own severity
        wait_for(lambda: delivered(receiver, "security", "CrmMaskerAccessAnomaly",
                                   detector="sales_mass_export", severity="high"), timeout=60)
        # who did it is on the alert topic for the security team, never in a metric label
        actors = {r.value["actor"] for r in read_topics(kafka_bootstrap, [f"{ns.ns}.crm.alerts"])}
        assert actors
        series = query(base, '{__name__=~"crm_masker_.+"}')
        # every label value but the scrape's own and the partition numbers (actor ids are
        # small numbers too: "3" is the lag of partition 3, not user 3)
        values = {v for s in series for k, v in s["metric"].items()
                  if k not in ("instance", "job", "partition")}
        assert len(series) > 50 and not actors & values
    finally:
        stop(processor)
