"""Art. 15 look-ups: which published records hold data about one data subject?

The subject is given by raw identifiers (``contact=4711``, ``email=…``); each becomes its
pseudonyms in every column that pseudonymises that domain — with the active and the retired
key ids, and each column's own normalisers — and the views are read (read_committed) for
records whose columns or key carry one of them. Nothing raw leaves this module: the answer
names pseudonyms, topics, columns and the latest masked records.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from confluent_kafka import Message

from processor.actions.base import CompileContext
from processor.actions.registry import action_class, compile_action
from processor.avro.codec import Headers, RecordCodec
from processor.datakeys import PREFIX as CIPHERTEXT_PREFIX
from processor.datakeys import Ciphertext, RevealError
from processor.errors import CrmMaskerError
from processor.formats.envelope import unwrap
from processor.formats.views import ViewFormat, view_format
from processor.keys import KeyRing
from processor.pipeline.topic_reader import read_messages
from processor.rules.model import RuleSet


def parse_ids(pairs: Iterable[str]) -> list[tuple[str, str]]:
    """``domain=value`` pairs; the domains must be the rules'."""
    found = []
    for pair in pairs:
        domain, sep, value = pair.partition("=")
        if not sep or not domain or not value:
            raise CrmMaskerError(f"--id {domain or '…'}=…: write DOMAIN=VALUE, e.g. contact=4711")
        found.append((domain.strip(), value.strip()))
    return found


@dataclass(frozen=True)
class Column:
    """A published column of one view's table that pseudonymises a domain of the request."""

    view: str
    topic: str
    format: ViewFormat
    table: str
    column: str
    domain: str


@dataclass
class Held:
    """What one view topic holds about the subject."""

    topic: str
    view: str
    table: str
    records: int = 0
    columns: set[str] = field(default_factory=set)
    #: the newest matching record's masked value, its location, and whether a delete or a
    #: tombstone for its key came after it
    latest: dict[str, Any] | None = None
    latest_at: str = ""
    deleted: bool = False
    encrypted: set[str] = field(default_factory=set)  # data key ids of its ciphertexts
    #: records that could not be read (Avro without a registry, or not a view record): the
    #: answer is incomplete while this is not 0
    unreadable: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "view": self.view, "table": self.table,
                "records": self.records, "columns": sorted(self.columns),
                "deleted": self.deleted, "encrypted_under": sorted(self.encrypted),
                "latest_at": self.latest_at, "latest": self.latest,
                "unreadable": self.unreadable}


def subject_columns(rules: RuleSet, domains: set[str]) -> list[Column]:
    """Every published column, per view, whose action pseudonymises one of ``domains``."""
    found = []
    for view_name, view in rules.views.items():
        for table_name in filter(view.publishes, rules.tables):
            table = rules.tables[table_name]
            for column, rule in table.fields.items():
                spec = view.spec_for(table_name, column, rule)
                domain = spec.params.get("domain")
                if domain in domains and action_class(spec.action).stable_for_keys:
                    found.append(Column(view_name, view.topic_of(table_name),
                                        view_format(view.format), table_name, column,
                                        str(domain)))
    return found


def pseudonyms(rules: RuleSet, keys: KeyRing, column: Column, value: str) -> set[str]:
    """``value`` as ``column``'s action writes it, under every key id of ``keys``."""
    table = rules.tables[column.table]
    spec = rules.views[column.view].spec_for(column.table, column.column,
                                             table.fields[column.column])
    found = set()
    for key_id in keys.key_ids:
        ctx = CompileContext(column.table, column.column, key_id, keys)
        action = compile_action(spec.action, spec.params, ctx)
        found.add(str(action.apply(value)))  # an id 7 and "7" have one pseudonym
    return found


@dataclass
class Lookup:
    """The answer: per topic what is held, and the pseudonyms that were looked for."""

    searched: dict[str, list[str]]  # domain → pseudonyms
    held: list[Held]
    scanned: dict[str, int]  # topic → records read

    def as_json(self) -> dict[str, Any]:
        return {"pseudonyms": self.searched, "scanned": self.scanned,
                "held": [h.as_json() for h in self.held if h.records],
                "unreadable": {h.topic: h.unreadable for h in self.held if h.unreadable}}


def look_up(rules: RuleSet, keys: KeyRing, ids: list[tuple[str, str]], bootstrap: str,
            extra: dict[str, str], topics: Iterable[str] = (),
            codec: RecordCodec | None = None) -> Lookup:
    """``codec``: reads the view records as the processor wrote them (JSON, or Avro with a
    schema registry); without one, Avro records count as unreadable."""
    codec = codec or RecordCodec(None)
    domains = {domain for domain, _ in ids}
    unknown = domains - set(rules.domains)
    if unknown:
        raise CrmMaskerError(f"unknown domain(s) {', '.join(sorted(unknown))}; the rules' "
                             f"domains: {', '.join(rules.domains)}")
    columns = subject_columns(rules, domains)
    wanted_topics = set(topics)
    if wanted_topics:
        columns = [c for c in columns if c.topic in wanted_topics]
    searched: dict[str, set[str]] = {}
    by_topic: dict[str, dict[str, set[str]]] = {}  # topic → column → pseudonyms
    for column in columns:
        for domain, value in ids:
            if domain == column.domain:
                found = pseudonyms(rules, keys, column, value)
                searched.setdefault(domain, set()).update(found)
                by_topic.setdefault(column.topic, {}).setdefault(column.column, set()
                                                                 ).update(found)
    held, scanned = [], {}
    first = {c.topic: c for c in columns}
    for topic, wanted in sorted(by_topic.items()):
        column = first[topic]
        result = Held(topic, column.view, column.table)
        scanned[topic] = _scan(topic, column.format, wanted, bootstrap, extra, result, codec)
        held.append(result)
    return Lookup({d: sorted(p) for d, p in sorted(searched.items())}, held, scanned)


def _scan(topic: str, layout: ViewFormat, wanted: dict[str, set[str]], bootstrap: str,
          extra: dict[str, str], held: Held, codec: RecordCodec) -> int:
    """Read ``topic`` and fill ``held``; returns the records read."""
    keys_seen: set[bytes | None] = set()  # message keys of the subject's records
    read = 0
    try:
        for where, msg in read_messages(bootstrap, topic, extra):
            read += 1
            _match(where, msg, layout, wanted, held, keys_seen, codec)
    except RuntimeError as exc:
        raise CrmMaskerError(str(exc)) from None
    return read


def _match(where: str, msg: Message, layout: ViewFormat, wanted: dict[str, set[str]],
           held: Held, keys_seen: set[bytes | None], codec: RecordCodec) -> None:
    """Count one view record into ``held`` when a column carries one of the pseudonyms."""
    key, value = msg.key(), msg.value()
    if value is None:  # a tombstone: the subject's row is gone from the compacted view
        if key in keys_seen:
            held.deleted = True
        return
    try:
        record = unwrap(codec.decode(None, value, cast("Headers", msg.headers())).value)
        image = layout.image(record)
    except (CrmMaskerError, KeyError, TypeError, AttributeError):
        held.unreadable += 1  # Avro without a registry, or not a view record
        return
    matched = [c for c, ids in wanted.items() if image and image.get(c) in ids]
    if not matched:
        return
    held.records += 1
    held.columns.update(matched)
    held.latest, held.latest_at = image, where
    held.deleted = layout.is_delete(record)
    held.encrypted.update(_ciphertext_keys(image or {}))
    keys_seen.add(key)


def _ciphertext_keys(image: dict[str, Any]) -> set[str]:
    """The data key ids that the image's ciphertexts name."""
    found = set()
    for item in image.values():
        if isinstance(item, str) and item.startswith(CIPHERTEXT_PREFIX):
            with contextlib.suppress(RevealError):
                found.add(Ciphertext.parse(item).data_key_id)
    return found


def render_markdown(lookup: Lookup, request: dict[str, Any]) -> str:
    """The DPO's answer: what is held where, the latest masked record per topic."""
    lines = ["# Data held about one data subject (Art. 15 GDPR)", "",
             f"Requested by {request['requester']} at {request['time']} for: "
             f"{request['reason']}", "",
             "Looked for as (pseudonyms, every key id):", ""]
    for domain, found in lookup.searched.items():
        lines.append(f"- {domain}: " + ", ".join(f"`{p}`" for p in found))
    held = [h for h in lookup.held if h.records]
    lines += ["", f"{sum(h.records for h in held)} record(s) in {len(held)} of "
              f"{len(lookup.held)} topic(s) read ({sum(lookup.scanned.values())} records "
              "read).", ""]
    unreadable = [h for h in lookup.held if h.unreadable]
    if unreadable:
        lines += ["**Incomplete:** " + ", ".join(f"{h.unreadable} record(s) of {h.topic}"
                                                  for h in unreadable)
                  + " could not be read (Avro views need --schema-registry-url).", ""]
    if held:
        lines += ["| topic | view | table | records | columns | state | encrypted under |",
                  "|---|---|---|---:|---|---|---|"]
        for h in held:
            lines.append(f"| {h.topic} | {h.view} | {h.table} | {h.records} | "
                         f"{', '.join(sorted(h.columns))} | "
                         f"{'deleted' if h.deleted else 'current'} | "
                         f"{', '.join(sorted(h.encrypted)) or '–'} |")
        for h in held:
            lines += ["", f"## {h.topic}: latest record ({h.latest_at})", "", "```json",
                      orjson.dumps(h.latest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
                                   ).decode(), "```"]
    return "\n".join(lines) + "\n"
