"""The same masking job on faust-streaming, the benchmark peer. Runs in .venv-bench only.

    .venv-bench/bin/python -m benchmarks.faust_masker BOOTSTRAP APP_ID RULES KEYS TOPIC [TOPIC ...]

Consumes the source topics, masks with crm-masker's engine, sends every output record with
faust (processing_guarantee=exactly_once), stops when idle, prints one JSON line with its rate.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import faust
import orjson

from processor.formats.envelope import decode_json
from processor.keys import load_keys
from processor.masking.compiler import compile_rules
from processor.masking.engine import MaskingEngine
from processor.rules import load_validated

IDLE_S = 5.0


def report(result: dict[str, object], code: int, datadir: str) -> None:
    """Print the result where the caller finds it and leave at once: faust redirects stdout to
    its logger and turns SystemExit inside a timer into a crash report."""
    shutil.rmtree(datadir, ignore_errors=True)
    sys.__stdout__.write(json.dumps(result) + "\n")
    sys.__stdout__.flush()
    os._exit(code)


def main() -> None:
    bootstrap, app_id, rules, keys, *topics = sys.argv[1:]
    engine = MaskingEngine(compile_rules(load_validated(rules), load_keys(keys),
                                         load_keys(Path(keys).with_name("demo-kek.yaml"))))
    # faust keeps its tables under datadir, "<app_id>-data" in the working directory by default
    datadir = tempfile.mkdtemp(prefix="crm-masker-faust-")
    app = faust.App(app_id, datadir=datadir, broker=f"kafka://{bootstrap}", value_serializer="raw",
                    key_serializer="raw", processing_guarantee="exactly_once",
                    web_enabled=False, topic_replication_factor=1, topic_partitions=3,
                    broker_commit_every=5000, broker_commit_interval=0.2)
    source = app.topic(*topics, key_type=bytes, value_type=bytes)
    outputs = {t: app.topic(t, key_type=bytes, value_type=bytes)
               for t in engine.compiled.output_topics}
    state = {"count": 0, "first": 0.0, "last": time.monotonic(), "started": time.monotonic()}

    @app.agent(source)
    async def mask(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            message = event.message
            outcome = engine.process(message.topic, decode_json(message.key),
                                     decode_json(message.value))
            for record in outcome.records:
                await outputs[record.topic].send(
                    key=orjson.dumps(record.key),
                    value=None if record.value is None else orjson.dumps(record.value))
            now = time.monotonic()
            state["first"] = state["first"] or now
            state["last"] = now
            state["count"] += 1

    @app.timer(interval=1.0)
    async def stop_when_idle() -> None:
        now = time.monotonic()
        if state["count"] and now - state["last"] >= IDLE_S:
            seconds = state["last"] - state["first"]
            report({"events": state["count"], "seconds": seconds,
                    "events_per_s": state["count"] / max(1e-9, seconds)}, 0, datadir)
        if not state["count"] and now - state["started"] > 300:
            report({"error": "no event in 300 s"}, 1, datadir)

    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn", "--without-web"]
    app.main()


if __name__ == "__main__":
    main()
