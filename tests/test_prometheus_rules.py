"""Alert rules: valid, unit-tested with the real promtool, documented, on exported metrics."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

from processor.observability import metrics
from tests.helpers import require_tool

REPO = Path(__file__).resolve().parents[1]
PROM = REPO / "deploy" / "prometheus"
RULES = PROM / "rules" / "crm-masker.yml"
TESTS = PROM / "tests" / "crm-masker.test.yml"


def alert_rules() -> list[dict]:  # type: ignore[type-arg]
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def exported_metric_names() -> set[str]:
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, (MetricWrapperBase, metrics.BatchHistogram)):
            for family in value.describe():
                names.add(family.name)
                names.update(f"{family.name}{suffix}" for suffix in
                             ("_total", "_bucket", "_sum", "_count", "_info", "_created"))
    return names


def test_promtool_checks_and_unit_tests_pass() -> None:
    promtool = require_tool("promtool")
    check = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    config = subprocess.run([promtool, "check", "config", str(PROM / "prometheus.yml")],
                            capture_output=True, text=True)
    assert config.returncode == 0, config.stdout + config.stderr
    unit = subprocess.run([promtool, "test", "rules", str(TESTS)], capture_output=True,
                          text=True)
    assert unit.returncode == 0 and "SUCCESS" in unit.stdout, unit.stdout + unit.stderr


def test_every_alert_is_tested_firing_and_silent() -> None:
    tests = yaml.safe_load(TESTS.read_text())["tests"]
    firing, silent = set(), set()
    for test in tests:
        series_instances = set(re.findall(r'instance="([^"]+)"',
                                          " ".join(s["series"] for s in test["input_series"])))
        for case in test["alert_rule_test"]:
            fired = {a["exp_labels"].get("instance") for a in case["exp_alerts"]}
            if case["exp_alerts"]:
                firing.add(case["alertname"])
            if not case["exp_alerts"] or series_instances - fired:
                silent.add(case["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names == firing, names ^ firing
    assert names == silent, names ^ silent


RUNBOOK_URL = "https://github.com/crm-masker/crm-masker/blob/main/deploy/RUNBOOK.md#"


def test_every_alert_has_for_severity_team_text_and_a_runbook_url() -> None:
    runbook = (REPO / "deploy" / "RUNBOOK.md").read_text()
    anchors = {h.strip().lower() for h in re.findall(r"^## (\S+)", runbook, re.M)}
    for rule in alert_rules():
        assert "for" in rule, rule["alert"]
        labels = rule["labels"]
        assert labels["team"] in ("ops", "security", "privacy")
        # ops alerts carry a severity; access anomalies keep their detector's own
        allowed = (None,) if labels["team"] == "security" else ("critical", "warning", "info")
        assert labels.get("severity") in allowed, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"]
        assert annotations["runbook_url"].startswith(RUNBOOK_URL)  # absolute: a link that works
        anchor = annotations["runbook_url"].split("#")[1]
        assert anchor in anchors, f"RUNBOOK.md has no section for {rule['alert']}"


def test_alerts_only_use_metrics_that_the_processor_exports() -> None:
    exported = exported_metric_names() | {"up"}
    for rule in alert_rules():
        used = set(re.findall(r"\b(crm_masker_\w+|up)\b", rule["expr"]))
        assert used <= exported, (rule["alert"], used - exported)
