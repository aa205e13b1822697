"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import require_tool

REPO = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


LONG_RUNNING = ("postgres", "connect", "kafka", "schema-registry", "processor", "prometheus",
                "alertmanager", "alert-receiver", "grafana")


def test_compose_has_the_full_stack_with_healthchecks_and_pinned_images() -> None:
    services = compose()["services"]
    assert set(LONG_RUNNING) | {"topics", "generator"} <= set(services)
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"], name
        image = services[name].get("image", "")
        # a full version (15.10, 4.1.1, 3.6.1.Final), never latest or a major alone
        assert re.search(r":v?\d+\.\d+(\.\d+)?(\.Final)?$", image) or services[name].get("build"), name
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["processor"]["build"] == "."
    assert services["generator"]["profiles"] == ["demo"]
    assert services["processor"]["depends_on"]["topics"]["condition"] == \
        "service_completed_successfully"


def test_compose_runs_the_real_cdc_chain_with_the_repositorys_settings() -> None:
    """PostgreSQL with logical decoding and the reference schema, Debezium's Connect image of
    the version that the local chain pins, and the connector registered from the same file
    that the local chain and the tests use, whose topics are the ones the rules read."""
    import json

    from processor.rules import load_validated

    services = compose()["services"]
    postgres = services["postgres"]
    assert "wal_level=logical" in postgres["command"]
    assert any(v.startswith("./deploy/local-cdc/schema.sql:/docker-entrypoint-initdb.d/")
               for v in postgres["volumes"])
    pinned = re.search(r"<debezium.version>(.+)</debezium.version>",
                       (REPO / "deploy/local-cdc/plugins/postgres-source.pom.xml").read_text())
    assert pinned and services["connect"]["image"] == f"quay.io/debezium/connect:{pinned[1]}"
    connector = services["connector"]
    assert "/app/deploy/debezium/crm-postgres.json" in connector["command"]
    assert "./deploy/debezium:/app/deploy/debezium:ro" in connector["volumes"]
    assert services["generator"]["command"][-2] == "--postgres"
    config = json.loads((REPO / "deploy/debezium/crm-postgres.json").read_text())["config"]
    assert config["skipped.operations"] == "none"  # truncates reach the views
    rules = load_validated(REPO / "rules").rules
    captured = {f"{config['topic.prefix']}.{t}" for t in config["table.include.list"].split(",")}
    assert captured == {table.topic for table in rules.tables.values()}


def test_compose_data_lives_in_named_volumes() -> None:
    doc = compose()
    for name in ("postgres", "kafka", "prometheus", "alertmanager", "grafana"):
        named = [v.split(":")[0] for v in doc["services"][name]["volumes"]
                 if not v.startswith(".")]
        assert named and all(v in doc["volumes"] for v in named), name


def test_compose_mounts_the_projects_own_monitoring_config() -> None:
    services = compose()["services"]
    mounts = " ".join(v for s in ("prometheus", "alertmanager", "grafana")
                      for v in services[s]["volumes"])
    for path in ("deploy/prometheus/prometheus.yml", "deploy/prometheus/rules",
                 "deploy/alertmanager/alertmanager.yml", "deploy/grafana/provisioning",
                 "deploy/grafana/dashboards"):
        assert f"./{path}:" in mounts
        assert (REPO / path).exists(), path


def test_processor_points_at_the_brokers_internal_listener() -> None:
    services = compose()["services"]
    kafka_env = services["kafka"]["environment"]
    internal = re.search(r"INTERNAL://([\w.-]+:\d+)", kafka_env["KAFKA_ADVERTISED_LISTENERS"])
    assert internal, "kafka advertises no INTERNAL listener"
    for name in ("processor", "topics", "generator-avro"):
        assert services[name]["environment"]["CRM_MASKER_BOOTSTRAP_SERVERS"] == internal.group(1)
    assert services["connect"]["environment"]["BOOTSTRAP_SERVERS"] == internal.group(1)
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_processor_and_avro_generator_use_the_registrys_confluent_api() -> None:
    services = compose()["services"]
    assert services["schema-registry"]["image"].startswith("apicurio/apicurio-registry:")
    url = "http://schema-registry:8080/apis/ccompat/v7"
    for name in ("processor", "generator-avro"):
        assert services[name]["environment"]["CRM_MASKER_SCHEMA_REGISTRY_URL"] == url
        assert services[name]["depends_on"]["schema-registry"]["condition"] == "service_healthy"
    assert "avro" in services["generator-avro"]["command"]
    port = services["schema-registry"]["ports"][0].split(":")[-1]  # 127.0.0.1:HOST:CONTAINER
    assert f":{port}/" in url


def test_kafka_single_node_settings_let_transactions_start() -> None:
    env = compose()["services"]["kafka"]["environment"]
    assert str(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"]) == "1"
    assert str(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) == "1"
    assert str(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == "1"


def test_no_secret_in_compose_and_keys_come_from_a_mounted_file() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    assert "base64:" not in text and "hex:" not in text
    processor = compose()["services"]["processor"]
    mounts = [str(v).rsplit(":", 2) for v in processor["volumes"]]
    for variable in ("CRM_MASKER_KEYS_FILE", "CRM_MASKER_KEK_FILE"):  # the rules encrypt
        key_path = processor["environment"][variable]
        assert any(key_path.startswith(target + "/") and mode == "ro"
                   for _, target, mode in mounts), variable


def test_compose_is_secure_by_default() -> None:
    """No demo key, no port on every interface, no anonymous Grafana, secrets from files."""
    doc = compose()
    text = (REPO / "docker-compose.yml").read_text()
    assert "demo-keys" not in text and "ALLOW_DEMO_KEYS" not in text
    for name, service in doc["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
        assert "--allow-demo-keys" not in service.get("command", []), name
    grafana = doc["services"]["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"].startswith("/run/secrets/")
    assert doc["secrets"]["grafana-admin-password"]["file"].endswith("/grafana-admin-password")
    makefile = (REPO / "Makefile").read_text()
    assert "crm-masker keys new --output secrets/crm-masker-keys.yaml" in makefile
    assert "crm-masker keys new --output secrets/crm-masker-kek.yaml" in makefile
    assert "/secrets/" in (REPO / ".gitignore").read_text().splitlines()


def test_dockerfile_is_pinned_and_runs_as_non_root() -> None:
    text = (REPO / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(bases) == 2  # the native core's build stage, the runtime image
    for base in bases:
        assert re.search(r":\d+\.\d+\.\d+", base), f"base image {base} not pinned"
    assert "COPY --from=native /wheels" in text  # the runtime image gets the native core
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")


def test_grafana_dashboard_queries_only_exported_metrics() -> None:
    import json

    from tests.test_prometheus_rules import exported_metric_names

    dashboard = json.loads((REPO / "deploy/grafana/dashboards/crm-masker.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    used = {m for e in exprs for m in re.findall(r"\bcrm_masker_\w+", e)}
    assert used and used <= exported_metric_names(), used - exported_metric_names()
    for wanted in ("events_consumed", "consumer_lag", "dlq", "fields_masked", "end_to_end_lag",
                   "anomalies", "access_records", "events_skipped", "last_commit_timestamp",
                   "leak_watch_rows"):
        assert any(wanted in m for m in used), wanted


def test_grafana_dashboard_has_datasource_and_instance_variables() -> None:
    import json

    dashboard = json.loads((REPO / "deploy/grafana/dashboards/crm-masker.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["instance"]["multi"] and variables["instance"]["includeAll"]
    assert "label_values(" in variables["instance"]["definition"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            # every selector of the processor's metrics is scoped to the chosen instances
            for selector in re.findall(r"\bcrm_masker_\w+(\{[^}]*\})?", target["expr"]):
                assert 'instance=~"$instance"' in selector, target["expr"]


ALERTMANAGER = REPO / "deploy/alertmanager/alertmanager.yml"


def test_alertmanager_config_passes_amtool() -> None:
    import subprocess

    amtool = require_tool("amtool")
    result = subprocess.run([amtool, "check-config", str(ALERTMANAGER)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
    assert "4 receivers" in result.stdout


def routed(**labels: str) -> set[str]:
    """The receivers that the shipped Alertmanager route picks for these labels (amtool)."""
    import subprocess

    result = subprocess.run([require_tool("amtool"), "config", "routes", "test",
                             f"--config.file={ALERTMANAGER}",
                             *(f"{k}={v}" for k, v in labels.items())],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return set(result.stdout.strip().split(","))


def test_incidents_reach_security_and_the_dpo_and_outages_the_pager() -> None:
    rules = yaml.safe_load((REPO / "deploy/prometheus/rules/crm-masker.yml").read_text())
    by_name = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    access = by_name["CrmMaskerAccessAnomaly"]["labels"]
    assert "severity" not in access  # the detector's own severity label is kept
    for severity in ("low", "medium", "high", "critical"):
        assert routed(alertname="CrmMaskerAccessAnomaly", severity=severity, **access) == \
            {"security"}
    leak = by_name["CrmMaskerPersonalDataSuspected"]["labels"]
    assert routed(alertname="CrmMaskerPersonalDataSuspected", **leak) == {"security", "privacy"}
    down = by_name["CrmMaskerDown"]["labels"]
    assert routed(alertname="CrmMaskerDown", **down) == {"ops-pager"}
    lag = by_name["CrmMaskerEndToEndLagHigh"]["labels"]
    assert routed(alertname="CrmMaskerEndToEndLagHigh", **lag) == {"ops"}


def test_every_receiver_is_the_sample_receiver_that_compose_runs() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    services = compose()["services"]
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            host = re.match(r"http://([\w-]+):(\d+)/", hook["url"])
            assert host and host[1] in services, hook["url"]
            assert services[host[1]]["command"] == ["--port", host[2]]
    mounted = services["alert-receiver"]["volumes"]
    assert "./deploy/alert_receiver.py:/app/deploy/alert_receiver.py:ro" in mounted


def test_docker_compose_config_of_the_default_profile(tmp_path: Path) -> None:
    """The real `docker compose config` (no engine needed) renders the stack: the default
    profile has no demo key, publishes nothing beyond 127.0.0.1, and needs the secrets."""
    import json
    import subprocess

    from tests.helpers import go_tool

    compose_bin = go_tool("docker-compose")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "CRM_MASKER_SECRETS_DIR": str(tmp_path / "secrets")}
    done = subprocess.run([compose_bin, "-f", str(REPO / "docker-compose.yml"), "config",
                           "--format", "json"], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    rendered = json.loads(done.stdout)
    services = rendered["services"]
    assert "generator" not in services and "generator-avro" not in services  # profiles
    assert "processor" in services and "alert-receiver" in services
    text = done.stdout
    assert "demo-keys" not in text and "allow-demo-keys" not in text
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", (name, port)
        assert "ALLOW_DEMO_KEYS" not in json.dumps(service.get("environment", {})), name
    mounts = services["processor"]["volumes"]
    assert any(m["source"] == str(tmp_path / "secrets") and m["read_only"] for m in mounts)
    assert rendered["secrets"]["grafana-admin-password"]["file"] == \
        str(tmp_path / "secrets" / "grafana-admin-password")
    demo = subprocess.run([compose_bin, "-f", str(REPO / "docker-compose.yml"), "--profile",
                           "demo", "config", "--services"], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=60)
    assert demo.returncode == 0 and "generator" in demo.stdout.split()
    assert "warehouse" not in services  # its own profile
    warehouse = subprocess.run([compose_bin, "-f", str(REPO / "docker-compose.yml"),
                                "--profile", "warehouse", "config", "--services"],
                               capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert warehouse.returncode == 0
    assert {"warehouse", "warehouse-sink"} <= set(warehouse.stdout.split())


def test_compose_fills_a_warehouse_with_the_sales_view_through_debeziums_jdbc_sink() -> None:
    """The warehouse profile: a PostgreSQL of its own and the JDBC sink registered from the
    repository's config, reading the view whose readers name the warehouse, as the
    warehouse's principal would (its consumer group under the view's prefix)."""
    import json

    from processor.access.grants import group_prefix
    from processor.rules import load_validated

    services = compose()["services"]
    sink = services["warehouse-sink"]
    assert "/app/deploy/debezium/warehouse-sink.json" in sink["command"]
    assert "@warehouse:5432/warehouse" in sink["command"][-1]
    assert sink["depends_on"]["warehouse"]["condition"] == "service_healthy"
    # the views carry schemas: the CDC connector writes them
    assert "value.converter.schemas.enable=true" in services["connector"]["command"]
    config = json.loads((REPO / "deploy/debezium/warehouse-sink.json").read_text())["config"]
    assert config["connector.class"] == "io.debezium.connector.jdbc.JdbcSinkConnector"
    assert config["delete.enabled"] == config["truncate.enabled"] == "true"
    assert config["consumer.override.isolation.level"] == "read_committed"
    rules = load_validated(REPO / "rules").rules
    view, = [v for v in rules.views.values() if "warehouse" in v.readers]
    assert re.fullmatch(config["topics.regex"], view.topic_of("contracts"))
    assert config["consumer.override.group.id"].startswith(group_prefix(view.topic))
    assert view.partitions == 1, "a truncate must stay in order with the rows"
