"""Create or verify the output topics that the rules imply: views, DLQ, alerts.

View topics are compacted (a delete's tombstone makes the subject disappear, Art. 17) and
also deleted after the table's retention; the DLQ keeps coordinates only, for ``dlq_retention``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import ConfigResource, NewTopic

from processor.kafka_client import Admin
from processor.rules.encrypted import encrypted_fields
from processor.rules.model import RuleSet, duration_ms


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    purpose: str = ""


def desired_topics(rules: RuleSet, partitions: int) -> list[TopicSpec]:
    specs = {}
    for view_name, view in rules.views.items():
        for table_name in filter(view.publishes, rules.tables):
            topic = view.topic_of(table_name)
            specs[topic] = TopicSpec(topic, view.partitions or partitions, {
                "cleanup.policy": "compact,delete",
                "retention.ms": str(rules.tables[table_name].retention_ms)},
                f"view {view_name} of {table_name}")
    specs[rules.dlq_topic] = TopicSpec(rules.dlq_topic, partitions, {
        "cleanup.policy": "delete", "retention.ms": str(duration_ms(rules.dlq_retention))},
        "dead letters (coordinates and reason only)")
    specs[rules.audit_topic] = TopicSpec(rules.audit_topic, 1, {
        "cleanup.policy": "delete", "retention.ms": str(duration_ms(rules.audit_retention))},
        "audit trail (one record per transaction, hash-chained)")
    specs[rules.alert_topic] = TopicSpec(rules.alert_topic, partitions, {
        "cleanup.policy": "delete", "retention.ms": str(duration_ms("P90D"))}, "anomaly alerts")
    if rules.anomaly is not None:
        by_actor = rules.anomaly.by_actor_topic
        specs[by_actor] = TopicSpec(by_actor, partitions, {
            "cleanup.policy": "delete",
            "retention.ms": str(int(rules.anomaly.by_actor_retention.total_seconds() * 1000))},
            "internal: access events and user changes keyed by actor (the detectors' input; "
            "only the processor reads it)")
    for kpi_name, kpi in rules.kpis.items():
        specs[kpi.topic] = TopicSpec(kpi.topic, partitions, {
            "cleanup.policy": "compact,delete",
            "retention.ms": str(rules.tables[kpi.table].retention_ms)},
            f"released KPI {kpi_name} (cells of at least {kpi.min_group_size} subjects)")
    if rules.kpis:
        specs[rules.kpi.facts_topic] = TopicSpec(rules.kpi.facts_topic, 1, {
            "cleanup.policy": "delete",
            "retention.ms": str(int(rules.kpi.facts_retention.total_seconds() * 1000))},
            "internal: the masked facts of the KPIs (one partition: every window in one "
            "place; only the processor reads it)")
    if encrypted_fields(rules):
        specs[rules.data_keys.topic] = TopicSpec(
            rules.data_keys.topic, 1, rules.data_keys.topic_config,
            "per-subject data keys of encrypt (wrapped; a shredded key is compacted away "
            f"within {rules.data_keys.shred_within})")
    return sorted(specs.values(), key=lambda s: s.name)


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
