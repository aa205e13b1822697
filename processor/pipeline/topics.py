"""Create or verify the topics that the rules imply (``RuleTopics``) with their settings.

View topics are compacted (a delete's tombstone makes the subject disappear, Art. 17) and
also deleted after the table's retention; the DLQ keeps coordinates only, for ``dlq_retention``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from confluent_kafka import KafkaException
from confluent_kafka.admin import ConfigResource, NewTopic

from processor.kafka_client import Admin
from processor.rules.model import RuleSet, duration_ms
from processor.rules.topics import RuleTopics


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    purpose: str = ""


def desired_topics(rules: RuleSet, partitions: int) -> list[TopicSpec]:
    """Each topic of ``RuleTopics`` (the one list of what the rules imply) with its partitions,
    its clean-up and retention, and why it is there."""
    topics = RuleTopics.of(rules)
    specs = [TopicSpec(topic, rules.views[view_name].partitions or partitions, {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(rules.tables[table_name].retention_ms)},
        f"view {view_name} of {table_name}")
        for (view_name, table_name), topic in topics.views.items()]
    specs.append(TopicSpec(topics.dlq, partitions, _deleted_after(duration_ms(rules.dlq_retention)),
                           "dead letters (coordinates and reason only)"))
    specs.append(TopicSpec(topics.audit, 1, _deleted_after(duration_ms(rules.audit_retention)),
                           "audit trail (one record per transaction, hash-chained)"))
    if topics.alerts is not None:
        specs.append(TopicSpec(topics.alerts, partitions, _deleted_after(duration_ms("P90D")),
                               "anomaly alerts"))
    if topics.by_actor is not None and rules.anomaly is not None:
        specs.append(TopicSpec(topics.by_actor, partitions,
                               _deleted_after(_ms(rules.anomaly.by_actor_retention)),
                               "internal: access events and user changes keyed by actor (the "
                               "detectors' input; only the processor reads it)"))
    for kpi_name, topic in topics.kpis.items():
        kpi = rules.kpis[kpi_name]
        specs.append(TopicSpec(topic, partitions, {
            "cleanup.policy": "compact,delete",
            "retention.ms": str(rules.tables[kpi.table].retention_ms)},
            f"released KPI {kpi_name} (cells of at least {kpi.min_group_size} subjects)"))
    if topics.kpi_facts is not None:
        specs.append(TopicSpec(topics.kpi_facts, 1,
                               _deleted_after(_ms(rules.kpi.facts_retention)),
                               "internal: the masked facts of the KPIs (one partition: every "
                               "window in one place; only the processor reads it)"))
    if topics.data_keys is not None:
        specs.append(TopicSpec(
            topics.data_keys, 1, rules.data_keys.topic_config,
            "per-subject data keys of encrypt (wrapped; a shredded key is compacted away "
            f"within {rules.data_keys.shred_within})"))
    return sorted(specs, key=lambda s: s.name)


def _deleted_after(retention_ms: int) -> dict[str, str]:
    return {"cleanup.policy": "delete", "retention.ms": str(retention_ms)}


def _ms(duration: timedelta) -> int:
    return int(duration.total_seconds() * 1000)


@dataclass
class TopicReport:
    created: list[str] = field(default_factory=list)
    ok: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def ensure_topics(admin: Admin, specs: list[TopicSpec], create: bool,
                  replication_factor: int = -1) -> TopicReport:
    """Create missing topics (when ``create``), and compare existing ones with the specs."""
    report = TopicReport()
    existing = admin.topics()
    missing = [s for s in specs if s.name not in existing]
    if missing and create:
        futures = admin.client.create_topics([NewTopic(s.name, num_partitions=s.partitions,
                                                replication_factor=replication_factor,
                                                config=s.config) for s in missing])
        for name, future in futures.items():
            try:
                future.result(30)
                report.created.append(name)
            except KafkaException as exc:
                report.problems.append(f"{name}: cannot create: {exc.args[0].str()}")
    elif missing:
        report.problems += [f"{s.name}: missing" for s in missing]
    present = [s for s in specs if s.name in existing]
    if present:
        resources = [ConfigResource(ConfigResource.Type.TOPIC, s.name) for s in present]
        configs = admin.client.describe_configs(resources)
        for spec, resource in zip(present, resources, strict=True):
            actual = configs[resource].result(30)
            diffs = [f"{k}={actual[k].value} (want {v})" for k, v in spec.config.items()
                     if k in actual and actual[k].value != v]
            if diffs:
                report.problems.append(f"{spec.name}: " + ", ".join(diffs))
            else:
                report.ok.append(spec.name)
    return report
