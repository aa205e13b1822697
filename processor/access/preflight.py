"""Before ``run`` starts: may this principal do what the processor does? On a broker with ACLs
a missing grant otherwise shows as a transaction that aborts and is redone forever, or as a
topic that seems not to exist (the broker hides what a principal may not describe)."""

from __future__ import annotations

from collections.abc import Mapping

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AclOperation

from processor.access.grants import processor_topics
from processor.errors import CrmMaskerError
from processor.kafka_client import Admin, connect_timeout
from processor.rules.model import RuleSet

DENIED = frozenset({KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
                    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                    KafkaError.CLUSTER_AUTHORIZATION_FAILED})


class NotAuthorized(CrmMaskerError):
    """The broker's ACLs do not let this principal do its job; says what is missing."""


def principal(extra: Mapping[str, str]) -> str:
    """The principal as the broker names it (for the message; SASL users only)."""
    user = extra.get("sasl.username")
    return f"User:{user}" if user else "this client"


def _allowed(operations: list[AclOperation] | None, wanted: str) -> bool:
    """Whether ``wanted`` is among the operations the broker says are allowed (None: the
    broker did not say, e.g. no authorizer: everything is)."""
    if operations is None:
        return True
    names = {op.name for op in operations}
    # Kafka's implications: READ and WRITE imply DESCRIBE; ALL implies everything
    return "ALL" in names or wanted in names or (wanted == "DESCRIBE" and bool(
        names & {"READ", "WRITE", "DELETE", "ALTER"}))


def missing_grants(admin: Admin, topics: Mapping[str, set[str]], group: str) -> list[str]:
    """What of ``topics`` (name → operations) and READ on ``group`` is not allowed."""
    admin.topics()  # an unreachable broker: one line with its cause, before anything else
    missing: list[str] = []
    wait = connect_timeout() * 3
    found = admin.client.describe_topics(TopicCollection(sorted(topics)),
                                         include_authorized_operations=True,
                                         request_timeout=wait)
    for name, future in found.items():
        try:
            operations = future.result(timeout=wait).authorized_operations
        except TimeoutError:
            continue  # no answer about this topic: the run finds out for itself
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() not in DENIED:
                continue  # an unknown topic: check_topics_exist says how to create it
            operations = []
        missing += [f"{op} topic {name}" for op in sorted(topics[name])
                    if not _allowed(operations, op)]
    described = admin.client.describe_consumer_groups([group],
                                                      include_authorized_operations=True,
                                                      request_timeout=wait)
    try:
        operations = described[group].result(timeout=wait).authorized_operations
    except TimeoutError:
        operations = None
    except KafkaException as exc:
        operations = [] if exc.args[0].code() in DENIED else None
    if not _allowed(operations, "READ"):
        missing.append(f"READ group {group}")
    return missing


def processor_needs(rules: RuleSet) -> dict[str, set[str]]:
    """Topic → the operations the processor needs on it (as ``acls`` grants them)."""
    needs: dict[str, set[str]] = {}
    for topics, operations, _ in processor_topics(rules):
        for topic in topics:
            needs.setdefault(topic, set()).update(op.upper() for op in operations)
    return needs


def check_authorized(admin: Admin, rules: RuleSet, group: str, extra: Mapping[str, str]) -> None:
    """NotAuthorized, in one line, when the principal lacks a grant that the processor needs."""
    missing = missing_grants(admin, processor_needs(rules), group)
    if missing:
        raise NotAuthorized(
            f"{principal(extra)} may not {'; '.join(missing)}: the broker's ACLs lack what "
            "the processor needs; an admin grants it with `crm-masker acls --apply` (the ACLs "
            "that the rules' access section implies)")
