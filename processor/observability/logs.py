"""Log lines: text for people, JSON lines for log pipelines.

The JSON keys are stable (``ts``, ``level``, ``logger``, ``worker``, ``message``, and
``exception`` with the exception's type only). Messages never hold a record's values (the
rest of the code sees to that); a traceback could, so it is not written as JSON.
librdkafka's log (logger ``crm_masker.kafka``) is shown from WARNING up, all of it at DEBUG.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


class JsonLines(logging.Formatter):
    def __init__(self, worker: int | None) -> None:
        super().__init__()
        self.worker = worker

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        if self.worker is not None:
            line["worker"] = self.worker
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
        return orjson.dumps(line).decode()


class Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (a test runner swaps it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure(level: str = "info", fmt: str = "text", worker: int | None = None) -> None:
    """crm-masker's handler on stderr (replacing an earlier one of its own, leaving others'
    alone), at ``level``, as text or JSON lines."""
    handler = Stderr()
    if fmt == "json":
        handler.setFormatter(JsonLines(worker))
    else:
        where = f" [worker {worker}]" if worker is not None else ""
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)s{where} %(name)s: %(message)s"))
    root = logging.getLogger()
    for earlier in [h for h in root.handlers if isinstance(h, Stderr)]:
        root.removeHandler(earlier)
    root.addHandler(handler)
    root.setLevel(level.upper())
    kafka = logging.getLogger("crm_masker.kafka")
    kafka.setLevel(logging.DEBUG if level == "debug" else max(logging.WARNING, root.level))
