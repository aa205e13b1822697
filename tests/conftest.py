"""Shared fixtures: a real Kafka broker for the session and uniquely named topics per test.

Under pytest-xdist (``make test`` runs two workers) the services stay shared, as if the
session were one: the controller starts the broker before the workers exist and hands them
its address (``KAFKA_BOOTSTRAP_SERVERS``); the test files of a service that a worker would
otherwise start for itself (the CDC chain, the schema registry, the secured broker) go to
one worker together, and a file's tests to one worker (``pytest_xdist_make_scheduler``).
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import processor.avro  # noqa: F401  (first: imports the schema registry client without authlib's notice)
from tests.broker import SecureBroker, kafka_broker, schema_registry, secure_broker
from tests.cdc import CdcChain, cdc_chain
from tests.helpers import DEMO_KEK

# the reference rules encrypt contacts.phone: every `crm-masker run` and `mask` of the tests
# gets the demo KEK, as they get the demo keys (tests that check its absence unset it)
os.environ.setdefault("CRM_MASKER_KEK_FILE", str(DEMO_KEK))

#: session fixtures that a worker would start for itself, and the scheduling group of the test
#: files that use them (the CDC chain and the registry together: the Debezium tests use both)
WORKER_SERVICES = {"cdc": "cdc-registry", "schema_registry_url": "cdc-registry",
                   "secured_kafka": "secured-broker"}
TESTS = Path(__file__).resolve().parent
_controller_services = ExitStack()


def _is_xdist_controller(config: pytest.Config) -> bool:
    return (not hasattr(config, "workerinput")
            and bool(getattr(config.option, "numprocesses", None)))


def pytest_configure(config: pytest.Config) -> None:
    """The controller of an xdist run starts the one broker that all its workers use."""
    if (_is_xdist_controller(config) and "KAFKA_BOOTSTRAP_SERVERS" not in os.environ
            and "not kafka" not in (config.option.markexpr or "")):
        bootstrap = _controller_services.enter_context(kafka_broker())
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap


def pytest_unconfigure(config: pytest.Config) -> None:
    _controller_services.close()


@cache
def scheduling_group(path: str) -> str:
    """The worker-started service that a test file asks for as a fixture (a parameter, or
    ``getfixturevalue``), else the file itself: its module fixtures start once."""
    source = (TESTS.parent / path).read_text()
    for fixture, group in WORKER_SERVICES.items():
        if re.search(rf"\b{fixture}\s*:|getfixturevalue\(\"{fixture}\"\)", source):
            return group
    return path


@pytest.hookimpl(optionalhook=True)  # xdist's hook: none without xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Whole files to a worker, and the files of one worker-started service to one worker.
    (xdist's own ``--dist loadgroup`` reads ``xdist_group`` marks into the node id, which
    pytest 9 no longer takes: it derives node ids from their parts.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByService(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scheduling_group(nodeid.split("::", 1)[0])

    return ByService(config, log)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with kafka_broker() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def secured_kafka() -> Iterator[SecureBroker]:
    """A second, secured broker (SASL_SSL, ACLs, SCRAM users), once per session."""
    with secure_broker() as broker:
        yield broker


@pytest.fixture(scope="session")
def schema_registry_url() -> Iterator[str]:
    """A real schema registry (Apicurio from Maven Central jars, or SCHEMA_REGISTRY_URL)."""
    with schema_registry() as url:
        yield url


@pytest.fixture(scope="session")
def cdc(kafka_bootstrap: str) -> Iterator[CdcChain]:
    """PostgreSQL and Kafka Connect with Debezium, once per session (tests/cdc.py)."""
    with cdc_chain(kafka_bootstrap) as chain:
        yield chain


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture
def make_topic(kafka_admin: AdminClient) -> Iterator[Callable[..., str]]:
    """Create uniquely named topics for one test; they are deleted afterwards."""
    created: list[str] = []

    def create(prefix: str = "t", partitions: int = 1, config: dict[str, str] | None = None,
               name: str | None = None) -> str:
        topic = name or f"{prefix}-{uuid.uuid4().hex[:10]}"
        futures = kafka_admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})]
        )
        futures[topic].result(timeout=30)
        created.append(topic)
        return topic

    yield create
    if created:
        for future in kafka_admin.delete_topics(created).values():
            with contextlib.suppress(Exception):
                future.result(timeout=30)
