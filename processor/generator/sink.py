"""Write generated records to Kafka and/or a JSON-lines file, with a progress bar and a rate."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO

import click
import orjson
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic

from processor import kafka_client
from processor.errors import CrmMaskerError
from processor.generator import model
from processor.generator.stream import TOPIC_PREFIX, GeneratedRecord
from processor.kafka_options import client_options

if TYPE_CHECKING:
    from processor.generator.avro_source import AvroSourceEncoder


def create_source_topics(bootstrap: str, partitions: int, extra: dict[str, str],
                         prefix: str = TOPIC_PREFIX) -> None:
    admin = kafka_client.admin(bootstrap, extra)
    existing = admin.topics()
    wanted = [t for t in model.TABLES if prefix + t not in existing]
    if wanted:
        new = [NewTopic(prefix + t, partitions, -1) for t in wanted]
        for future in admin.client.create_topics(new).values():
            future.result(30)


def progress(done: int, total: int, elapsed: float, *, final: bool = False) -> None:
    """Count, share and rate on stderr: one self-overwriting line on a terminal, else every 10 %."""
    rate = done / elapsed if elapsed > 0 else 0.0
    line = f"generating {done:,}/{total:,} ({done / total:.0%}) {rate:,.0f} records/s"
    step = max(1000, total // 10 // 1000 * 1000)
    if sys.stderr.isatty():
        click.echo("\r" + line, err=True, nl=final)
    elif (final and done % step) or (not final and done % step == 0):
        click.echo(line, err=True)


def write_events(records: Iterable[GeneratedRecord], count: int, *, bootstrap: str | None,
                 kafka_options: Iterable[str] = (), output: BinaryIO | None = None,
                 rate: float = 0.0, partitions: int = 3, topic_prefix: str = TOPIC_PREFIX,
                 avro: AvroSourceEncoder | None = None) -> int:
    """Produce ``records`` (JSON, or Avro in the Confluent wire format when ``avro`` is given)."""
    producer = None
    if bootstrap:
        extra = client_options(kafka_options)
        create_source_topics(bootstrap, partitions, extra, topic_prefix)
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                             "linger.ms": 20, "compression.type": "lz4",
                             "partitioner": "murmur2_random", **extra})
    written = 0
    start = time.monotonic()
    for record in records:
        if avro is not None:
            key = avro.encode_key(record.topic, record.table, record.key)
            value = (None if record.value is None
                     else avro.encode_value(record.topic, record.table, record.value))
        else:
            key = orjson.dumps(record.key)
            value = None if record.value is None else orjson.dumps(record.value)
        if output is not None:
            output.write(orjson.dumps({"topic": record.topic, "key": record.key,
                                       "value": record.value}) + b"\n")
        if producer is not None:
            while True:
                try:
                    producer.produce(record.topic, value=value, key=key)
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
        written += 1
        if written % 1000 == 0:
            elapsed = time.monotonic() - start
            progress(written, count, elapsed)
            if rate > 0 and written / rate > elapsed:
                time.sleep(written / rate - elapsed)
    progress(written, count, time.monotonic() - start, final=True)
    if producer is not None:
        remaining = producer.flush(60)
        if remaining:
            raise CrmMaskerError(f"{remaining} records not delivered to Kafka")
    return written
