"""Start the processor in this process or in N worker processes of one consumer group.

Each worker has its own transactional id (``<prefix>-<index>``): a restarted worker fences its
crashed predecessor at once instead of waiting for the transaction timeout. Each worker serves
its metrics on ``metrics_port + index``.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from confluent_kafka import KafkaException

from processor import kafka_client
from processor.access.preflight import check_authorized
from processor.errors import CrmMaskerError
from processor.keys import KeyRing
from processor.masking.compiler import CompiledRules, compile_rules
from processor.masking.engine import MaskingEngine
from processor.observability import logs, metrics
from processor.observability.http import DEFAULT_HOST, Health, serve
from processor.pipeline.checkpoint import FatalKafkaError
from processor.pipeline.runner import Processor, RunSettings, check_topics_exist, install_signal_handlers
from processor.rules import load_validated
from processor.rules.topics import RuleTopics

log = logging.getLogger("crm_masker")


@dataclass(frozen=True)
class WorkerSpec:
    rules_dir: Path
    keys: KeyRing
    settings: RunSettings
    metrics_port: int | None
    index: int = 0
    #: the key-encryption keys of ``encrypt`` (None: the rules must not encrypt)
    keks: KeyRing | None = None
    metrics_host: str = DEFAULT_HOST
    log_level: str = "info"
    log_format: str = "text"


def run_worker(spec: WorkerSpec) -> int:
    """Run one processor until stopped; returns the process exit code."""
    logs.configure(spec.log_level, spec.log_format, spec.index)
    validated = load_validated(spec.rules_dir)
    compiled = compile_rules(validated, spec.keys, spec.keks)
    metrics.RULESET.info({"version": validated.version, "sha256": validated.sha256,
                          "key_id": validated.rules.pseudonym_key_id})
    log.info("rule set version %s sha256 %s, key id %s, %d source topics",
             validated.version, validated.sha256, validated.rules.pseudonym_key_id,
             len(compiled.routes))
    rules = validated.rules
    admin = kafka_client.admin(spec.settings.bootstrap, spec.settings.kafka_options)
    check_authorized(admin, rules, spec.settings.group_id, spec.settings.kafka_options)
    check_topics_exist(admin, RuleTopics.of(rules).outputs)
    _zero_labelled_counters(compiled)
    health = Health()
    if spec.metrics_port is not None:
        serve(spec.metrics_port + spec.index, health, spec.metrics_host)
    processor = Processor(MaskingEngine(compiled), spec.settings, health)
    install_signal_handlers(processor)
    settle_garbage_collector()
    try:
        handled = processor.run()
    except FatalKafkaError as exc:
        hint = (f" (another instance with transactional id {spec.settings.transactional_id} "
                "has taken over)" if exc.fenced else "")
        log.error("stopping: %s%s", exc, hint)
        return 3
    except CrmMaskerError as exc:  # e.g. the schema registry refused a masked schema
        log.error("stopping: %s", exc)
        return 2
    except KafkaException as exc:  # a state's restore that the brokers failed for too long
        log.error("stopping: a Kafka call failed: %s (%s); a restart goes on from the "
                  "committed offsets", exc.args[0].name(), exc.args[0].str())
        return 2
    log.info("stopped after %d input records", handled)
    return 0


#: the collector's thresholds while processing: a young collection per 50,000 allocations
#: instead of 700 (a consumed batch allocates tens of thousands of short-lived objects that
#: reference counting frees anyway), and fewer full ones
GC_THRESHOLDS = (50_000, 20, 10)


def settle_garbage_collector() -> None:
    """Everything made so far (rules, plans, modules) out of the collector's scans, and its
    thresholds raised: measured on 100,000 events of the reference mix, the collector's time
    fell from 2.8 to 0.5 µs per event, and its full collections (36 ms each, a pause on the
    latency) from five to none."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _zero_labelled_counters(compiled: CompiledRules) -> None:
    """Create the bounded label sets at 0, so that Prometheus's increase() sees the first
    anomaly or leak (a series that appears already at 1 has no increase)."""
    from processor.pii.recognizers import recognizer_kinds

    anomaly = compiled.validated.rules.anomaly
    for name, spec in (anomaly.detectors.items() if anomaly else ()):
        metrics.ANOMALIES.labels(name, spec.severity)
        metrics.ANOMALY_LATE_EVENTS.labels(name)
    for route in compiled.routes.values():
        for column in {c for view in route.views for c in view.plan.watched}:
            for kind in recognizer_kinds():
                metrics.PII_SUSPECTED.labels(route.table, column, kind)


def _child(spec: WorkerSpec) -> None:
    try:
        sys.exit(run_worker(spec))
    except CrmMaskerError as exc:
        logging.getLogger("crm_masker").error("%s", exc)
        sys.exit(2)


def run_workers(spec: WorkerSpec, workers: int) -> int:
    """One worker in-process, or N child processes; the worst exit code wins."""
    if workers <= 1:
        return run_worker(spec)
    ctx = multiprocessing.get_context("spawn")
    children = []
    for index in range(workers):
        settings = replace(spec.settings,
                           transactional_id=f"{spec.settings.transactional_id}-w{index}")
        child = ctx.Process(target=_child, args=(replace(spec, settings=settings, index=index),),
                            name=f"crm-masker-{index}")
        child.start()
        children.append(child)

    def forward(signum: int, frame: object) -> None:
        for child in children:
            if child.pid and child.is_alive():
                child.terminate()  # SIGTERM: each worker commits and exits

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()
    return max((child.exitcode or 0) for child in children)
