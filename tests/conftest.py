"""Shared fixtures: a real Kafka broker for the session and uniquely named topics per test."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import processor.avro  # noqa: F401  (first: imports the schema registry client without authlib's notice)
from tests.broker import SecureBroker, kafka_broker, schema_registry, secure_broker
from tests.cdc import CdcChain, cdc_chain
from tests.helpers import DEMO_KEK

# the reference rules encrypt contacts.phone: every `crm-masker run` and `mask` of the tests
# gets the demo KEK, as they get the demo keys (tests that check its absence unset it)
os.environ.setdefault("CRM_MASKER_KEK_FILE", str(DEMO_KEK))


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
