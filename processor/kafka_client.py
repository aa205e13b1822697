"""Kafka clients as every command makes them, and the one check that the broker answers.

An operator who mistypes the address or a setting must learn it at once and in one line: a
broker that cannot be reached is reported within ``CRM_MASKER_CONNECT_TIMEOUT`` seconds
(default 10) with the address and librdkafka's own cause (connection refused, a name that does
not resolve, TLS); a setting that librdkafka does not know is named with a guess. librdkafka's
log goes through Python logging (logger ``crm_masker.kafka``), never to stderr around it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from processor.errors import CrmMaskerError, closest

#: librdkafka's log, through Python logging (its own level follows the logger's)
KAFKA_LOG = logging.getLogger("crm_masker.kafka")
#: the preflight's librdkafka log, dropped: its errors are collected and said in one line
PREFLIGHT_LOG = logging.getLogger("crm_masker.kafka.preflight")
PREFLIGHT_LOG.propagate = False
PREFLIGHT_LOG.addHandler(logging.NullHandler())
#: the settings people pass most (security, identity, sizes): candidates for a guess
COMMON_SETTINGS = (
    "security.protocol", "sasl.mechanism", "sasl.mechanisms", "sasl.username", "sasl.password",
    "sasl.oauthbearer.config", "ssl.ca.location", "ssl.certificate.location", "ssl.key.location",
    "ssl.key.password", "ssl.endpoint.identification.algorithm", "client.id", "client.rack",
    "message.max.bytes", "socket.timeout.ms", "socket.keepalive.enable", "log_level", "debug",
    "statistics.interval.ms", "max.poll.interval.ms", "session.timeout.ms", "linger.ms",
    "compression.type", "fetch.max.bytes", "queued.max.messages.kbytes", "metadata.max.age.ms",
)
_UNKNOWN = re.compile(r'No such configuration property: "([^"]+)"')


def connect_timeout() -> float:
    """Seconds to wait for the broker before giving up (``CRM_MASKER_CONNECT_TIMEOUT``)."""
    try:
        return max(0.5, float(os.environ.get("CRM_MASKER_CONNECT_TIMEOUT", "10")))
    except ValueError:
        raise CrmMaskerError("CRM_MASKER_CONNECT_TIMEOUT must be a number of seconds") from None


def setting_error(exc: KafkaException) -> CrmMaskerError:
    """A client that librdkafka refuses to build: the setting named, with a guess; the value
    is never quoted (it may be a password)."""
    error = exc.args[0] if exc.args else None
    text = error.str() if isinstance(error, KafkaError) else str(exc)
    unknown = _UNKNOWN.search(text)
    if unknown:
        name = unknown[1]
        guess = closest(name, COMMON_SETTINGS)
        hint = f"; did you mean {guess}?" if guess else ""
        if guess and "_" in guess:
            env = "CRM_MASKER_KAFKA_" + guess.upper().replace("_", "__").replace(".", "_")
            hint += f" (as an environment variable: {env})"
        return CrmMaskerError(f"unknown Kafka client setting {name} (from --kafka-option or "
                              f"CRM_MASKER_KAFKA_*){hint}")
    invalid = re.search(r'for configuration property "([^"]+)"', text)
    if invalid:
        return CrmMaskerError(f"invalid value for the Kafka client setting {invalid[1]}")
    return CrmMaskerError(f"Kafka client settings: {text.split(':')[0]}")


@dataclass
class Admin:
    """An admin client and the errors librdkafka reported while it tried to connect."""

    bootstrap: str
    client: AdminClient
    errors: list[KafkaError] = field(default_factory=list)

    def topics(self, timeout: float | None = None) -> dict[str, Any]:
        """The cluster's topics; one clear line when the broker does not answer in time."""
        wait = connect_timeout() if timeout is None else timeout
        try:
            return dict(self.client.list_topics(timeout=wait).topics)
        except KafkaException as exc:
            raise self.unreachable(exc, wait) from None

    def unreachable(self, exc: KafkaException, waited: float) -> CrmMaskerError:
        self.client.poll(0)  # serves the error callbacks: librdkafka's own causes
        causes = [e for e in self.errors if e.code() != KafkaError._ALL_BROKERS_DOWN]
        found = causes[-1] if causes else (exc.args[0] if exc.args else None)
        cause = found.str() if isinstance(found, KafkaError) else "no answer"
        return CrmMaskerError(f"cannot reach Kafka at {self.bootstrap} within {waited:g} s: "
                              f"{_short(cause)}")


def _short(cause: str) -> str:
    """librdkafka's cause without its broker prefix and timing suffix."""
    cause = re.sub(r"^\S+/(?:bootstrap|\d+): ", "", cause)
    return re.sub(r" \(after \d+ms in state \w+\)$", "", cause)


def admin(bootstrap: str, extra: Mapping[str, str]) -> Admin:
    """An admin client whose connection errors are collected (not logged: the one line that
    ``topics`` raises says what went wrong)."""
    errors: list[KafkaError] = []
    try:
        settings: dict[str, Any] = {"bootstrap.servers": bootstrap, **extra,
                                    "error_cb": errors.append, "logger": PREFLIGHT_LOG}
        client = AdminClient(settings)
    except KafkaException as exc:
        raise setting_error(exc) from None
    return Admin(bootstrap, client, errors)


def check_reachable(bootstrap: str, extra: Mapping[str, str]) -> None:
    """Fail fast, in one line, when the broker does not answer (or a setting is wrong)."""
    admin(bootstrap, extra).topics()


def deliver(bootstrap: str, extra: Mapping[str, str], topic: str,
            records: list[tuple[bytes, bytes | None]], what: str) -> None:
    """Write ``records`` (key, value or None for a tombstone) outside a transaction and wait
    until the broker has all of them, acknowledged by every in-sync replica; one line naming
    ``what`` when it has not. Not idempotent, so a writer needs no cluster ACL."""
    if not records:
        return
    failures: list[str] = []

    def delivered(err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            failures.append(err.str())

    try:
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **extra})
        for key, value in records:
            producer.produce(topic, key=key, value=value, on_delivery=delivered)
            producer.poll(0)
        left = producer.flush(30)
    except KafkaException as exc:
        raise CrmMaskerError(f"cannot write {what} to {topic}: {exc.args[0].str()}") from None
    if left or failures:
        raise CrmMaskerError(f"{what} did not reach {topic}"
                             + (f": {failures[0]}" if failures else f" ({left} left)"))
