"""What goes onto the output topics besides the value: headers for policy and lineage.

Every output and DLQ record says which rule set produced it and which input record it came
from (topic, partition, offset), so any BI row can be traced and exactly-once can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from processor.errors import PoisonEvent
from processor.formats.envelope import decode_json, unwrap
from processor.formats.headers import DEBEZIUM_KEY_HEADERS, Header
from processor.masking.plan import FieldPlan

H_RULES_VERSION = "crm_masker.rules.version"
H_RULES_SHA = "crm_masker.rules.sha256"
H_SRC_TOPIC = "crm_masker.source.topic"
H_SRC_PARTITION = "crm_masker.source.partition"
H_SRC_OFFSET = "crm_masker.source.offset"
H_DLQ_REASON = "crm_masker.dlq.reason"
H_DLQ_DETAIL = "crm_masker.dlq.detail"
#: the columns left out of a record's images because Debezium sent its placeholder (an
#: unchanged TOAST column): a consumer keeps what it has for them instead of erasing it
H_UNAVAILABLE = "crm_masker.unavailable"


@dataclass(frozen=True)
class Lineage:
    topic: str
    partition: int
    offset: int

    def headers(self) -> list[Header]:
        return [(H_SRC_TOPIC, self.topic.encode()), (H_SRC_PARTITION, str(self.partition).encode()),
                (H_SRC_OFFSET, str(self.offset).encode())]


def policy_headers(version: str, sha256: str) -> list[Header]:
    return [(H_RULES_VERSION, version.encode()), (H_RULES_SHA, sha256.encode())]


def masked_debezium_headers(headers: list[Header] | None, plan: FieldPlan) -> list[Header]:
    """Debezium's key headers with the key masked like the message key; all others dropped."""
    out: list[Header] = []
    for name, value in headers or ():
        if name in DEBEZIUM_KEY_HEADERS and value is not None:
            if isinstance(value, bytes) and value[:1] in (b"\x00", b"\x01"):
                continue  # an Avro-encoded key header: dropped (never copied raw)
            key = unwrap(decode_json(value.encode() if isinstance(value, str) else value, name))
            out.append((name, orjson.dumps(plan.mask_key(key))))
    return out


def dlq_record(exc: PoisonEvent, lineage: Lineage,
               headers: list[Header]) -> tuple[bytes, bytes, list[Header]]:
    """Key, value and headers of a dead-letter record: the reason and coordinates, no data."""
    value = orjson.dumps({"reason": exc.reason, "detail": exc.detail,
                          "source": {"topic": lineage.topic, "partition": lineage.partition,
                                     "offset": lineage.offset}})
    key = f"{lineage.topic}:{lineage.partition}:{lineage.offset}".encode()
    return key, value, [*headers, *lineage.headers(), (H_DLQ_REASON, exc.reason.encode()),
                        (H_DLQ_DETAIL, exc.detail.encode())]
