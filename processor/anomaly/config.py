"""The ``anomaly:`` section of a rule set: where access events come from, and the detectors."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from processor.models import PluginSpec, Strict

Severity = Literal["low", "medium", "high", "critical"]
TimeEncoding = Literal["micro_timestamp", "milli_timestamp"]


class AccessLogMapping(Strict):
    """Which table holds access events, and which columns mean what."""

    table: str
    id: str = "id"
    actor: str = "user_id"
    action: str = "action"
    count: str = "record_count"
    object_type: str = "object_type"
    classification: str = "classification"
    time: str = "occurred_at"
    time_encoding: TimeEncoding = "micro_timestamp"


class UsersMapping(Strict):
    table: str
    id: str = "id"
    role: str = "role"
    active: str = "active"
    deactivated_at: str = "deactivated_at"
    time_encoding: TimeEncoding = "micro_timestamp"


class DetectorSpec(PluginSpec):
    """``type`` names a registered detector; the other keys are its parameters."""

    type: str
    severity: Severity = "medium"


class MetricLabels(Strict):
    """The values that ``crm_masker_access_records_total{role,action}`` may carry. Roles and
    actions come from the CRM's rows, so anything not declared here counts as ``other``: a
    label never holds what somebody typed into the CRM, and the label set stays bounded."""

    roles: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)


class AnomalyRules(Strict):
    access_log: AccessLogMapping
    users: UsersMapping | None = None
    metric_labels: MetricLabels = Field(default_factory=MetricLabels)
    #: events older than the watermark minus this are late: counted, not windowed
    allowed_lateness: timedelta = timedelta(minutes=5)
    #: the internal topic that carries access events and user changes keyed by actor, so
    #: that each worker's detectors see all of some actors (Kafka Streams' repartition
    #: topic); only the processor reads and writes it
    by_actor_topic: str = "crm.internal.access-by-actor"
    #: how long the by-actor topic keeps its records: the detectors are rebuilt from it
    #: after a restart or rebalance, so this is the history they remember (the adaptive
    #: baseline learns from it) and what a restart replays
    by_actor_retention: timedelta = timedelta(days=14)
    detectors: dict[str, DetectorSpec] = Field(default_factory=dict)
