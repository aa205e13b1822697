"""Test helpers shared by unit and integration tests."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message

from processor.keys import KeyRing, load_keys
from processor.masking.compiler import compile_rules
from processor.masking.engine import MaskingEngine
from processor.rules import load_validated

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
DEMO_KEYS = REPO / "deploy" / "keys" / "demo-keys.yaml"
DEMO_KEK = REPO / "deploy" / "keys" / "demo-kek.yaml"
PREREQUISITES = REPO / "deploy" / "prerequisites.tsv"


def require_tool(tool: str, *other_names: str) -> str:
    """The tool's path. A missing tool fails the test and names the package that brings it
    (``make test`` installs it first, through deploy/deps.sh): a skip would hide the check."""
    import shutil

    import pytest

    for name in (tool, *other_names):
        found = shutil.which(name)
        if found:
            return found
    rows = (line.split("\t") for line in PREREQUISITES.read_text().splitlines())
    package = next(row[1] for row in rows if row[0] == tool)
    pytest.fail(f"{tool} is missing: run `make deps` (it installs the Debian package {package})")


def require_native_core() -> ModuleType:
    """The native core; its absence fails wherever it can be built (cargo on PATH, CI) and
    skips the test only where it cannot."""
    import os
    import shutil

    import pytest

    from processor.masking import native

    core = native.load_core()
    if core is None:
        if shutil.which("cargo") or os.environ.get("CI"):
            pytest.fail("the native core is not installed: run `make install`")
        pytest.skip("no Rust toolchain here: the native core cannot be built")
    return core


def demo_keys() -> KeyRing:
    return load_keys(DEMO_KEYS)


def demo_keks() -> KeyRing:
    """The public demo KEK of ``encrypt`` (the reference rules encrypt contacts.phone)."""
    return load_keys(DEMO_KEK)


def engine(rules: Path = RULES, keys: KeyRing | None = None) -> MaskingEngine:
    return MaskingEngine(compile_rules(load_validated(rules), keys or demo_keys(), demo_keks()))


def scalars(obj: Any) -> Iterator[Any]:
    """Every scalar value inside a decoded JSON document (not the mapping keys)."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from scalars(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from scalars(v)
    else:
        yield obj


def field_names(obj: Any) -> set[str]:
    """Every mapping key inside a decoded JSON document."""
    if isinstance(obj, dict):
        return set(obj).union(*(field_names(v) for v in obj.values()))
    if isinstance(obj, list):
        return set().union(*(field_names(v) for v in obj))
    return set()


def consume(bootstrap: str, topics: list[str], *, group: str | None = None,
            isolation: str = "read_committed", expect: int | None = None,
            idle_s: float = 5.0, to_end: bool | None = None) -> list[Message]:
    """Records of ``topics`` from the beginning, until ``expect`` of them or ``idle_s`` without
    one; with ``to_end`` (the default without ``expect``) as soon as every partition of them
    is read to its end (for read_committed: its last stable offset), which is where the
    records of a stopped processor end. With ``group``, the offsets are committed, so the
    next call resumes after them."""
    to_end = expect is None if to_end is None else to_end
    consumer = Consumer({"bootstrap.servers": bootstrap,
                         "group.id": group or f"reader-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "isolation.level": isolation, "enable.partition.eof": to_end})
    consumer.subscribe(topics)
    out: list[Message] = []
    at_end: set[tuple[str, int]] = set()
    idle = 0.0
    try:
        while idle < idle_s and (expect is None or len(out) < expect):
            msg = consumer.poll(0.1)
            if msg is None:
                idle += 0.1
                if to_end and at_end and _read_to_end(consumer, topics, at_end):
                    break
                continue
            if msg.error():
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                at_end.add((msg.topic(), msg.partition()))
                continue
            idle = 0.0
            at_end.discard((msg.topic(), msg.partition()))
            out.append(msg)
        if group:
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return out


def _read_to_end(consumer: Consumer, topics: list[str], at_end: set[tuple[str, int]]) -> bool:
    """Every partition of every topic assigned and read to its end."""
    assigned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
    return {t for t, _ in assigned} >= set(topics) and assigned <= at_end


def read_avro(data: bytes, registry_client: Any, logical: bool = False) -> Any:
    """What a BI consumer reads from a Confluent-framed record: the body decoded with the
    schema registered under the id in the frame (``logical``: dates as dates …)."""
    import io
    import json

    import fastavro

    from processor.avro.schema_registry import without_logical_types

    assert data[0] == 0, "not the Confluent wire format"
    schema = json.loads(registry_client.get_schema(int.from_bytes(data[1:5], "big")).schema_str)
    parsed = fastavro.parse_schema(schema if logical else without_logical_types(schema))
    return fastavro.schemaless_reader(io.BytesIO(data[5:]), parsed, None)


def as_debezium_json(value: Any) -> Any:
    """An Avro datum as Debezium's JSON converter would write it: bytes as base64, and no
    ``transaction`` when it is null (JSON leaves it out, Avro always has the field)."""
    import base64

    if isinstance(value, dict):
        return {k: as_debezium_json(v) for k, v in value.items()
                if not (k == "transaction" and v is None)}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def go_tool(name: str) -> str:
    """A tool that deploy/deps.sh builds from Go sources into .cache/go-bin/ (helm,
    kubeconform, docker-compose); a missing one fails the test and says how to get it."""
    import pytest

    from deploy.kubernetes.check_chart import tool

    try:
        return tool(name)
    except SystemExit as missing:
        pytest.fail(str(missing))


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (for a process started next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str) -> tuple[int, str]:
    """Status and body of a GET; status 0 when nothing answers yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""
