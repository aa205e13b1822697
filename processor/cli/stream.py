"""The commands that mask: mask (offline), run (on Kafka), topics (what run needs)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

import click

from processor.cli.options import (
    BOOTSTRAP_OPTION,
    DEMO_KEYS_OPTION,
    KAFKA_OPTION,
    KEK_OPTION,
    KEYS_OPTION,
    REGISTRY_OPTION,
    REGISTRY_URL_OPTION,
    RULES_OPTION,
    kek_ring,
    keyring,
)


@click.command()
@RULES_OPTION
@KEYS_OPTION
@KEK_OPTION
@DEMO_KEYS_OPTION
@click.option("--input", "input_file", type=click.File("rb"), default="-", show_default=True,
              help="JSON lines {topic, key, value}; - for stdin.")
@click.option("--output", "output_file", type=click.File("wb"), default="-", show_default=True,
              help="Where masked JSON lines go; - for stdout.")
@click.option("--engine", envvar="CRM_MASKER_ENGINE", default="auto", show_default=True,
              type=click.Choice(["auto", "native", "python"]),
              help="Masking engine, as for `run`: the native core where it takes an event "
                   "(auto: when installed), else the Python engine.")
def mask(rules_dir: Path, keys_file: Path | None, kek_file: Path | None, allow_demo_keys: bool,
         input_file: BinaryIO, output_file: BinaryIO, engine: str) -> None:
    """Mask JSON lines offline, exactly as `run` would mask them on Kafka.

    Reads {"topic": ..., "key": ..., "value": ...} per line (value: a Debezium envelope) and
    writes one such line per output record; records that cannot be processed go to the DLQ
    topic with the reason and the input line number. A summary goes to stderr. Values that
    the rules encrypt get data keys that live in memory only: offline, nothing can reveal them.
    """
    from processor.masking import native
    from processor.masking.compiler import compile_rules
    from processor.masking.engine import MaskingEngine
    from processor.offline import Summary, dumps_line, mask_lines
    from processor.rules import load_validated

    compiled = compile_rules(load_validated(rules_dir), keyring(keys_file, allow_demo_keys),
                             kek_ring(kek_file, allow_demo_keys))
    core = native.select(compiled, engine)
    summary = Summary()
    for record in mask_lines(MaskingEngine(compiled), input_file, summary, core):
        output_file.write(dumps_line(record))
    click.echo(summary.render(), err=True)


@click.command()
@RULES_OPTION
@KEYS_OPTION
@KEK_OPTION
@DEMO_KEYS_OPTION
@BOOTSTRAP_OPTION
@KAFKA_OPTION
@click.option("--group-id", envvar="CRM_MASKER_GROUP_ID", default="crm-masker",
              help="Consumer group; all workers and replicas of one deployment share it.")
@click.option("--transactional-id", envvar="CRM_MASKER_TRANSACTIONAL_ID", default=None,
              help="Transactional id prefix; must be stable across restarts of this instance "
                   "and unique per instance. Default: crm-masker-<group>-<hostname>.")
@click.option("--batch-events", envvar="CRM_MASKER_BATCH_EVENTS", default=5000,
              type=click.IntRange(1), help="Commit after this many input records …")
@click.option("--batch-ms", envvar="CRM_MASKER_BATCH_MS", default=200, type=click.IntRange(1),
              help="… or after this many milliseconds, whichever comes first.")
@click.option("--commit-when-drained/--no-commit-when-drained",
              envvar="CRM_MASKER_COMMIT_WHEN_DRAINED", default=True, show_default=True,
              help="… or as soon as the processor has caught up with its input (a poll "
                   "returns less than a full batch): low latency at any rate below the "
                   "maximum; --no-… keeps to the count and time limits: fewer transactions.")
@click.option("--workers", envvar="CRM_MASKER_WORKERS", default=1, type=click.IntRange(1),
              help="Worker processes in one consumer group (one core each).")
@click.option("--metrics-port", envvar="CRM_MASKER_METRICS_PORT", default=9108, type=int,
              help="HTTP port for /metrics, /healthz, /readyz (worker i uses port + i); "
                   "-1 disables it.")
@click.option("--metrics-host", envvar="CRM_MASKER_METRICS_HOST", default="127.0.0.1",
              help="Address the metrics port listens on: loopback by default; 0.0.0.0 (or ::) "
                   "where Prometheus scrapes from another host or container.")
@click.option("--exit-when-idle", envvar="CRM_MASKER_EXIT_WHEN_IDLE", default=None, type=float,
              metavar="SECONDS", help="Stop after this long without input (batch jobs, demos).")
@REGISTRY_URL_OPTION
@REGISTRY_OPTION
@click.option("--engine", envvar="CRM_MASKER_ENGINE", default="auto", show_default=True,
              type=click.Choice(["auto", "native", "python"]),
              help="Masking engine for JSON events: the native core (Rust, built by `make "
                   "install` when cargo is there; same outputs, faster), the "
                   "Python engine, or auto: native when installed.")
@click.option("--profile", is_flag=True, envvar="CRM_MASKER_PROFILE",
              help="Time the main thread's stages (consume, mask, produce, detect, commit …) "
                   "and log at the end how many µs of CPU and of wall time each record took "
                   "in each; `make bench-profile` prints it as a table.")
@click.option("--follow-keys-every", envvar="CRM_MASKER_FOLLOW_KEYS_EVERY", default=30.0,
              show_default=True, type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="How often a worker reads the key topic's new records between "
                   "transactions (rules that encrypt): an erasure outside the CRM (`erase`) "
                   "reaches the running workers within about this long.")
def run(rules_dir: Path, keys_file: Path | None, kek_file: Path | None, allow_demo_keys: bool,
        bootstrap: str,
        kafka_options: tuple[str, ...], group_id: str, transactional_id: str | None,
        batch_events: int, batch_ms: int, commit_when_drained: bool, workers: int,
        metrics_port: int, metrics_host: str,
        exit_when_idle: float | None, schema_registry_url: str | None,
        registry_options: tuple[str, ...], engine: str, profile: bool,
        follow_keys_every: float) -> None:
    """Consume CRM change events, mask them, publish the views, exactly once.

    Subscribes to the source topics that the rules name; outputs, dead letters and consumer
    offsets are written in one Kafka transaction per batch; a batch that the broker fails is
    aborted and redone. SIGTERM/SIGINT finish the open batch and exit 0; a fatal Kafka error
    (fencing by another instance with the same transactional id) exits 3.

    JSON and Avro (Confluent wire format) are told apart per record; Avro outputs use masked
    schemas derived from the source schema and the rules, registered as <view topic>-value/-key.
    """
    import socket

    from processor.kafka_options import client_options
    from processor.pipeline.kafka_config import check_not_protected
    from processor.pipeline.runner import RunSettings
    from processor.pipeline.workers import WorkerSpec, run_workers
    from processor.rules import load_validated
    from processor.rules.encrypted import encrypted_fields

    validated = load_validated(rules_dir)  # refuse an invalid rule set before touching Kafka
    keys = keyring(keys_file, allow_demo_keys)
    encrypted = encrypted_fields(validated.rules)
    keks = kek_ring(kek_file, allow_demo_keys, required=(
        f"the rules encrypt {encrypted[0][0]}.{encrypted[0][1]}: run" if encrypted else None))
    check_not_protected(client_options(kafka_options))
    settings = RunSettings(
        bootstrap=bootstrap, group_id=group_id,
        transactional_id=transactional_id or f"crm-masker-{group_id}-{socket.gethostname()}",
        batch_max_events=batch_events, batch_max_ms=batch_ms,
        commit_when_drained=commit_when_drained, exit_when_idle_s=exit_when_idle,
        kafka_options=client_options(kafka_options), schema_registry_url=schema_registry_url,
        schema_registry_options=registry_options, engine=engine, profile=profile,
        follow_keys_every_s=follow_keys_every)
    logging_of = click.get_current_context().find_root().obj or {}
    spec = WorkerSpec(rules_dir, keys, settings, metrics_port if metrics_port >= 0 else None,
                      keks=keks,
                      metrics_host=metrics_host, log_level=logging_of.get("log_level", "info"),
                      log_format=logging_of.get("log_format", "text"))
    sys.exit(run_workers(spec, workers))


@click.command()
@RULES_OPTION
@BOOTSTRAP_OPTION
@KAFKA_OPTION
@click.option("--partitions", default=3, type=click.IntRange(1), envvar="CRM_MASKER_PARTITIONS",
              help="Partitions of topics that are created.")
@click.option("--replication-factor", default=-1, type=int, envvar="CRM_MASKER_REPLICATION_FACTOR",
              help="Replication factor of created topics (-1: the broker's default).")
@click.option("--check", is_flag=True, help="Only verify; create nothing. Exit 1 on a problem.")
def topics(rules_dir: Path, bootstrap: str, kafka_options: tuple[str, ...], partitions: int,
           replication_factor: int, check: bool) -> None:
    """Create or verify the view, DLQ and alert topics that the rules imply.

    View topics get cleanup.policy=compact,delete with retention.ms from the table's retention;
    the DLQ gets dlq_retention. Existing topics are compared and differences reported.
    """
    from processor import kafka_client
    from processor.kafka_options import client_options
    from processor.pipeline.topics import desired_topics, ensure_topics
    from processor.rules import load_validated

    rules = load_validated(rules_dir).rules
    admin = kafka_client.admin(bootstrap, client_options(kafka_options))
    report = ensure_topics(admin, desired_topics(rules, partitions), create=not check,
                           replication_factor=replication_factor)
    for name in report.created:
        click.echo(f"created  {name}")
    for name in report.ok:
        click.echo(f"ok       {name}")
    for problem in report.problems:
        click.secho(f"problem  {problem}", fg="red", err=True)
    if report.problems:
        sys.exit(1)
