"""A fatal Kafka error says whether another instance took over (only then the log says so)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from processor.pipeline.checkpoint import FatalKafkaError


@pytest.mark.parametrize(("error", "fenced"), [
    (KafkaError(KafkaError.PRODUCER_FENCED), True),
    (KafkaError(KafkaError.INVALID_PRODUCER_EPOCH), True),
    (KafkaError(KafkaError._FENCED), True),
    (KafkaError(KafkaError._FATAL, "Fatal consumer error: Broker: Static consumer fenced by "
                                   "other consumer with same group.instance.id"), True),
    (KafkaError(KafkaError._FATAL, "Fatal error: Broker: Invalid transaction state"), False),
    (KafkaError(KafkaError._TIMED_OUT), False),
    (KafkaError(KafkaError._TRANSPORT), False),
])
def test_fencing_is_told_from_other_fatal_errors(error: KafkaError, fenced: bool) -> None:
    exc = FatalKafkaError.of("commit failed", error)
    assert exc.fenced is fenced
    assert str(exc).startswith(f"commit failed: {error.name()}")
