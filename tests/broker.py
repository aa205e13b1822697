"""Where the tests' Kafka broker comes from: the environment, testcontainers, or the local jars.

Order (see DESIGN.md): ``KAFKA_BOOTSTRAP_SERVERS`` when set; else a testcontainers Kafka when a
Docker daemon answers; else a single-node KRaft broker assembled from Maven Central jars by
``deploy/local-kafka/kafka.sh``. Never a mock.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KAFKA_SH = REPO / "deploy" / "local-kafka" / "kafka.sh"


def docker_daemon_answers() -> bool:
    """Ask the daemon itself: the docker client binary alone proves nothing."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


def _up(script: Path, env: dict[str, str], *args: str) -> str:
    """``script up [args]``'s address (its last line); on failure, an error with what it said,
    which ``check=True`` would have kept to itself."""
    out = subprocess.run(["bash", str(script), "up", *args], env=env, capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{script.name} up failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1]


def stop_service(script: Path, env: dict[str, str], *args: str) -> None:
    """A local service of the session down at once (SIGKILL, no graceful stop: its data is
    deleted with it), which saves seconds per service at the end of every run."""
    subprocess.run(["bash", str(script), "down", *args], env={**env, "STOP_AT_ONCE": "1"},
                   check=False, capture_output=True)


@contextmanager
def local_jar_broker() -> Iterator[str]:
    """Start a private broker (own state dir) so a developer's `make kafka-up` is untouched."""
    state = tempfile.mkdtemp(prefix="crm-masker-kafka-")
    env = {**os.environ, "KAFKA_STATE_DIR": state}
    address = _up(KAFKA_SH, env)
    try:
        yield address
    finally:
        stop_service(KAFKA_SH, env)


@contextmanager
def testcontainers_broker() -> Iterator[str]:
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer().with_kraft() as kafka:
        yield kafka.get_bootstrap_server()


@contextmanager
def kafka_broker() -> Iterator[str]:
    """Yield a bootstrap address of a real broker for the whole test session."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
    elif docker_daemon_answers():
        with testcontainers_broker() as bootstrap:
            yield bootstrap
    else:
        with local_jar_broker() as bootstrap:
            yield bootstrap


REGISTRY_SH = REPO / "deploy" / "schema-registry" / "registry.sh"


@contextmanager
def schema_registry() -> Iterator[str]:
    """A real Confluent-compatible schema registry: ``SCHEMA_REGISTRY_URL`` when set, else
    Apicurio Registry built from Maven Central jars by ``deploy/schema-registry/registry.sh``."""
    given = os.environ.get("SCHEMA_REGISTRY_URL")
    if given:
        yield given
        return
    state = tempfile.mkdtemp(prefix="crm-masker-registry-")
    env = {**os.environ, "REGISTRY_STATE_DIR": state}
    address = _up(REGISTRY_SH, env)
    try:
        yield address
    finally:
        stop_service(REGISTRY_SH, env)


class SecureBroker:
    """The secured local broker (``kafka.sh up --secure``): SASL_SSL with ACLs."""

    def __init__(self, bootstrap: str, state: Path) -> None:
        self.bootstrap, self.state = bootstrap, state

    def settings(self, user: str) -> dict[str, str]:
        """librdkafka settings that authenticate as ``user`` (admin is the super user)."""
        lines = (self.state / "credentials" / f"{user}.properties").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if line)

    def options(self, user: str) -> list[str]:
        """The same as ``--kafka-option KEY=VALUE`` arguments of the CLI."""
        return [arg for key, value in self.settings(user).items()
                for arg in ("--kafka-option", f"{key}={value}")]

    def passwords(self) -> list[str]:
        return [p.read_text().strip() for p in (self.state / "credentials").glob("*.password")]


@contextmanager
def secure_broker() -> Iterator[SecureBroker]:
    """A private secured broker for the session (its own state dir, CA and users)."""
    state = Path(tempfile.mkdtemp(prefix="crm-masker-kafka-secure-"))
    env = {**os.environ, "KAFKA_STATE_DIR": str(state)}
    address = _up(KAFKA_SH, env, "--secure")
    try:
        yield SecureBroker(address, state)
    finally:
        stop_service(KAFKA_SH, env, "--secure")


@contextmanager
def tls_schema_registry() -> Iterator[tuple[str, Path]]:
    """The local registry over HTTPS only (``registry.sh up --tls``): its URL and its CA."""
    state = Path(tempfile.mkdtemp(prefix="crm-masker-registry-tls-"))
    env = {**os.environ, "REGISTRY_STATE_DIR": str(state)}
    address = _up(REGISTRY_SH, env, "--tls")
    try:
        yield address, state / "tls" / "ca.pem"
    finally:
        stop_service(REGISTRY_SH, env, "--tls")
