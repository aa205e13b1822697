"""The CRM's known names at start: every committed record of the tables with name columns
(``entity: name``), read to the end before the first batch, as Kafka Streams bootstraps a
global table. A worker then knows the names that other workers, or its earlier life, have
seen, and a note never waits for its contact's row to come by again. Only keyed hashes of
the names' tokens are kept (pii/names.py)."""

from __future__ import annotations

import logging
from typing import cast

from processor.avro.codec import Headers, RecordCodec
from processor.errors import PoisonEvent
from processor.formats.envelope import parse_envelope
from processor.masking.compiler import CompiledRules
from processor.pipeline.topic_reader import committed_ranges, committed_reader, read_partition

log = logging.getLogger("crm_masker")


def restore_known_names(compiled: CompiledRules, codec: RecordCodec, bootstrap: str,
                        extra: dict[str, str], timeout_s: float = 60.0) -> int:
    """Feed the names of every committed record of the name tables; the number read."""
    names = compiled.names
    if names is None:
        return 0
    read = 0
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
                    for msg in read_partition(reader, topic, pid, low, high, timeout_s):
                        try:
                            headers = cast("Headers", msg.headers())
                            value = codec.decode(msg.key(), msg.value(), headers).value
                            event = parse_envelope(value) if value is not None else None
                        except PoisonEvent:
                            continue  # a dead letter: it taught nothing the first time either
                        if event is None:
                            continue
                        for image in (event.after, event.before):
                            if image is not None:
                                names.add(image.get(column) for column in route.name_columns)
                        read += 1
                except RuntimeError:  # an open transaction holds the rest back
                    log.warning("known names: %s[%d] read up to an open transaction only",
                                topic, pid)
    finally:
        reader.close()
    log.info("known names: %d records of the name tables read, %d name tokens known", read,
             len(names))
    return read
