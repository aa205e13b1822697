"""A real Prometheus scrapes the real processor with the project's own config and rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

from tests.pipeline.harness import Namespace, start_processor, stop
from tests.pipeline.test_lifecycle import free_port, http_get, wait_for

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[1]
PROMETHEUS = shutil.which("prometheus")


def prometheus_config(tmp_path: Path, target: str) -> Path:
    """The shipped prometheus.yml, pointed at the test's processor and evaluated every second."""
    config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(REPO / "deploy/prometheus/rules" / "*.yml")]
    config.pop("alerting")
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [target]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def query(base: str, expr: str) -> list[dict]:  # type: ignore[type-arg]
    status, body = http_get(f"{base}/api/v1/query?query={urllib.parse.quote(expr)}")
    return json.loads(body)["data"]["result"] if status == 200 else []


@pytest.mark.skipif(PROMETHEUS is None and not os.environ.get("CI"),
                    reason="Debian's prometheus is not installed here; .ci/run installs it")
def test_prometheus_sees_the_processor_up_and_a_leak_alert_firing(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    assert PROMETHEUS, "prometheus is needed: apt-get install prometheus"
    ns = Namespace(tmp_path).create()
    ruleset = ns.rules / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text() + "leak_watch_sample: 1.0\n")
    users = ns.rules / "tables" / "users.yaml"
    users.write_text(users.read_text().replace(
        "email:          {class: personal,   action: pseudonymize, domain: email, "
        "normalize: [strip, lower]}", "email:          {class: business,   action: keep}"))
    ns.topics(kafka_bootstrap)

    metrics_port, prom_port = free_port(), free_port()
    base = f"http://127.0.0.1:{prom_port}"
    processor = start_processor(ns, kafka_bootstrap, metrics_port=metrics_port)
    prometheus = subprocess.Popen(
        [PROMETHEUS, f"--config.file={prometheus_config(tmp_path, f'127.0.0.1:{metrics_port}')}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: http_get(f"{base}/-/ready")[0] == 200, timeout=60)
        wait_for(lambda: [r["value"][1] for r in query(base, 'up{job="crm-masker"}')] == ["1"],
                 timeout=60)
        # users trickle in while Prometheus watches, so the counter rises between scrapes
        generator = subprocess.Popen(
            [sys.executable, "-m", "processor", "generate", "--bootstrap-servers",
             kafka_bootstrap, "--events", "3000", "--rate", "300", "--topic-prefix",
             ns.source_prefix], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def firing() -> bool:
            status, body = http_get(f"{base}/api/v1/alerts")
            alerts = json.loads(body)["data"]["alerts"] if status == 200 else []
            return any(a["labels"]["alertname"] == "CrmMaskerPersonalDataSuspected"
                       and a["labels"].get("table") == "users" and a["state"] == "firing"
                       for a in alerts)

        wait_for(firing, timeout=90)
        assert generator.wait(60) == 0
        rules = json.loads(http_get(f"{base}/api/v1/rules")[1])["data"]["groups"]
        assert {r["name"] for g in rules for r in g["rules"]} >= {
            "CrmMaskerDown", "CrmMaskerPersonalDataSuspected", "CrmMaskerSchemaDrift"}
    finally:
        prometheus.terminate()
        prometheus.wait(30)
        stop(processor)
