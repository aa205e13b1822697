"""The least-privilege ACLs that the rules imply, and the drift of a broker's ACLs from them.

Pure data: ``broker.py`` reads and writes them with the Admin API. Every grant says why it is
there, so that ``acls --print`` reads as a review of who may do what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from processor.rules.encrypted import encrypted_fields
from processor.rules.model import RuleSet
from processor.rules.topics import RuleTopics

TOPIC, GROUP, TRANSACTIONAL_ID, CLUSTER = "topic", "group", "transactional_id", "cluster"
LITERAL, PREFIXED = "literal", "prefixed"
CLUSTER_NAME = "kafka-cluster"


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW binding: principal may do operation on the resource (any host)."""

    principal: str
    resource: str  # topic | group | transactional_id | cluster
    name: str
    pattern: str  # literal | prefixed
    operation: str  # read | write | describe | idempotent_write
    why: str = field(default="", compare=False)

    def __str__(self) -> str:
        return (f"{self.principal} {self.operation.upper()} {self.resource} {self.name!r}"
                f"{' (prefixed)' if self.pattern == PREFIXED else ''}")


class RuleResources:
    """The broker resources that the rules concern: a binding on any of them is either one of
    the rules' grants or drift."""

    def __init__(self, rules: RuleSet) -> None:
        access = rules.access
        assert access is not None
        self.sources = [t.topic for t in rules.tables.values()]
        self.views = RuleTopics.of(rules).views
        self.outputs = [*self.views.values(), rules.dlq_topic, rules.alert_topic,
                        rules.audit_topic, rules.data_keys.topic,
                        *([rules.anomaly.by_actor_topic] if rules.anomaly else []),
                        *(kpi.topic for kpi in rules.kpis.values()),
                        *([rules.kpi.facts_topic] if rules.kpis else [])]
        self.topics = [*self.sources, *self.outputs]
        self.groups = [access.processor_group]
        self.group_prefixes = [group_prefix(v.topic) for v in rules.views.values()] + \
            [f"{rules.alert_topic}.", f"{rules.audit_topic}."] + \
            [f"{kpi.topic}." for kpi in rules.kpis.values()]
        self.transactional_prefix = access.transactional_id_prefix

    def concerns(self, resource: str, name: str, pattern: str) -> bool:
        """Whether a binding on this resource pattern reaches any of the rules' resources."""
        if resource == CLUSTER:
            return True
        if resource == TOPIC:
            return any(_covers(name, pattern, topic) for topic in self.topics)
        if resource == GROUP:
            return any(_covers(name, pattern, g) for g in self.groups) or \
                any(_overlaps(name, pattern, p) for p in self.group_prefixes)
        if resource == TRANSACTIONAL_ID:
            return _overlaps(name, pattern, self.transactional_prefix)
        return False


def processor_topics(rules: RuleSet) -> list[tuple[list[str], tuple[str, ...], str]]:
    """What the processor does on which topics, and why: the one list that its ACLs
    (``desired_grants``) and its own check at start-up (``access.preflight``) both read."""
    topics = RuleTopics.of(rules)
    found = [(topics.sources, ("read", "describe"), "the processor reads the CRM's changes"),
             (topics.outputs, ("write", "describe"),
              "the processor publishes views, dead letters, alerts, the audit trail"),
             ([topics.audit], ("read",),
              "the processor continues its audit chain after a restart")]
    if topics.data_keys is not None:
        found.append(([topics.data_keys], ("read",),
                      "the processor restores the per-subject data keys of encrypt"))
    if topics.by_actor is not None:
        found.append(([topics.by_actor], ("read",),
                      "the processor's detectors read the access events keyed by actor"))
    if topics.kpi_facts is not None:
        found.append(([topics.kpi_facts], ("read",),
                      "the processor's KPI windows read the facts of the masked rows"))
    return found


def group_prefix(view_topic: str) -> str:
    """A view's readers' consumer groups: named after its topics (``bi.analytics.`` …)."""
    return view_topic.split("{table}")[0]


def _covers(name: str, pattern: str, resource: str) -> bool:
    if name == "*":
        return True
    return resource.startswith(name) if pattern == PREFIXED else resource == name


def _overlaps(name: str, pattern: str, prefix: str) -> bool:
    """Whether a binding can name an id that starts with ``prefix``."""
    if name == "*":
        return True
    if pattern == PREFIXED:
        return name.startswith(prefix) or prefix.startswith(name)
    return name.startswith(prefix)


def desired_grants(rules: RuleSet) -> list[Grant]:
    """The ACLs that let every party do its job and nothing else."""
    access = rules.access
    if access is None:
        raise ValueError("the rules have no access section: who is the processor, who reads "
                         "which view? (see rules/access.yaml)")
    res = RuleResources(rules)
    me = access.processor
    grants: list[Grant] = []

    def allow(principal: str, resource: str, names: Iterable[str], operations: Iterable[str],
              why: str, pattern: str = LITERAL) -> None:
        grants.extend(Grant(principal, resource, name, pattern, op, why)
                      for name in names for op in operations)

    for topics, operations, why in processor_topics(rules):
        allow(me, TOPIC, topics, operations, why)
    allow(me, GROUP, res.groups, ("read",), "the processor's consumer group and offsets")
    allow(me, TRANSACTIONAL_ID, [access.transactional_id_prefix], ("write", "describe"),
          "the processor's transactions (exactly once)", PREFIXED)
    allow(me, CLUSTER, [CLUSTER_NAME], ("idempotent_write",), "the processor's producer")
    for name, view in rules.views.items():
        topics = [topic for (view_name, _), topic in res.views.items() if view_name == name]
        for reader in view.readers:
            principal = access.principals[reader]
            allow(principal, TOPIC, topics, ("read", "describe"), f"{reader} reads view {name}")
            allow(principal, GROUP, [group_prefix(view.topic)], ("read",),
                  f"{reader}'s consumer groups for view {name}", PREFIXED)
    for name, kpi in rules.kpis.items():
        for reader in kpi.readers:
            principal = access.principals[reader]
            allow(principal, TOPIC, [kpi.topic], ("read", "describe"),
                  f"{reader} reads the released KPI {name}")
            allow(principal, GROUP, [f"{kpi.topic}."], ("read",),
                  f"{reader}'s consumer groups for KPI {name}", PREFIXED)
    for reader in access.key_custodians if encrypted_fields(rules) else ():
        allow(access.principals[reader], TOPIC, [rules.data_keys.topic],
              ("read", "write", "describe"),
              f"{reader} reveals (reads the wrapped data keys), erases and rotates them")
    for key, topic, what in (("alert_readers", rules.alert_topic, "the alerts"),
                             ("audit_readers", rules.audit_topic, "the audit trail")):
        for reader in getattr(access, key):
            principal = access.principals[reader]
            allow(principal, TOPIC, [topic], ("read", "describe"), f"{reader} reads {what}")
            allow(principal, GROUP, [f"{topic}."], ("read",),
                  f"{reader}'s consumer groups for {what}", PREFIXED)
    for writer in access.source_writers:
        allow(writer, TOPIC, res.sources, ("write", "describe"),
              "the CDC connector writes the CRM's changes")
    return sorted(set(grants))


@dataclass
class Drift:
    #: how many grants the rules imply
    wanted: int
    missing: list[Grant]
    extra: list[Grant]
    #: bindings on resources the rules do not concern (Connect's own topics …): not judged
    unrelated: int

    @property
    def clean(self) -> bool:
        return not self.missing and not self.extra


def drift(rules: RuleSet, found: Iterable[Grant]) -> Drift:
    """What the broker grants beyond the rules (on their resources), and what it lacks."""
    desired = set(desired_grants(rules))
    resources = RuleResources(rules)
    found = set(found)
    related = {g for g in found if resources.concerns(g.resource, g.name, g.pattern)}
    return Drift(len(desired), sorted(desired - found), sorted(related - desired),
                 len(found - related))
