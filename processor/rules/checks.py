"""Validate a loaded rule set: schema errors from pydantic plus the checks that span fields.

Every problem carries file, line, the key path and a hint. Errors stop the processor; warnings
(e.g. a personal field published in clear) are reported and go into the record of processing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator

from pydantic import ValidationError

from processor.actions.registry import action_class, action_names, validate_params
from processor.errors import Problem, did_you_mean
from processor.rules.kpi_checks import kpi_problems
from processor.rules.loader import LoadedRules, Loc
from processor.rules.model import PERSONAL_CLASSES, ActionSpec, FieldRule, RuleSet, TableRules

_HINTS = {
    "legal_basis": "one of consent, contract, legal_obligation, vital_interests, public_task, "
                   "legitimate_interests (Art. 6(1) GDPR)",
    "retention": "an ISO-8601 duration such as P10Y",
    "purposes": "a list such as [analytics]",
    "class": "identifier, personal, special, free_text, business or technical",
    "topic": "the Kafka topic, e.g. crm.public.contacts",
}


def schema_problems(loaded: LoadedRules, exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc: Loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(
            ("function-", "str", "int", "float", "bool", "list", "dict", "model"))))
        name = str(loc[-1]) if loc else ""
        hint = _HINTS.get(name, "")
        message = err["msg"]
        if err["type"] == "missing":
            message = f"missing required key {name!r}"
        elif err["type"] == "extra_forbidden":
            message = f"unknown key {name!r}"
            hint = "remove it or check its spelling"
        problems.append(loaded.problem(loc, message, hint))
    return problems


def _action_problems(loaded: LoadedRules, loc: Loc, spec: ActionSpec,
                     domains: set[str]) -> Iterator[Problem]:
    if spec.action not in action_names():
        yield loaded.problem((*loc, "action"), f"unknown action {spec.action!r}",
                             did_you_mean(spec.action, action_names()))
        return
    params = spec.params
    for param_loc, message in validate_params(spec.action, params):
        yield loaded.problem((*loc, *param_loc), f"{spec.action}: {message}",
                             f"parameters of {spec.action}: "
                             f"{', '.join(action_class(spec.action).params_model.model_fields) or 'none'}")
    domain = params.get("domain")
    takes_domain = "domain" in action_class(spec.action).params_model.model_fields
    if takes_domain and isinstance(domain, str) and domain not in domains:
        yield loaded.problem((*loc, "domain"), f"unknown pseudonym domain {domain!r}",
                             f"declare it under `domains:` ({did_you_mean(domain, sorted(domains))})")


def _unknown(loaded: LoadedRules, named: Iterable[tuple[Loc, str]], known: Collection[str],
             message: str, add_to: str, severity: str = "error") -> list[Problem]:
    """A problem for each (location, name) whose name is not in ``known``; ``message`` is a
    format of ``name``, the hint a guess among ``known`` (or where to add it)."""
    choices = sorted(known)
    return [loaded.problem(loc, message.format(name=name),
                           did_you_mean(name, choices) if choices else f"add it to {add_to}",
                           severity=severity)
            for loc, name in named if name not in known]


def _special_ok(action: str) -> bool:
    return action_class(action).safe_for_special


def _key_ok(action: str) -> bool:
    return action_class(action).stable_for_keys


def _special_choices() -> str:
    return " or ".join(n for n in action_names() if _special_ok(n))


def _key_choices() -> str:
    return " or ".join(n for n in action_names() if _key_ok(n))


def _per_subject_specs(rules: RuleSet, table_name: str) -> Iterable[tuple[Loc, ActionSpec]]:
    """Where the table's columns (or a view's override of them) use a per-subject action."""
    table = rules.tables[table_name]
    for field_name, rule in table.fields.items():
        for loc, spec in (((), rule), (("otherwise",), rule.otherwise)):
            if spec is not None and spec.action in action_names() \
                    and action_class(spec.action).per_subject:
                yield ("tables", table_name, "fields", field_name, *loc), spec
    for view_name, view in rules.views.items():
        for target, spec in view.overrides.items():
            if target.partition(".")[0] == table_name and spec.action in action_names() \
                    and action_class(spec.action).per_subject:
                yield ("views", view_name, "overrides", target), spec


def _subject_problems(loaded: LoadedRules, rules: RuleSet, table_name: str) -> list[Problem]:
    """The subject column names a pseudonymised column; per-subject actions need one."""
    table = rules.tables[table_name]
    tloc: Loc = ("tables", table_name)
    problems = []
    if table.subject is not None:
        rule = table.fields.get(table.subject)
        if rule is None:
            problems.append(loaded.problem((*tloc, "subject"),
                f"subject column {table.subject!r} has no rule",
                did_you_mean(table.subject, sorted(table.fields))))
        elif table.subject in table.key and not (rule.action in action_names()
                                                 and _key_ok(rule.action)):
            pass  # the key column's own check says what is wrong
        elif rule.action not in action_names() or not _key_ok(rule.action) \
                or table.subject_domain is None or rule.when is not None:
            problems.append(loaded.problem((*tloc, "subject"),
                f"subject column {table.subject!r} must be pseudonymised with a domain, not "
                f"{rule.action!r}", "the domain names the subject's kind (contact, user)"))
    for loc, spec in _per_subject_specs(rules, table_name):
        if table.subject is None:
            problems.append(loaded.problem(loc,
                f"{spec.action} keys values per data subject, and {table_name} names none",
                "declare the table's subject column: subject: contact_id"))
        elif loc[-1] == table.subject or loc[-1] == f"{table_name}.{table.subject}":
            problems.append(loaded.problem(loc, f"the subject column cannot be {spec.action}ed",
                                           "pseudonymize it"))
        elif not table.home_of_subject:
            problems.append(loaded.problem(loc,
                f"{spec.action} makes one key per data subject, and {table_name}'s rows of one "
                f"subject lie in several partitions (its key is {', '.join(table.key)}, its "
                f"subject {table.subject}): two workers could each make the subject's key, and "
                "the key topic would keep only one of them",
                f"{spec.action} in the subject's own table (keyed by the subject column); "
                "here pseudonymize, mask or drop"))
    return problems


def _key_home_problems(loaded: LoadedRules, rules: RuleSet) -> list[Problem]:
    """A subject kind's data keys are made in one table only: the partitions of two tables
    are read by different workers, which could each make the same subject's key."""
    problems: list[Problem] = []
    home_of: dict[str, str] = {}  # subject kind → the table that makes its keys
    for table_name, table in rules.tables.items():
        specs = list(_per_subject_specs(rules, table_name))
        domain = table.subject_domain
        if not specs or domain is None:
            continue
        first = home_of.setdefault(domain, table_name)
        if first != table_name:
            loc, spec = specs[0]
            problems.append(loaded.problem(loc,
                f"{spec.action} keys {domain} subjects in {first} already: two workers (one "
                f"reading {first}, one {table_name}) could each make a subject's key, and the "
                "key topic would keep only one of them",
                f"{spec.action} {domain} subjects' values in one table"))
    return problems


def semantic_problems(loaded: LoadedRules, rules: RuleSet) -> list[Problem]:
    problems: list[Problem] = []
    domains = set(rules.domains)
    source_topics: dict[str, str] = {}
    for table_name, table in rules.tables.items():
        tloc: Loc = ("tables", table_name)
        if table.topic in source_topics:
            problems.append(loaded.problem((*tloc, "topic"),
                f"topic {table.topic!r} is also the source of table "
                f"{source_topics[table.topic]!r}", "one table per source topic"))
        source_topics[table.topic] = table_name
        problems += _record_problems(loaded, rules, tloc, table)
        for field_name, rule in table.fields.items():
            floc: Loc = (*tloc, "fields", field_name)
            if rule.field_class == "special" and rule.art9_exception is None:
                problems.append(loaded.problem(floc,
                    "special category (Art. 9 GDPR) read without an exception of Art. 9(2)",
                    "name it for the record: art9_exception: explicit_consent, "
                    "employment_social_security, legal_claims …", severity="warning"))
            elif rule.field_class != "special" and rule.art9_exception is not None:
                problems.append(loaded.problem((*floc, "art9_exception"),
                    f"art9_exception on a {rule.field_class} field",
                    "only special categories (class: special) need one", severity="warning"))
            problems += _action_problems(loaded, floc, rule, domains)
            if rule.otherwise is not None:
                problems += _action_problems(loaded, (*floc, "otherwise"), rule.otherwise, domains)
            if rule.when is not None and rule.when.field not in table.fields:
                problems.append(loaded.problem((*floc, "when", "field"),
                    f"condition names {rule.when.field!r}, which is not a field of {table_name}",
                    did_you_mean(rule.when.field, sorted(table.fields))))
            if rule.action not in action_names():
                continue
            if rule.field_class == "special":
                for spec in filter(None, [rule, rule.otherwise]):
                    if spec.action in action_names() and not _special_ok(spec.action):
                        problems.append(loaded.problem((*floc, "action"),
                            f"special-category field (Art. 9) would be published by "
                            f"{spec.action!r}", f"special categories take only {_special_choices()}"))
            elif rule.field_class in PERSONAL_CLASSES and not rule.justification \
                    and action_class(rule.action).reveals == "all":
                problems.append(loaded.problem((*floc, "action"),
                    f"{rule.field_class} field published in clear",
                    "pseudonymize, mask, generalize or drop it, or give a justification",
                    severity="warning"))
        problems += _subject_problems(loaded, rules, table_name)
        for key_field in table.key:
            key_rule = table.fields.get(key_field)
            if key_rule is None:
                problems.append(loaded.problem((*tloc, "key"),
                    f"key column {key_field!r} has no rule", "add a rule for it under fields"))
            elif key_rule.action not in action_names() or not _key_ok(key_rule.action) \
                    or key_rule.when is not None:
                problems.append(loaded.problem(("tables", table_name, "fields", key_field, "action"),
                    f"key column {key_field!r} needs a deterministic action, not {key_rule.action!r}",
                    "use pseudonymize (or keep for non-personal keys) so that deletes and "
                    "compaction work"))
    view_topics: set[str] = set()
    all_purposes = {p for t in rules.tables.values() for p in t.purposes}
    for view_name, view in rules.views.items():
        vloc: Loc = ("views", view_name)
        if rules.record.recipients:
            problems += _unknown(loaded, (((*vloc, "readers", i), r)
                                          for i, r in enumerate(view.readers)),
                                 rules.record.recipients,
                                 "reader {name!r} has no entry under record.recipients",
                                 "record.recipients", severity="warning")
        problems += _unknown(loaded, (((*vloc, "purposes", i), p)
                                      for i, p in enumerate(view.purposes or ())),
                             all_purposes, "unknown purpose {name!r}", "the tables' purposes")
        for i, table_name in enumerate(view.tables or []):
            if table_name not in rules.tables:
                problems.append(loaded.problem((*vloc, "tables", i),
                    f"unknown table {table_name!r}", did_you_mean(table_name, sorted(rules.tables))))
        for target, spec in view.overrides.items():
            oloc: Loc = (*vloc, "overrides", target)
            table_name, _, field_name = target.partition(".")
            target_table = rules.tables.get(table_name)
            if target_table is None or field_name not in target_table.fields:
                problems.append(loaded.problem(oloc, f"override names unknown field {target!r}",
                                               "write it as table.field"))
                continue
            problems += _action_problems(loaded, oloc, spec, domains)
            if spec.action not in action_names():
                continue
            field_class = target_table.fields[field_name].field_class
            if field_class == "special" and not _special_ok(spec.action):
                problems.append(loaded.problem(oloc,
                    f"view would publish the special-category field {target!r} (Art. 9)",
                    f"special categories take only {_special_choices()}"))
            elif field_class in PERSONAL_CLASSES and spec.publishes \
                    and action_class(spec.action).reveals == "all":
                problems.append(loaded.problem(oloc,
                    f"view {view_name!r} publishes the {field_class} field {target!r} in clear",
                    "make sure the readers of this view may see it (legal basis, purpose)",
                    severity="warning"))
            if field_name in target_table.key and not _key_ok(spec.action):
                problems.append(loaded.problem(oloc,
                    f"key column {target!r} needs a deterministic action, not {spec.action!r}",
                    f"use {_key_choices()}"))
        for table_name in filter(view.publishes, rules.tables):
            served = set(view.purposes or ()) & set(rules.tables[table_name].purposes)
            if view.purposes is not None and not served:
                problems.append(loaded.problem((*vloc, "purposes"),
                    f"view {view_name!r} publishes {table_name!r} for none of the table's "
                    f"purposes ({', '.join(rules.tables[table_name].purposes)})",
                    "purpose limitation (Art. 5(1)(b) GDPR): add the purpose to the table, or "
                    "leave the table out of the view", severity="warning"))
            topic = view.topic_of(table_name)
            if topic in source_topics or topic in view_topics or topic == rules.dlq_topic:
                problems.append(loaded.problem((*vloc, "topic"),
                    f"output topic {topic!r} collides with another input or output topic",
                    "give each view its own topic prefix"))
            view_topics.add(topic)
    return problems + _key_home_problems(loaded, rules)


def _record_problems(loaded: LoadedRules, rules: RuleSet, tloc: Loc,
                     table: TableRules) -> list[Problem]:
    """What the record of processing activities of this table would lack or not name."""
    problems: list[Problem] = []
    if table.legal_basis == "legitimate_interests" and not table.legitimate_interest:
        problems.append(loaded.problem((*tloc, "legal_basis"),
            "legitimate interests (Art. 6(1)(f) GDPR) without the interest pursued",
            "state it for the record: legitimate_interest: …", severity="warning"))
    record = rules.record
    for key, named in (("purposes", record.purposes), ("data_subjects", record.data_subjects)):
        if named:
            problems += _unknown(loaded, (((*tloc, key, i), name)
                                          for i, name in enumerate(getattr(table, key))),
                                 named, f"{{name!r}} has no entry under record.{key}",
                                 f"record.{key}", severity="warning")
    return problems


def access_problems(loaded: LoadedRules, rules: RuleSet) -> list[Problem]:
    """Every role that reads something has a principal; the processor is nobody's reader."""
    access = rules.access
    if access is None:
        return []
    readers: list[tuple[Loc, str]] = [
        (("views", view_name, "readers", i), reader)
        for view_name, view in rules.views.items() for i, reader in enumerate(view.readers)]
    readers += [(("kpis", name, "readers", i), reader)
                for name, kpi in rules.kpis.items() for i, reader in enumerate(kpi.readers)]
    readers += [(("access", key, i), reader)
                for key in ("alert_readers", "audit_readers", "key_custodians")
                for i, reader in enumerate(getattr(access, key))]
    problems = _unknown(loaded, readers, access.principals,
                        "reader {name!r} has no principal under access.principals",
                        "access.principals")
    for role, principal in access.principals.items():
        if principal == access.processor:
            problems.append(loaded.problem(("access", "principals", role),
                f"{role!r} is the processor's principal {principal!r}",
                "give readers principals of their own: the processor reads the raw topics"))
    return problems


def anomaly_problems(loaded: LoadedRules, rules: RuleSet) -> list[Problem]:
    from processor.anomaly.base import detector_class, detector_kinds, param_errors

    anomaly = rules.anomaly
    if anomaly is None:
        return []
    problems: list[Problem] = []
    for section, mapping in (("access_log", anomaly.access_log), ("users", anomaly.users)):
        if mapping is None:
            continue
        table = rules.tables.get(mapping.table)
        if table is None:
            problems.append(loaded.problem(("anomaly", section, "table"),
                f"unknown table {mapping.table!r}", did_you_mean(mapping.table, sorted(rules.tables))))
            continue
        for key, column in mapping.model_dump().items():
            if key not in ("table", "time_encoding") and column not in table.fields:
                problems.append(loaded.problem(("anomaly", section, key),
                    f"{mapping.table} has no column {column!r}",
                    did_you_mean(column, sorted(table.fields))))
    for name, spec in anomaly.detectors.items():
        dloc: Loc = ("anomaly", "detectors", name)
        if spec.type not in detector_kinds():
            problems.append(loaded.problem((*dloc, "type"), f"unknown detector {spec.type!r}",
                                           did_you_mean(spec.type, detector_kinds())))
            continue
        for param_loc, message in param_errors(spec.type, spec.params):
            problems.append(loaded.problem((*dloc, *param_loc), f"{spec.type}: {message}"))
        if detector_class(spec.type).needs_users and anomaly.users is None:
            problems.append(loaded.problem(dloc, f"{spec.type} needs `anomaly.users`",
                                           "name the users table and its columns"))
    return problems


def parameter_problems(loaded: LoadedRules) -> list[Problem]:
    """The action problems of every field rule that is well-formed by itself, for a rule set
    whose schema is invalid elsewhere: every problem of a file shows in one run."""
    data = loaded.data
    tables = data.get("tables") if isinstance(data, dict) else None
    raw_domains = data.get("domains") if isinstance(data, dict) else None
    domains = {d for d in raw_domains if isinstance(d, str)} if isinstance(raw_domains, list) \
        else set()
    problems: list[Problem] = []
    for table_name, table in (tables.items() if isinstance(tables, dict) else ()):
        fields = table.get("fields") if isinstance(table, dict) else None
        for field_name, raw in (fields.items() if isinstance(fields, dict) else ()):
            try:
                rule = FieldRule.model_validate(raw)
            except ValidationError:
                continue  # the schema errors name it
            floc: Loc = ("tables", table_name, "fields", field_name)
            # without valid `domains:` (its own schema error), a domain is not judged here
            known = domains or {str(rule.params.get("domain"))}
            problems += _action_problems(loaded, floc, rule, known)
    return problems


def check(loaded: LoadedRules) -> tuple[RuleSet | None, list[Problem]]:
    """The validated rule set (None when the schema is invalid) and every problem found."""
    try:
        rules = RuleSet.model_validate(loaded.data)
    except ValidationError as exc:
        return None, schema_problems(loaded, exc) + parameter_problems(loaded)
    return rules, (semantic_problems(loaded, rules) + anomaly_problems(loaded, rules)
                   + kpi_problems(loaded, rules) + access_problems(loaded, rules))

