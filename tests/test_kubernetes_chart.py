"""The Helm chart, checked with the real tools (helm lint, helm template, kubeconform against
Kubernetes' and the Prometheus Operator's schemas) and read as the processor would read it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.kubernetes import check_chart
from deploy.kubernetes.check_chart import CHART, FULL_VALUES, KUBERNETES_VERSIONS
from processor.kafka_options import client_options
from processor.rules import load_validated

REPO = Path(__file__).resolve().parents[1]
ALERT_RULES = REPO / "deploy/prometheus/rules/crm-masker.yml"


def full_values() -> dict[str, Any]:
    return {**FULL_VALUES, **check_chart.rules_values()}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> str:
    return check_chart.render(full_values(), tmp_path_factory.mktemp("helm"))


def objects(manifests: str) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(manifests) if doc}


def test_helm_lint_passes_strictly(tmp_path: Path) -> None:
    lint = check_chart.helm("lint", "--strict", str(CHART), values=full_values(), tmp=tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in lint.stdout


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_is_valid_for_kubernetes(rendered: str, version: str) -> None:
    kinds = check_chart.kinds(rendered)
    assert sorted(kinds) == sorted(["NetworkPolicy", "PodDisruptionBudget", "ServiceAccount",
                                    "ConfigMap", "Service", "StatefulSet", "PodMonitor",
                                    "PrometheusRule"])
    checked = check_chart.kubeconform(rendered, version)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"Valid: {len(kinds)}, Invalid: 0, Errors: 0, Skipped: 0" in checked.stdout


@pytest.mark.parametrize(("kind", "broken"), [
    ("StatefulSet", lambda o: o["spec"]["template"]["spec"]["containers"][0]
     .__setitem__("readinesProbe", {})),
    ("PodMonitor", lambda o: o["spec"].__setitem__("jobLable", "x")),
    ("PrometheusRule", lambda o: o["spec"]["groups"][0]["rules"][0].__setitem__("for", 5)),
])
def test_kubeconform_rejects_what_kubernetes_would(rendered: str, kind: str, broken: Any) -> None:
    """The validation is not vacuous: a misspelt field or a wrong type fails it."""
    docs = [doc for doc in yaml.safe_load_all(rendered) if doc]
    target = next(doc for doc in docs if doc["kind"] == kind)
    broken(target)
    checked = check_chart.kubeconform(yaml.safe_dump_all(docs), KUBERNETES_VERSIONS[-1])
    assert checked.returncode == 1 and f"{kind} crm-masker is invalid" in checked.stdout, \
        checked.stdout


def test_the_charts_alert_rules_are_the_shipped_ones(rendered: str,
                                                     tmp_path: Path) -> None:
    assert (CHART / "files/alert-rules.yml").read_bytes() == ALERT_RULES.read_bytes()
    shipped = yaml.safe_load(ALERT_RULES.read_text())["groups"]
    assert objects(rendered)["PrometheusRule"]["spec"]["groups"] == shipped
    # the runbook links can point at a copy of one's own; nothing else changes
    values = full_values()
    values["prometheusRule"] = {"enabled": True, "runbookBaseUrl": "https://wiki.example/rb"}
    moved = objects(check_chart.render(values, tmp_path))["PrometheusRule"]["spec"]["groups"]
    urls = [r["annotations"]["runbook_url"] for g in moved for r in g["rules"]]
    assert urls and all(u.startswith("https://wiki.example/rb#") for u in urls)


def container_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_pods_have_stable_ids_probes_rules_and_keys(rendered: str) -> None:
    stateful = objects(rendered)["StatefulSet"]
    pod = stateful["spec"]["template"]["spec"]
    (processor,) = pod["containers"]
    env = container_env(processor)
    # the pod's own name (crm-masker-0 …) is its transactional id and static member id
    assert env["CRM_MASKER_TRANSACTIONAL_ID"] == "$(POD_NAME)"
    pod_name = next(e for e in processor["env"] if e["name"] == "POD_NAME")
    assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert [e["name"] for e in processor["env"]].index("POD_NAME") < \
        [e["name"] for e in processor["env"]].index("CRM_MASKER_TRANSACTIONAL_ID")
    assert stateful["spec"]["serviceName"] == objects(rendered)["Service"]["metadata"]["name"]
    port = processor["ports"][0]
    assert env["CRM_MASKER_METRICS_PORT"] == str(port["containerPort"])
    assert env["CRM_MASKER_METRICS_HOST"] == "0.0.0.0"
    assert processor["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert processor["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    mounts = {m["name"]: m["mountPath"] for m in processor["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert env["CRM_MASKER_RULES"] == mounts["rules"]
    assert volumes["rules"]["configMap"]["name"] == \
        objects(rendered)["ConfigMap"]["metadata"]["name"]
    assert env["CRM_MASKER_KEYS_FILE"] == f"{mounts['keys']}/keys.yaml"
    assert volumes["keys"]["secret"]["secretName"] == "crm-masker-keys"
    assert env["CRM_MASKER_KEK_FILE"] == f"{mounts['kek']}/kek.yaml"  # a Secret of its own
    assert volumes["kek"]["secret"]["secretName"] == "crm-masker-kek" and \
        mounts["kek"] != mounts["keys"]
    assert "CRM_MASKER_ALLOW_DEMO_KEYS" not in env
    assert processor["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["automountServiceAccountToken"] is False


def test_the_kafka_options_reach_the_processor_as_given(rendered: str, tmp_path: Path) -> None:
    values = full_values()
    values["kafka"] = {**values["kafka"], "options": {
        "security.protocol": "SASL_SSL", "sasl.oauthbearer.client_id": "crm_masker",
        "socket.keepalive.enable": True}}
    stateful = objects(check_chart.render(values, tmp_path))["StatefulSet"]
    for container in (*stateful["spec"]["template"]["spec"]["initContainers"],
                      *stateful["spec"]["template"]["spec"]["containers"]):
        assert client_options((), container_env(container)) == {
            "security.protocol": "SASL_SSL", "sasl.oauthbearer.client_id": "crm_masker",
            "socket.keepalive.enable": "true"}
        assert container["envFrom"] == [{"secretRef": {"name": "crm-masker-kafka"}}]


def test_the_rules_configmap_is_the_repositorys_rule_set(rendered: str, tmp_path: Path) -> None:
    for name, content in objects(rendered)["ConfigMap"]["data"].items():
        (tmp_path / name).write_text(content)
    mounted, repository = load_validated(tmp_path), load_validated(REPO / "rules")
    assert mounted.rules.tables.keys() == repository.rules.tables.keys()
    assert mounted.rules.views.keys() == repository.rules.views.keys()
    assert mounted.rules.version == repository.rules.version


def test_cpu_is_requested_from_the_measured_cost_per_event(tmp_path: Path) -> None:
    values = full_values()
    values["sizing"] = {"eventsPerSecondPerPod": 20000, "cpuMicrosPerEvent": 41,
                        "baseMillicores": 100}
    stateful = objects(check_chart.render(values, tmp_path))["StatefulSet"]
    resources = stateful["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["cpu"] == f"{100 + 20000 * 41 // 1000}m"
    assert "cpu" not in resources["limits"] and resources["limits"]["memory"]


def test_prometheus_scrapes_as_the_alert_rules_expect(rendered: str) -> None:
    monitor = objects(rendered)["PodMonitor"]
    labels = objects(rendered)["StatefulSet"]["spec"]["template"]["metadata"]["labels"]
    job = labels[monitor["spec"]["jobLabel"]]
    assert f'up{{job="{job}"}}' in ALERT_RULES.read_text()
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    policy = objects(rendered)["NetworkPolicy"]["spec"]
    assert policy["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 9108}]
    egress_ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
    assert {9092, 9093, 8080, 53} <= egress_ports


@pytest.mark.parametrize(("unset", "message"), [
    ("kafka.bootstrapServers", "kafka.bootstrapServers is required"),
    ("keys.existingSecret", "keys.existingSecret is required"),
    ("rules.files", "give the rules"),
])
def test_missing_required_values_are_one_clear_error(tmp_path: Path, unset: str,
                                                     message: str) -> None:
    values = json.loads(json.dumps(full_values()))
    section, key = unset.split(".")
    values[section][key] = "" if key != "files" else {}
    with pytest.raises(SystemExit, match=message):
        check_chart.render(values, tmp_path)


def test_a_misspelt_value_is_refused(tmp_path: Path) -> None:
    values = full_values()
    values["kafka"] = {**values["kafka"], "bootstrapServer": "x:9092"}
    with pytest.raises(SystemExit, match="additional properties 'bootstrapServer' not allowed"):
        check_chart.render(values, tmp_path)
