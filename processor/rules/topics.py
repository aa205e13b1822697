"""The topics that the rules imply, named once: what `topics` creates, what the processor
checks at start and reads or writes, and what its ACLs grant."""

from __future__ import annotations

from dataclasses import dataclass, field

from processor.rules.encrypted import encrypted_fields
from processor.rules.model import RuleSet


@dataclass(frozen=True)
class RuleTopics:
    sources: list[str]
    #: (view, table) → the view's topic for the table
    views: dict[tuple[str, str], str]
    dlq: str
    audit: str
    #: the alert topic, when the rules detect anomalies
    alerts: str | None
    #: the key topic of encrypt's data keys, when the rules encrypt
    data_keys: str | None
    #: the internal topic of access events and user changes keyed by actor, when the rules
    #: detect anomalies: the processor writes and reads it, nobody else
    by_actor: str | None = None
    #: name → the topic of each released KPI, and the internal facts topic (when there are)
    kpis: dict[str, str] = field(default_factory=dict)
    kpi_facts: str | None = None

    @classmethod
    def of(cls, rules: RuleSet) -> RuleTopics:
        return cls([table.topic for table in rules.tables.values()],
                   {(name, table): view.topic_of(table) for name, view in rules.views.items()
                    for table in rules.tables if view.publishes(table)},
                   rules.dlq_topic, rules.audit_topic,
                   rules.alert_topic if rules.anomaly is not None else None,
                   rules.data_keys.topic if encrypted_fields(rules) else None,
                   rules.anomaly.by_actor_topic if rules.anomaly is not None else None,
                   {name: kpi.topic for name, kpi in rules.kpis.items()},
                   rules.kpi.facts_topic if rules.kpis else None)

    @property
    def outputs(self) -> list[str]:
        """Every topic the processor writes: views, dead letters, audit, alerts, data keys, the
        by-actor topic, the KPIs and their facts."""
        return [*self.views.values(), self.dlq, self.audit,
                *(topic for topic in (self.alerts, self.data_keys, self.by_actor)
                  if topic is not None), *self.kpis.values(),
                *([self.kpi_facts] if self.kpi_facts else [])]
