"""The CRM's known names at start: every committed record of the tables with name columns
(``entity: name``), read to the end before the first batch, as Kafka Streams bootstraps a
global table. A worker then knows the names that other workers, or its earlier life, have
seen, and a note never waits for its contact's row to come by again. Only keyed hashes of
the names' tokens are kept (pii/names.py). The native core learns what it can read of each
chunk of records (JSON without Python's headers), as it learns while it masks; Python reads the
rest: a name table's history is read at every start, so its cost per record counts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import cast

from confluent_kafka import Message

from processor.avro.codec import Headers, RecordCodec
from processor.errors import PoisonEvent
from processor.formats.envelope import parse_envelope
from processor.masking.compiler import CompiledRules, TableRoute
from processor.masking.native import NativeEngine
from processor.pipeline.topic_reader import committed_ranges, committed_reader, read_chunks

log = logging.getLogger("crm_masker")


def restore_known_names(compiled: CompiledRules, codec: RecordCodec, bootstrap: str,
                        extra: dict[str, str], timeout_s: float = 60.0,
                        core: NativeEngine | None = None) -> int:
    """Feed the names of every committed record of the name tables; the number of records
    read. ``core``: the native engine, which learns the records that it can read itself."""
    if compiled.names is None:
        return 0
    read = 0
    learn = Learner(compiled, codec, core)
    reader = committed_reader(bootstrap, "known-names", extra)
    try:
        for route in compiled.routes.values():
            if not route.name_columns:
                continue
            topic = route.source_topic
            try:
                ranges = list(committed_ranges(reader, topic, timeout_s))
            except RuntimeError:
                continue  # not created yet: its rows teach the names as they come
            for pid, low, high in ranges:
                try:
                    for chunk in read_chunks(reader, topic, pid, low, high, timeout_s):
                        read += learn(route, chunk)
                except RuntimeError:  # an open transaction holds the rest back
                    log.warning("known names: %s[%d] read up to an open transaction only",
                                topic, pid)
    finally:
        reader.close()
    log.info("known names: %d records of the name tables read, %d name tokens known", read,
             len(compiled.names))
    return read


class Learner:
    """Chunks of a name table's records (``read_chunks``) into the known names: the core
    first, Python for what it leaves."""

    def __init__(self, compiled: CompiledRules, codec: RecordCodec,
                 core: NativeEngine | None) -> None:
        self.compiled, self.codec, self.core = compiled, codec, core

    def __call__(self, route: TableRoute, chunk: list[Message]) -> int:
        """The number of records read (dead letters not counted)."""
        if not chunk:
            return 0
        left: Sequence[int] = range(len(chunk))
        if self.core is not None and self.core.handles(route.source_topic):
            left = self.core.learn_names(chunk, self.compiled.max_event_bytes)
        return len(chunk) - len(left) + sum(self._in_python(route, chunk[i]) for i in left)

    def _in_python(self, route: TableRoute, msg: Message) -> bool:
        names = self.compiled.names
        assert names is not None
        try:
            headers = cast("Headers", msg.headers())
            value = self.codec.decode(msg.key(), msg.value(), headers).value
            event = parse_envelope(value) if value is not None else None
        except PoisonEvent:
            return False  # a dead letter: it taught nothing the first time either
        if event is None:
            return True  # a tombstone: read, no names in it
        for image in (event.after, event.before):
            if image is not None:
                names.add(image.get(column) for column in route.name_columns)
        return True
