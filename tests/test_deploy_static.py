"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_names_kafka_and_processor_with_healthchecks() -> None:
    services = compose()["services"]
    assert {"kafka", "processor"} <= set(services)
    for name in ("kafka", "processor"):
        assert "healthcheck" in services[name], name
        assert services[name]["healthcheck"]["test"], name
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["processor"]["build"] == "."


def test_processor_points_at_the_brokers_internal_listener() -> None:
    services = compose()["services"]
    kafka_env = services["kafka"]["environment"]
    internal = re.search(r"INTERNAL://([\w.-]+:\d+)", kafka_env["KAFKA_ADVERTISED_LISTENERS"])
    assert internal, "kafka advertises no INTERNAL listener"
    assert services["processor"]["environment"]["CRM_MASKER_BOOTSTRAP_SERVERS"] == internal.group(1)
    assert services["processor"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_kafka_single_node_settings_let_transactions_start() -> None:
    env = compose()["services"]["kafka"]["environment"]
    assert str(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"]) == "1"
    assert str(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) == "1"
    assert str(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == "1"


def test_no_secret_in_compose_and_keys_come_from_a_mounted_file() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    assert "base64:" not in text and "hex:" not in text
    processor = compose()["services"]["processor"]
    key_path = processor["environment"]["CRM_MASKER_KEYS_FILE"]
    assert any(str(v).endswith(f":{key_path}:ro") for v in processor["volumes"])


def test_dockerfile_is_pinned_and_runs_as_non_root() -> None:
    text = (REPO / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", text, re.M)
    assert base and re.search(r":\d+\.\d+\.\d+", base.group(1)), "base image not pinned"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
