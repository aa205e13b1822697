"""The rule-set schema, validated with pydantic. Semantic checks live in ``checks.py``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import isodate
from pydantic import Field, field_validator, model_validator

from processor.actions.null import Null
from processor.actions.registry import action_class
from processor.anomaly.config import AnomalyRules
from processor.formats.views import VIEW_FORMATS
from processor.formats.views.flat import FlatFormat
from processor.i18n import Text
from processor.kpi.config import KpiRules, KpiSettings
from processor.models import PluginSpec, Strict

FieldClass = Literal["identifier", "personal", "special", "free_text", "business", "technical"]
LegalBasis = Literal[
    "consent", "contract", "legal_obligation", "vital_interests", "public_task",
    "legitimate_interests",
]
#: the exceptions of Art. 9(2)(a)–(j) GDPR that allow processing a special category
Art9Exception = Literal[
    "explicit_consent", "employment_social_security", "vital_interests", "not_for_profit_body",
    "made_public_by_subject", "legal_claims", "substantial_public_interest", "health_care",
    "public_health", "archiving_research_statistics",
]
#: safeguards for a transfer to a third country (Art. 45–49 GDPR)
TransferSafeguard = Literal[
    "adequacy_decision", "standard_contractual_clauses", "binding_corporate_rules",
    "derogation",
]
PERSONAL_CLASSES = frozenset({"identifier", "personal", "special", "free_text"})


def check_duration(value: str) -> str:
    try:
        isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError):
        raise ValueError("retention must be an ISO-8601 duration such as P10Y or P90D") from None
    return value


def duration_ms(value: str) -> int:
    """An ISO-8601 duration in milliseconds (years of 365.25 days, months of 30.44)."""
    duration = isodate.parse_duration(value)
    years = float(getattr(duration, "years", 0))
    months = float(getattr(duration, "months", 0))
    tdelta = getattr(duration, "tdelta", duration)
    days = years * 365.25 + months * 30.44 + tdelta.total_seconds() / 86_400
    return int(days * 86_400_000)


class ActionSpec(PluginSpec):
    """An action name with its parameters, e.g. ``{action: mask, keep_last: 2}``."""

    action: str

    @property
    def publishes(self) -> bool:
        """Whether the action puts a value of the column into the view (not drop, not null)."""
        cls = action_class(self.action)
        return not cls.removes_field and cls.output_type != "null"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"action": data}
        if isinstance(data, dict) and "action" in data and data["action"] is None:
            return {**data, "action": Null.name}  # YAML reads `action: null` as None
        return data


class Condition(Strict):
    """Apply the field's action only when another column of the same row matches."""

    field: str
    equals: Any = None
    not_null: bool = False

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if (self.equals is None) == (not self.not_null):
            raise ValueError("a condition needs exactly one of `equals` or `not_null: true`")
        return self


class FieldRule(ActionSpec):
    """What happens to one column: its class (for the record) and its action."""

    field_class: FieldClass = Field(alias="class")
    description: Text = ""
    #: why a personal field may be published in clear (silences the warning, goes in the report)
    justification: Text = ""
    #: for a special category (Art. 9): the exception of Art. 9(2) that allows reading it
    art9_exception: Art9Exception | None = None
    when: Condition | None = None
    #: what happens when ``when`` does not hold (default: null)
    otherwise: ActionSpec | None = None
    #: the column holds names of people: its values teach ``scrub`` the CRM's known names
    #: (kept as keyed hashes of their tokens, never in clear)
    entity: Literal["name"] | None = None

    @property
    def otherwise_spec(self) -> ActionSpec:
        """What happens when ``when`` does not hold: ``otherwise``, else null."""
        return self.otherwise or ActionSpec(action=Null.name)


class TableRules(Strict):
    topic: str = Field(min_length=1)
    key: list[str] = Field(default_factory=lambda: ["id"], min_length=1)
    legal_basis: LegalBasis
    purposes: list[str] = Field(min_length=1)
    retention: str
    data_subjects: list[str] = Field(default_factory=list)
    description: Text = ""
    #: the interest pursued, where legal_basis is legitimate_interests (Art. 6(1)(f))
    legitimate_interest: Text = ""
    #: the event from which retention counts (end of the contract, of the relationship …)
    retention_start: Text = ""
    #: the column that names the row's data subject (contacts: id, contracts: contact_id):
    #: pseudonymised, its domain is the subject's kind; ``subject`` look-ups find the table's
    #: rows by it, ``encrypt`` keys its values per subject by it
    subject: str | None = None
    fields: dict[str, FieldRule] = Field(min_length=1)

    @property
    def subject_domain(self) -> str | None:
        """The subject's kind: the pseudonym domain of the subject column."""
        rule = self.fields.get(self.subject) if self.subject else None
        domain = rule.params.get("domain") if rule is not None else None
        return domain if isinstance(domain, str) else None

    @property
    def home_of_subject(self) -> bool:
        """The table's rows are its subjects themselves (key = the subject column): deleting
        one erases the subject."""
        return self.subject is not None and self.key == [self.subject]

    @field_validator("retention")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        return check_duration(value)

    @property
    def retention_ms(self) -> int:
        return duration_ms(self.retention)


class ViewRules(Strict):
    topic: str = Field(min_length=1)
    #: the output format (processor/formats/views/: debezium, flat, bi)
    format: str = FlatFormat.name
    description: Text = ""
    #: CRM roles or teams allowed to read the view (for the record and the ACLs)
    readers: list[str] = Field(default_factory=list)
    #: the purposes the view serves (default: every purpose of the tables it publishes); the
    #: record lists the view as a recipient only under these
    purposes: list[str] | None = None
    #: tables published in this view (default: all)
    tables: list[str] | None = None
    #: ``table.field`` → action spec that replaces the table's rule in this view
    overrides: dict[str, ActionSpec] = Field(default_factory=dict)
    #: partitions of the view's topics (default: ``topics --partitions``). A truncate reaches
    #: every partition, each in its order: a sink that empties the whole table on it (the
    #: warehouse's JDBC sink) needs one partition, or it may empty rows written after it
    partitions: int | None = Field(None, ge=1)

    def publishes(self, table: str) -> bool:
        return self.tables is None or table in self.tables

    def topic_of(self, table: str) -> str:
        """This view's topic for ``table``."""
        return self.topic.format(table=table)

    def spec_for(self, table: str, column: str, rule: ActionSpec) -> ActionSpec:
        """The action that this view applies to a column: its override, else ``rule``."""
        return self.overrides.get(f"{table}.{column}", rule)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        names = VIEW_FORMATS.names()
        if value not in names:
            raise ValueError(f"unknown view format {value!r}; the formats: {', '.join(names)}")
        return value

    @field_validator("topic")
    @classmethod
    def _per_table(cls, value: str) -> str:
        if "{table}" not in value:
            raise ValueError("the topic pattern must contain {table}, e.g. bi.analytics.{table}")
        try:
            value.format(table="t")
        except (KeyError, IndexError, ValueError):
            raise ValueError("the topic pattern may use {table} and no other placeholder"
                             ) from None
        return value


class Controller(Strict):
    """The controller named in the record of processing activities (Art. 30(1)(a))."""

    name: str = ""
    address: str = ""
    contact: str = ""
    dpo: str = ""
    #: the representative in the Union (Art. 27), for a controller outside it
    representative: str = ""
    joint_controllers: list[str] = Field(default_factory=list)


#: a Kafka principal, as the broker's authorizer names it
Principal = Annotated[str, Field(pattern=r"^(User|Group):[^\s:*][^\s]*$")]


class AccessRules(Strict):
    """Who may read and write what on the broker: the processor, the views' readers, the
    security team (alerts) and auditors (audit trail), as Kafka principals. ``crm-masker acls``
    derives the least-privilege ACLs from this and the topics of the rules."""

    processor: Principal
    #: the processor's consumer group and the prefix of its transactional ids
    processor_group: str = Field("crm-masker", min_length=1)
    transactional_id_prefix: str = Field("crm-masker", min_length=1)
    #: the rules' readers (views: readers, and the roles below) → their principals
    principals: dict[str, Principal] = Field(default_factory=dict)
    #: readers of the alert topic (who did what: the security team only)
    alert_readers: list[str] = Field(default_factory=list)
    #: readers of the audit topic
    audit_readers: list[str] = Field(default_factory=list)
    #: who holds the KEK file and may read and write the key topic of ``encrypt`` (``reveal``,
    #: ``erase``, ``keys rotate``): the security team
    key_custodians: list[str] = Field(default_factory=list)
    #: who writes the source topics (the CDC connector's principal): expected, not drift
    source_writers: list[Principal] = Field(default_factory=list)


class Purpose(Strict):
    """A purpose of processing: one processing activity of the record (Art. 30(1)(b))."""

    name: Text
    description: Text = ""


class DataProcessor(Strict):
    """A processor (Auftragsverarbeiter, Art. 28) that handles the data on the controller's
    behalf: a hosting or Kafka provider, a BI service."""

    name: str
    service: Text
    country: str = Field(min_length=2)
    agreement: Text = ""  # the data-processing agreement (date, reference)


class Transfer(Strict):
    """A transfer to a third country or an international organisation (Art. 30(1)(e))."""

    recipient: str
    country: str
    safeguard: TransferSafeguard
    description: Text = ""


class Record(Strict):
    """What the record of processing activities needs beyond the masking rules: the names
    of the rules' identifiers in words, processors, transfers and organisational measures."""

    purposes: dict[str, Purpose] = Field(default_factory=dict)
    data_subjects: dict[str, Text] = Field(default_factory=dict)
    #: the views' readers (roles, teams) as the record names them
    recipients: dict[str, Text] = Field(default_factory=dict)
    processors: list[DataProcessor] = Field(default_factory=list)
    #: [] says "none"; left out, the record says that it is not stated
    third_country_transfers: list[Transfer] | None = None
    #: technical and organisational measures outside crm-masker (Art. 32): access control,
    #: backups, training …; crm-masker adds its own
    measures: list[Text] = Field(default_factory=list)


class DataKeyRules(Strict):
    """Where the per-subject data keys of ``encrypt`` live, and how fast an erased subject's
    key must be gone from the broker (the key topic's compaction settings follow from it)."""

    topic: str = Field(default="crm.keys.subjects", min_length=1)
    #: a tombstoned (shredded) data key is compacted away within about this long
    shred_within: str = "P1D"

    @field_validator("shred_within")
    @classmethod
    def _duration(cls, value: str) -> str:
        return check_duration(value)

    @property
    def topic_config(self) -> dict[str, str]:
        """Compaction that removes a shredded key within ``shred_within``: a quarter each for
        the segment to roll, the cleaner to pick it up, and the tombstone to be dropped."""
        quarter = str(max(1000, duration_ms(self.shred_within) // 4))
        return {"cleanup.policy": "compact", "segment.ms": quarter,
                "max.compaction.lag.ms": quarter, "delete.retention.ms": quarter,
                "min.compaction.lag.ms": "0", "min.cleanable.dirty.ratio": "0.01"}


class RuleSet(Strict):
    version: str
    pseudonym_key_id: str = Field(min_length=1)
    domains: list[str] = Field(min_length=1)
    dlq_topic: str = "crm.dlq"
    dlq_retention: str = "P14D"
    alert_topic: str = "crm.alerts"
    #: share of published rows the leak watch inspects (0 switches it off)
    leak_watch_sample: float = Field(0.01, ge=0.0, le=1.0)
    #: one record per committed transaction, hash-chained (the processing audit trail)
    audit_topic: str = "crm.audit.proc"
    audit_retention: str = "P10Y"
    max_event_bytes: int = Field(1_048_576, gt=0)
    controller: Controller = Field(default_factory=Controller)
    record: Record = Field(default_factory=Record)
    access: AccessRules | None = None
    data_keys: DataKeyRules = Field(default_factory=DataKeyRules)
    tables: dict[str, TableRules] = Field(min_length=1)
    views: dict[str, ViewRules] = Field(min_length=1)
    #: access/export anomaly detection (processor.anomaly)
    anomaly: AnomalyRules | None = None
    #: released KPIs: aggregates of views' masked rows, small cells suppressed (processor.kpi)
    kpis: dict[str, KpiRules] = Field(default_factory=dict)
    kpi: KpiSettings = Field(default_factory=KpiSettings)

    @field_validator("dlq_retention", "audit_retention")
    @classmethod
    def _dlq_duration(cls, value: str) -> str:
        return check_duration(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value
