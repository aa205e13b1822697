"""Schema registry access through confluent_kafka's client: writer schemas by id (cached,
parsed once) and registration of the masked schemas under the view topics' subjects."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from processor.avro import derive
from processor.avro.wire import SchemaRef
from processor.errors import CrmMaskerError, PoisonEvent
from processor.formats.logical_types import RowTypes, of_avro_record
from processor.kafka_options import key_values

Found = TypeVar("Found")
#: subject-level error codes of the Confluent API: the schema is not compatible / invalid
INCOMPATIBLE, INVALID = 409, 422


@dataclass(frozen=True)
class WriterSchema:
    """A registered schema: its id (or GUID), the schema as registered, and a parsed form for
    fastavro without logical types, so values come out as Debezium's JSON converter writes them."""

    ref: int | str
    schema: dict[str, Any]
    parsed: Any
    #: the logical types that the schema names for the row's columns
    row_types: RowTypes = field(default_factory=dict)

    @classmethod
    def of(cls, ref: int | str, schema: dict[str, Any]) -> WriterSchema:
        return cls(ref, schema, parse(schema), of_avro_record(_row_or_self(schema)))


def _row_or_self(schema: Any) -> Any:
    """An envelope's row record, or the record itself (an unwrapped row, a key)."""
    try:
        return derive.row_record(schema)
    except PoisonEvent:
        return schema


def without_logical_types(schema: Any) -> Any:
    """The same binary layout with plain types: days, microseconds, decimal bytes."""
    if isinstance(schema, dict):
        return {k: without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [without_logical_types(s) for s in schema]
    return schema


def parse(schema: dict[str, Any]) -> Any:
    return fastavro.parse_schema(without_logical_types(schema))


#: referenced schemas followed at most this deep (a reference cycle is a bad schema)
MAX_REFERENCE_DEPTH = 16


def inline_references(schema: Any, named: dict[str, Any]) -> Any:
    """``schema`` with the first use of each referenced name replaced by its definition, so
    that it stands alone as the derivations and fastavro need it. Apicurio's Kafka Connect
    converter registers Debezium's ``source`` block as a schema of its own and refers to it
    by name; Confluent's serializers do the same with ``use.schema.references``."""
    pending = dict(named)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return walk(pending.pop(node)) if node in pending else node
        if isinstance(node, list):
            return [walk(n) for n in node]
        if isinstance(node, dict):
            return {k: walk(v) if k in ("type", "fields", "items", "values") else v
                    for k, v in node.items()}
        return node

    return walk(schema)


def client_from_options(url: str, options: Iterable[str] = ()) -> SchemaRegistryClient:
    """``url`` plus ``key=value`` settings of the client (basic.auth.user.info, ssl.ca.location,
    ssl.certificate.location …); ``mock://…`` is the client's in-memory registry."""
    conf: dict[str, Any] = {"url": url, **key_values(options, "--schema-registry-option")}
    try:
        return SchemaRegistryClient.new_client(conf)
    except (ValueError, TypeError) as exc:
        raise CrmMaskerError(f"schema registry settings: {exc}") from None


def _stop(exc: Exception) -> CrmMaskerError:
    """A registry failure that is not the record's fault (an error status, connection refused,
    TLS …): the processor stops rather than dead-letters, and the input is read again."""
    if isinstance(exc, SchemaRegistryError):
        return CrmMaskerError(f"schema registry: {exc.http_status_code} {exc.error_message}")
    return CrmMaskerError(f"schema registry unreachable: {_cause(exc)}")


def _cause(exc: BaseException) -> str:
    """What went wrong, in words that carry no URL (it may hold credentials): a TLS failure
    with its reason and what to do, a refused connection, else the exception's type."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return (f"TLS: the registry's certificate is not trusted ({seen.verify_message}); "
                    "give its CA with --schema-registry-option ssl.ca.location=FILE")
        if isinstance(seen, ssl.SSLError):
            return f"TLS: {seen.reason or type(seen).__name__}"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:  # httpx keeps the SSL error as text only
        return ("TLS: the registry's certificate is not trusted (certificate verify failed); "
                "give its CA with --schema-registry-option ssl.ca.location=FILE")
    return type(exc).__name__


class SchemaRegistry:
    def __init__(self, client: SchemaRegistryClient) -> None:
        self.client = client
        self._writers: dict[int | str, WriterSchema] = {}
        self._registered: dict[tuple[str, str], int] = {}

    def writer(self, ref: SchemaRef) -> WriterSchema:
        name: int | str = ref.id if ref.id is not None else str(ref.guid)
        found = self._writers.get(name)
        if found is None:
            found = self._writers[name] = self._fetch(ref, name)
        return found

    def _fetch(self, ref: SchemaRef, name: int | str) -> WriterSchema:
        call = (partial(self.client.get_schema, ref.id) if ref.id is not None
                else partial(self.client.get_schema_by_guid, str(ref.guid)))
        schema = self._lookup(call, f"schema {name} is not in the registry")
        if (schema.schema_type or "AVRO") != "AVRO":
            raise PoisonEvent("not_avro_schema", f"schema {name} is {schema.schema_type}")
        try:
            return WriterSchema.of(name, self._standalone(schema, 0))
        except (PoisonEvent, CrmMaskerError):
            raise
        except Exception:
            raise PoisonEvent("bad_schema", f"schema {name} does not parse") from None

    @staticmethod
    def _lookup(call: Callable[[], Found], missing: str) -> Found:
        """A registry call: a schema it does not have is the record's fault (a dead letter);
        any other failure stops the processor."""
        try:
            return call()
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise PoisonEvent("unknown_schema_id", missing) from None
            raise _stop(exc) from None
        except Exception as exc:
            raise _stop(exc) from None

    def _standalone(self, schema: Schema, depth: int) -> Any:
        """The schema's JSON with every schema it refers to (theirs included) inlined."""
        text = json.loads(schema.schema_str or "")
        if not schema.references:
            return text
        if depth > MAX_REFERENCE_DEPTH:
            raise PoisonEvent("bad_schema", "schema references nest too deep")
        named: dict[str, Any] = {}
        for ref in schema.references:
            subject, version = ref.subject, ref.version
            if subject is None or version is None:
                raise PoisonEvent("bad_schema", "a schema reference without subject or version")
            found = self._lookup(partial(self.client.get_version, subject, version),
                                 "a referenced schema is not in the registry")
            named[str(ref.name)] = self._standalone(found.schema, depth + 1)
        return inline_references(text, named)

    def register(self, subject: str, schema: dict[str, Any]) -> int:
        """The id of ``schema`` under ``subject``, registering it once per process."""
        text = json.dumps(schema, separators=(",", ":"))
        schema_id = self._registered.get((subject, text))
        if schema_id is None:
            try:
                schema_id = self.client.register_schema(subject, Schema(text, "AVRO"))
            except SchemaRegistryError as exc:
                if exc.http_status_code in (INCOMPATIBLE, INVALID):
                    raise CrmMaskerError(
                        f"schema registry refused the masked schema for {subject}: "
                        f"{exc.error_message}; a rule change removed or retyped a field that "
                        f"BI consumers read (see `crm-masker validate --schemas`)") from None
                raise _stop(exc) from None
            except Exception as exc:
                raise _stop(exc) from None
            self._registered[(subject, text)] = schema_id
        return schema_id
