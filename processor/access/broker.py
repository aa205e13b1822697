"""The broker's ACLs through the Admin API: read them as grants, create and delete grants."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from processor.access.grants import CLUSTER, Grant, drift
from processor.errors import CrmMaskerError
from processor.governance.report import Enforcement
from processor.kafka_client import Admin, connect_timeout
from processor.rules.model import RuleSet

#: librdkafka calls the cluster resource BROKER (Kafka's CLUSTER, code 4)
RESOURCE_TYPES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP,
                  "transactional_id": ResourceType.TRANSACTIONAL_ID, CLUSTER: ResourceType.BROKER}
RESOURCE_NAMES = {v: k for k, v in RESOURCE_TYPES.items()}
#: a filter field that matches any value (the client's stubs type these fields as str)
ANY: Any = None


class AclError(CrmMaskerError):
    """The broker refused to list or change ACLs (not an admin, or no authorizer)."""


def binding(grant: Grant) -> AclBinding:
    return AclBinding(RESOURCE_TYPES[grant.resource], grant.name,
                      ResourcePatternType[grant.pattern.upper()], grant.principal, "*",
                      AclOperation[grant.operation.upper()], AclPermissionType.ALLOW)


def grant_of(found: AclBinding) -> Grant | None:
    """A broker binding as a grant; None for DENY bindings (they only take rights away) and
    for resource types that the rules never grant on."""
    if found.permission_type != AclPermissionType.ALLOW:
        return None
    resource = RESOURCE_NAMES.get(ResourceType(found.restype))
    if resource is None:
        return None
    host = "" if found.host == "*" else f" from host {found.host}"
    return Grant(found.principal, resource, found.name,
                 ResourcePatternType(found.resource_pattern_type).name.lower(),
                 AclOperation(found.operation).name.lower(), f"on the broker{host}")


def _result(admin: Admin, futures: object, what: str) -> object:
    try:
        if isinstance(futures, dict):
            return [f.result(timeout=connect_timeout() * 3) for f in futures.values()]
        return futures.result(timeout=connect_timeout() * 3)  # type: ignore[attr-defined]
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        reason = error.str() if isinstance(error, KafkaError) else str(exc)
        raise AclError(f"cannot {what} on {admin.bootstrap}: {reason} (ACLs need a broker with "
                       "an authorizer and a principal that may alter the cluster, such as the "
                       "admin)") from None


def broker_grants(admin: Admin) -> list[Grant]:
    """Every ALLOW binding on the broker, as grants."""
    admin.topics()  # one clear line when the broker does not answer
    every = AclBindingFilter(ResourceType.ANY, ANY, ResourcePatternType.ANY, ANY, ANY,
                             AclOperation.ANY, AclPermissionType.ANY)
    found = _result(admin, admin.client.describe_acls(every), "list the ACLs")
    assert isinstance(found, list)
    return [g for g in map(grant_of, found) if g is not None]


def create(admin: Admin, grants: Iterable[Grant]) -> None:
    todo = [binding(g) for g in grants]
    if todo:
        _result(admin, admin.client.create_acls(todo), "create ACLs")


def delete(admin: Admin, grants: Iterable[Grant]) -> None:
    todo = [AclBindingFilter(RESOURCE_TYPES[g.resource], g.name,
                             ResourcePatternType[g.pattern.upper()], g.principal, ANY,
                             AclOperation[g.operation.upper()], AclPermissionType.ALLOW)
            for g in grants]
    if todo:
        _result(admin, admin.client.delete_acls(todo), "delete ACLs")


def enforcement(rules: RuleSet, bootstrap: str, kafka_options: Iterable[str],
                checked: dt.date) -> Enforcement:
    """The broker's ACLs against the rules', for the record (``report --bootstrap-servers``)."""
    from processor import kafka_client
    from processor.kafka_options import client_options

    settings = client_options(kafka_options)
    found = drift(rules, broker_grants(kafka_client.admin(bootstrap, settings)))
    return Enforcement(checked, found.wanted - len(found.missing), found.wanted, len(found.extra),
                       settings.get("security.protocol", "PLAINTEXT").upper(),
                       settings.get("sasl.mechanism", ""))
