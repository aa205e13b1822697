"""/readyz of `crm-masker run` says ready only once the assigned partitions' state is back."""

from __future__ import annotations

import pytest
from confluent_kafka import TopicPartition

from processor.pipeline.runner import Processor, RunSettings
from tests.helpers import engine


def test_not_ready_while_the_assigned_partitions_state_is_restored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # nothing connects before run(): the rebalance callback is called as librdkafka would
    processor = Processor(engine(), RunSettings("127.0.0.1:9", engine="python"))
    processor.health.broker_ok = True
    during: list[bool] = []
    monkeypatch.setattr(processor, "_restore_data_keys",
                        lambda: during.append(processor.health.ready()[0]))
    monkeypatch.setattr(processor, "_restore_detectors",
                        lambda partitions: during.append(processor.health.ready()[0]))
    try:
        assert processor.health.ready() == (False, "no partitions assigned")
        processor._on_assign(processor.consumer, [TopicPartition("crm.public.contacts", 0),
                                                  TopicPartition("crm.public.users", 0)])
        assert during == [False, False]  # a rolling update must not count on it yet
        assert processor.health.ready() == (True, "2 partition(s) assigned")
    finally:
        processor.consumer.close()
