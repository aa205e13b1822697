"""The released cells that the dashboard shows: the latest record of each cell key, read
from the KPI topics (read_committed, from the beginning) on a thread of its own."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

log = logging.getLogger(__name__)
#: what makes a KPI not readable for the principal: its topic, or the group, refused
DENIED = frozenset({KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
                    KafkaError._UNKNOWN_TOPIC, KafkaError.UNKNOWN_TOPIC_OR_PART})


class Board:
    """The cells by KPI and key, and who is told of a change."""

    def __init__(self, topics: dict[str, str]) -> None:
        #: KPI name → its topic
        self.topics = topics
        self.cells: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in topics}
        self.denied: dict[str, str] = {}
        self.version = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def listen(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` (from the reading thread) after each change; returns the undo."""
        with self._lock:
            self._listeners.append(wake)
        return lambda: self._listeners.remove(wake)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"version": self.version,
                    "kpis": {name: {"topic": self.topics[name],
                                    "denied": self.denied.get(name),
                                    "cells": sorted(cells.values(), key=_order)}
                             for name, cells in self.cells.items()}}

    def put(self, topic: str, key: bytes | None, value: bytes | None) -> bool:
        """One record of a KPI topic; False: not a cell (skipped)."""
        name = next((n for n, t in self.topics.items() if t == topic), None)
        if name is None or key is None:
            return False
        try:
            cell = orjson.loads(value) if value is not None else None
        except orjson.JSONDecodeError:
            return False
        if cell is not None and not isinstance(cell, dict):
            return False
        with self._lock:
            if cell is None:
                self.cells[name].pop(key.decode("utf-8", "replace"), None)
            else:
                self.cells[name][key.decode("utf-8", "replace")] = _shown(cell)
            self.version += 1
        self._wake()
        return True

    def deny(self, topic: str, reason: str) -> None:
        name = next((n for n, t in self.topics.items() if t == topic), None)
        if name is not None and self.denied.get(name) != reason:
            with self._lock:
                self.denied[name] = reason
                self.version += 1
            self._wake()

    def _wake(self) -> None:
        for wake in list(self._listeners):
            wake()


def _shown(cell: dict[str, Any]) -> dict[str, Any]:
    """What the page may show of a cell: a suppressed one keeps its group and window only
    (the processor publishes no number for it; a number here would be a bug upstream)."""
    if cell.get("suppressed"):
        return {k: cell.get(k) for k in ("kpi", "window_start", "window_end", "group", "total",
                                          "suppressed", "min_group_size")}
    return cell


def _order(cell: dict[str, Any]) -> tuple[str, bool, str]:
    return (str(cell.get("window_start")), bool(cell.get("total")),
            orjson.dumps(cell.get("group"), option=orjson.OPT_SORT_KEYS).decode())


class Reader(threading.Thread):
    """Reads the KPI topics into the board until stopped. It assigns their partitions (no
    consumer group, nothing committed): a principal needs nothing but READ on the topics,
    and a topic that it may not read is shown as such."""

    def __init__(self, board: Board, config: dict[str, Any]) -> None:
        super().__init__(name="kpi-reader", daemon=True)
        self.board, self.config = board, config
        self.stopped = threading.Event()

    def run(self) -> None:
        consumer = Consumer({"group.id": "crm-masker-dashboard", **self.config,
                             "enable.auto.commit": False, "isolation.level": "read_committed"})
        try:
            partitions = []
            for topic in sorted(set(self.board.topics.values())):
                try:
                    found = consumer.list_topics(topic, timeout=15).topics.get(topic)
                except KafkaException as exc:
                    self.board.deny(topic, exc.args[0].name())
                    continue
                if found is None or found.error is not None or not found.partitions:
                    self.board.deny(topic, found.error.name() if found is not None
                                    and found.error is not None else "UNKNOWN_TOPIC")
                    continue
                partitions += [TopicPartition(topic, p, OFFSET_BEGINNING)
                               for p in sorted(found.partitions)]
            consumer.assign(partitions)
            while not self.stopped.is_set():
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() in DENIED and msg.topic():
                        self.board.deny(msg.topic() or "", err.name())
                    elif err.code() != KafkaError._PARTITION_EOF:
                        log.warning("KPI topics: %s", err.name())
                        time.sleep(0.5)
                    continue
                self.board.put(msg.topic() or "", msg.key(), msg.value())
        finally:
            consumer.close()
