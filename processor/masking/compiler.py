"""Turn a validated rule set into plans: one FieldPlan per table × distinct view overrides."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from processor.actions.base import Action, CompileContext, SubjectScope
from processor.actions.registry import compile_action
from processor.datakeys import DataKeyStore
from processor.errors import KeyFileError
from processor.formats.logical_types import LogicalType
from processor.formats.views import ViewFormat, view_format
from processor.keys import KeyRing
from processor.masking.plan import ABSENT, ApplyFn, Conditional, FieldPlan, OutputType, Retypable
from processor.pii.names import NameLexicon
from processor.rules import ValidatedRules
from processor.rules.encrypted import encrypted_fields
from processor.rules.model import ActionSpec, FieldRule, RuleSet, TableRules


@dataclass(frozen=True)
class ViewPlan:
    view: str
    topic: str
    format: ViewFormat
    plan: FieldPlan


@dataclass(frozen=True)
class TableRoute:
    table: str
    source_topic: str
    views: tuple[ViewPlan, ...]
    #: the action counts that a masked event of this table reports: its last distinct plan's
    action_counts: dict[str, int] = field(default_factory=dict)
    #: columns whose values are names of people (``entity: name``): they feed ``names``
    name_columns: tuple[str, ...] = ()
    #: a delete of this table erases its subject: its data keys are shredded (None: no)
    shreds: SubjectScope | None = None


@dataclass(frozen=True)
class CompiledRules:
    validated: ValidatedRules
    routes: dict[str, TableRoute]  # by source topic
    #: the CRM's known names, when some column is a name and keys were given
    names: NameLexicon | None = None
    #: the per-subject data keys of ``encrypt``, when the rules encrypt and a KEK file is given
    data_keys: DataKeyStore | None = None

    @property
    def dlq_topic(self) -> str:
        return self.validated.rules.dlq_topic

    @property
    def max_event_bytes(self) -> int:
        return self.validated.rules.max_event_bytes

    def plans_showing_before(self) -> frozenset[int]:
        """ids of the plans with a view that publishes the before image of updates (flat
        views show it for deletes only)."""
        return frozenset(id(view.plan) for route in self.routes.values()
                         for view in route.views if view.format.shows_before_of_updates)

    def shred(self, route: TableRoute, before: dict[str, Any] | None,
              key: Any = None) -> list[str]:
        """The erasure of a subject, by the delete of its row (``before``, else the message
        ``key``): its data keys are tombstoned with the delete's transaction. Both engines
        call this; returns the data key ids tombstoned."""
        scope, store = route.shreds, self.data_keys
        if scope is None or store is None:
            return []
        subject = (before or {}).get(scope.column)
        if subject is None and isinstance(key, dict):
            subject = key.get(scope.column)
        return store.shred(scope.domain, subject) if subject is not None else []

    @property
    def output_topics(self) -> list[str]:
        return sorted({v.topic for route in self.routes.values() for v in route.views})


#: compiled actions by (table, field, action spec): views whose plans differ in a few
#: overrides share the other columns' actions, and with them the pseudonym and scrub caches
ActionCache = dict[tuple[str, str, str], Action]


def _compile(spec: ActionSpec, ctx: CompileContext,
             cache: ActionCache | None = None) -> tuple[Action, ApplyFn | None, OutputType]:
    """The action, its apply function (None: drops the field) and its output type."""
    cache_key = (ctx.table, ctx.field, spec.model_dump_json())
    action = cache.get(cache_key) if cache is not None else None
    if action is None:
        action = compile_action(spec.action, spec.params, ctx)
        if cache is not None:
            cache[cache_key] = action
    output: OutputType = ABSENT if action.removes_field else action.output_type
    return action, (None if action.removes_field else action.apply), output


def _reads_logical_types(action: Action) -> bool:
    return type(action).for_logical_type is not Action.for_logical_type


def compile_field_plan(table_name: str, table: TableRules, overrides: dict[str, ActionSpec],
                       key_id: str, keys: KeyRing | None,
                       cache: ActionCache | None = None,
                       names: NameLexicon | None = None,
                       subject: SubjectScope | None = None,
                       data_keys: DataKeyStore | None = None) -> FieldPlan:
    steps: list[tuple[str, ApplyFn | None, Conditional | None]] = []
    watched: list[str] = []
    fns: dict[str, ApplyFn | None] = {}
    counts: Counter[str] = Counter()
    outputs: dict[str, tuple[OutputType, ...]] = {}
    retypable: dict[str, Retypable] = {}
    declared: dict[str, LogicalType] = {}
    per_subject = False
    for name, rule in table.fields.items():
        ctx = CompileContext(table=table_name, field=name, key_id=key_id, keys=keys,
                             names=names, subject=subject, data_keys=data_keys)
        spec: ActionSpec = overrides.get(name, rule)
        action, fn, output = _compile(spec, ctx, cache)
        per_subject |= action.per_subject
        outputs[name] = (output,)
        counts[spec.action] += 1
        fns[name] = fn
        if type(action).watched or (isinstance(spec, FieldRule) and spec.when is not None):
            watched.append(name)
        if isinstance(spec, FieldRule) and spec.when is not None:
            other, otherwise, otherwise_output = _compile(spec.otherwise_spec, ctx, cache)
            outputs[name] = (output, otherwise_output)
            per_subject |= other.per_subject
            condition = Conditional(name, spec.when.field, fn, otherwise,
                                    spec.when.not_null, spec.when.equals)
            steps.append((name, None, condition))
        elif fn is not None:
            steps.append((name, fn, None))
            if _reads_logical_types(action):
                retypable[name] = action
            logical = action.declared_type()
            if logical is not None and output is None:
                declared[name] = logical
    key_fields = tuple((name, fns[name]) for name in table.key)
    published = tuple((name, outputs[name]) for name in table.fields
                      if any(out != ABSENT for out in outputs[name]))
    return FieldPlan(table=table_name, steps=tuple(steps), key_fields=key_fields,
                     known=frozenset(table.fields), action_counts=dict(counts),
                     watched=tuple(watched), outputs=published, retypable=retypable,
                     declared=declared, subject=subject if per_subject else None)


def _data_keys(rules: RuleSet, encrypted: list[tuple[str, str, str]], keys: KeyRing | None,
               keks: KeyRing | None) -> DataKeyStore | None:
    if keys is None or not encrypted:
        return None
    if keks is None:
        table, column, _ = encrypted[0]
        raise KeyFileError(f"the rules encrypt {table}.{column}: pass the KEK file (--kek-file "
                           "or CRM_MASKER_KEK_FILE); make one with `crm-masker keys new "
                           "--output FILE`")
    return DataKeyStore(rules.data_keys.topic, keks, keys, rules.pseudonym_key_id)


def compile_rules(validated: ValidatedRules, keys: KeyRing | None,
                  keks: KeyRing | None = None) -> CompiledRules:
    """Plans for every table × view; ``keys`` None compiles for describing only (no secrets):
    such plans must not be applied. ``keks``: the key-encryption keys of ``encrypt``."""
    rules = validated.rules
    encrypted = encrypted_fields(rules)
    data_keys = _data_keys(rules, encrypted, keys, keks)
    encrypted_domains = {domain for _, _, domain in encrypted}
    routes: dict[str, TableRoute] = {}
    cache: ActionCache = {}
    names = None
    if keys is not None and any(rule.entity == "name" for table in rules.tables.values()
                                for rule in table.fields.values()):
        names = NameLexicon(keys.secret(rules.pseudonym_key_id))
    for table_name, table in rules.tables.items():
        domain = table.subject_domain
        scope = SubjectScope(table.subject, domain) if table.subject and domain else None
        plans: dict[frozenset[tuple[str, str]], FieldPlan] = {}
        views: list[ViewPlan] = []
        for view_name, view in rules.views.items():
            if not view.publishes(table_name):
                continue
            prefix = table_name + "."
            overrides = {target[len(prefix):]: spec for target, spec in view.overrides.items()
                         if target.startswith(prefix)}
            # views with the same overrides share one plan, so the engine masks once for both
            signature = frozenset((k, v.model_dump_json()) for k, v in overrides.items())
            if signature not in plans:
                plans[signature] = compile_field_plan(
                    table_name, table, overrides, rules.pseudonym_key_id, keys, cache, names,
                    scope, data_keys)
            views.append(ViewPlan(view_name, view.topic_of(table_name),
                                  view_format(view.format), plans[signature]))
        last_plan = list(plans.values())[-1] if plans else None
        routes[table.topic] = TableRoute(
            table_name, table.topic, tuple(views), last_plan.action_counts if last_plan else {},
            tuple(name for name, rule in table.fields.items() if rule.entity == "name"),
            scope if data_keys is not None and table.home_of_subject
            and domain in encrypted_domains else None)
    return CompiledRules(validated, routes, names, data_keys)
