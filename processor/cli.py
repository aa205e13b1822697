"""The command line: parse options, call into the package, map errors to exit codes.

Every option can also be given as an environment variable (named in ``--help``) or in the
``--config`` file; the precedence is flag > environment > file > default.
"""

from __future__ import annotations

import datetime
import itertools
import os
import sys
from pathlib import Path
from typing import BinaryIO, TextIO

import click

from processor import __version__
from processor.cli_options import (
    BOOTSTRAP_OPTION,
    DEMO_KEYS_OPTION,
    KAFKA_OPTION,
    KEK_OPTION,
    KEYS_OPTION,
    REGISTRY_OPTION,
    REGISTRY_URL_OPTION,
    RULES_OPTION,
    fail,
    kek_ring,
    keyring,
)
from processor.errors import CrmMaskerError, RuleSetInvalid


def _load_config(ctx: click.Context, _: click.Parameter, path: Path | None) -> None:
    """Eager, so that the file is click's default_map before any other option is read."""
    if path is not None:
        from processor.config_file import load_default_map

        ctx.default_map = load_default_map(path, main)


@click.group(context_settings={"help_option_names": ["-h", "--help"],
                               "show_default": True})
@click.version_option(__version__, prog_name="crm-masker")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              envvar="CRM_MASKER_CONFIG", is_eager=True, expose_value=False,
              callback=_load_config, metavar="FILE",
              help="YAML file with options for every command (keys: the long flags; a section "
                   "per command); a flag beats its environment variable, which beats the file.")
@click.option("--log-level", envvar="CRM_MASKER_LOG_LEVEL", default="info",
              type=click.Choice(["debug", "info", "warning", "error"]),
              help="Lowest level logged (librdkafka's own log from warning up, all at debug).")
@click.option("--log-format", envvar="CRM_MASKER_LOG_FORMAT", default="text",
              type=click.Choice(["text", "json"]),
              help="text for people; json: one object per line with stable keys (ts, level, "
                   "logger, worker, message) for log pipelines.")
@click.pass_context
def main(ctx: click.Context, log_level: str, log_format: str) -> None:
    """crm-masker: GDPR masking of CRM change events (Debezium on Kafka) for real-time BI."""
    from processor.observability import logs

    logs.configure(log_level, log_format)
    ctx.obj = {"log_level": log_level, "log_format": log_format}
    if os.environ.get("NO_COLOR"):  # no-color.org: no colours, whatever the terminal
        ctx.color = False


@main.command()
@click.argument("rules_dir", type=click.Path(path_type=Path), default=Path("rules"))
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--schemas", "schemas_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Source Avro schemas (<table>-value.avsc, <table>-key.avsc): "
              "also warn when the masked schemas they imply are no longer compatible with the "
              "ones recorded in DIR/views/ (a field disappearing from a view, a type change).")
@click.option("--postgres", "postgres_url", metavar="URL",
              help="The CRM's PostgreSQL (postgresql://user@host:port/db): also check every "
                   "action against what Debezium sends for its column's type (money, uuid, "
                   "json, enums, arrays, interval, timestamp(0) in milliseconds, a decimal's "
                   "scale), and warn on columns without a rule.")
@click.option("--connector", "connector_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="With --postgres: the Debezium connector's configuration "
              "(JSON, as deploy/debezium/crm-postgres.json), for its time.precision.mode, "
              "decimal.handling.mode, interval.handling.mode and converter; Debezium's "
              "defaults without it.")
def validate(rules_dir: Path, strict: bool, schemas_dir: Path | None, postgres_url: str | None,
             connector_file: Path | None) -> None:
    """Check the rule set in RULES_DIR; exit 1 with every problem as file:line.

    The processor refuses to start on a rule set that this command rejects.
    """
    from processor.rules import validate as validate_rules

    validated, problems = validate_rules(rules_dir)
    if validated is not None and schemas_dir is not None:
        from processor.avro.compat import check_compatibility

        problems = problems + check_compatibility(validated, schemas_dir)
    if validated is not None and postgres_url:
        from processor.formats.postgres_types import connector_settings, read_columns
        from processor.rules.source_check import source_problems

        connector = connector_settings(connector_file)
        columns = read_columns(postgres_url, connector.settings)
        found = source_problems(rules_dir, validated, columns, connector)
        problems = problems + found
        if any(p.severity == "error" for p in found):
            validated = None
    for problem in problems:
        color = "red" if problem.severity == "error" else "yellow"
        click.secho(str(problem), fg=color, err=True)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if validated is None or (strict and warnings):
        click.echo(f"{rules_dir}: INVALID ({errors} error(s), {warnings} warning(s))", err=True)
        sys.exit(1)
    rules = validated.rules
    click.echo(f"{rules_dir}: valid — version {rules.version}, sha256 {validated.sha256[:16]}, "
               f"{len(rules.tables)} tables, {len(rules.views)} views, {warnings} warning(s)")


@main.command()
@RULES_OPTION
@click.option("--schemas", "schemas_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("schemas"), help="Source Avro schemas; views/ below it is written.")
@click.option("--reference-crm", is_flag=True,
              help="First write the reference CRM's source schemas (as Debezium's Avro "
                   "converter registers them) into the directory.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when the recorded masked schemas differ.")
def schemas(rules_dir: Path, schemas_dir: Path, reference_crm: bool, check: bool) -> None:
    """Record the masked Avro schemas that the rules imply for the source schemas.

    For every view and table with <table>-value.avsc / <table>-key.avsc in the directory,
    writes views/<view topic>-value.avsc and -key.avsc: what the processor registers for the
    view. `validate --schemas` compares later rule changes against these.
    """
    from processor.avro.compat import derived_schemas, recorded_path, write_recorded
    from processor.generator.avro_source import write_schema_files
    from processor.rules import load_validated

    if reference_crm and not check:
        for path in write_schema_files(schemas_dir):
            click.echo(f"source   {path}")
    derived = derived_schemas(load_validated(rules_dir), schemas_dir)
    if not derived:
        fail(f"no <table>-value.avsc / <table>-key.avsc in {schemas_dir} for the rules' tables")
    if check:
        import json

        stale = [d.subject for d in derived if not recorded_path(schemas_dir, d.subject).exists()
                 or json.loads(recorded_path(schemas_dir, d.subject).read_text()) != d.schema]
        for subject in stale:
            click.secho(f"differs  {recorded_path(schemas_dir, subject)}", fg="red", err=True)
        click.echo(f"{len(derived) - len(stale)} of {len(derived)} masked schemas as recorded")
        sys.exit(1 if stale else 0)
    for path in write_recorded(derived, schemas_dir):
        click.echo(f"masked   {path}")


@main.command()
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


@main.command()
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
def run(rules_dir: Path, keys_file: Path | None, kek_file: Path | None, allow_demo_keys: bool,
        bootstrap: str,
        kafka_options: tuple[str, ...], group_id: str, transactional_id: str | None,
        batch_events: int, batch_ms: int, commit_when_drained: bool, workers: int,
        metrics_port: int, metrics_host: str,
        exit_when_idle: float | None, schema_registry_url: str | None,
        registry_options: tuple[str, ...], engine: str) -> None:
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
        schema_registry_options=registry_options, engine=engine)
    logging_of = click.get_current_context().find_root().obj or {}
    spec = WorkerSpec(rules_dir, keys, settings, metrics_port if metrics_port >= 0 else None,
                      keks=keks,
                      metrics_host=metrics_host, log_level=logging_of.get("log_level", "info"),
                      log_format=logging_of.get("log_format", "text"))
    sys.exit(run_workers(spec, workers))


@main.command()
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


@main.command(short_help="Least-privilege Kafka ACLs from the rules: print, apply, check.")
@RULES_OPTION
@click.option("--bootstrap-servers", "bootstrap", envvar="CRM_MASKER_BOOTSTRAP_SERVERS",
              default=None, help="The broker (with --apply and --check), as an admin principal "
                                 "(--kafka-option sasl.username=… or CRM_MASKER_KAFKA_*).")
@KAFKA_OPTION
@click.option("--print", "mode", flag_value="print", default=True,
              help="Show the ACLs that the rules imply, as a table for review (no broker).")
@click.option("--apply", "mode", flag_value="apply",
              help="Create the missing ACLs on the broker; then report what still differs.")
@click.option("--check", "mode", flag_value="check",
              help="Compare with the broker's ACLs: every grant missing, and every grant on the "
                   "rules' topics, groups or transactional ids that the rules do not imply "
                   "(a raw topic opened to a reader, another view …); exit 1 on any.")
@click.option("--prune", is_flag=True,
              help="With --apply: also delete the grants on the rules' resources that the rules "
                   "do not imply.")
def acls(rules_dir: Path, bootstrap: str | None, kafka_options: tuple[str, ...], mode: str,
         prune: bool) -> None:
    """Least-privilege Kafka ACLs derived from the rules' `access` section.

    The processor may read the source topics and its group and write the views, dead letters,
    alerts and audit trail under its transactional ids; each view's readers may read exactly
    that view's topics (consumer groups named after them); the security team the alert topic,
    auditors the audit topic; nobody else anything on these topics. The broker needs an
    authorizer (allow.everyone.if.no.acl.found=false) and an admin principal for this command.
    """
    from processor import kafka_client
    from processor.access import broker
    from processor.access.grants import desired_grants, drift
    from processor.kafka_options import client_options
    from processor.rules import load_validated

    rules = load_validated(rules_dir).rules
    try:
        wanted = desired_grants(rules)
    except ValueError as exc:
        fail(str(exc))
    if mode == "print":
        width = max(len(g.principal) for g in wanted)
        for g in wanted:
            name = g.name + ("*" if g.pattern == "prefixed" else "")
            click.echo(f"{g.principal:<{width}}  {g.operation.upper():<16} {g.resource:<16} "
                       f"{name:<32} {g.why}")
        click.echo(f"{len(wanted)} ACLs for {len({g.principal for g in wanted})} principals "
                   "(* = prefix)", err=True)
        return
    if bootstrap is None:
        fail(f"--{mode} needs --bootstrap-servers")
    assert bootstrap is not None
    admin = kafka_client.admin(bootstrap, client_options(kafka_options))
    found = drift(rules, broker.broker_grants(admin))
    if mode == "apply":
        broker.create(admin, found.missing)
        click.echo(f"created {len(found.missing)} ACL(s)")
        if prune:
            broker.delete(admin, found.extra)
            click.echo(f"deleted {len(found.extra)} ACL(s) that the rules do not imply")
        found = drift(rules, broker.broker_grants(admin))
    for grant in found.missing:
        click.secho(f"missing  {grant}  ({grant.why})", fg="red", err=True)
    for grant in found.extra:
        click.secho(f"extra    {grant}: not implied by the rules", fg="red", err=True)
    click.echo(f"{found.wanted - len(found.missing)} of {found.wanted} ACLs in place, "
               f"{len(found.extra)} beyond the rules; {found.unrelated} binding(s) on other "
               "resources not judged")
    if not found.clean:
        sys.exit(1)


@main.command()
@KAFKA_OPTION
@click.option("--bootstrap-servers", "bootstrap", envvar="CRM_MASKER_BOOTSTRAP_SERVERS",
              default=None, help="Kafka to produce to (omit with --output).")
@click.option("--events", "count", default=10_000, type=click.IntRange(1),
              help="How many records (the snapshot first, then changes; tombstones count).")
@click.option("--rate", default=0.0, type=float, help="Records per second; 0 = as fast as possible.")
@click.option("--seed", default=1, type=int, help="Same seed, same events.")
@click.option("--users", default=200, type=click.IntRange(1), help="CRM users (staff) in the data.")
@click.option("--with-schema", is_flag=True,
              help="Wrap keys and values as Kafka Connect's JSON converter does ({schema, payload}).")
@click.option("--partitions", default=3, type=click.IntRange(1),
              help="Partitions of source topics that are created.")
@click.option("--topic-prefix", default="crm.public.", help="Source topics are PREFIX<table>.")
@click.option("--scenario", type=click.Choice(["crm", "access-days"]), default="crm",
              help="crm: changes on every table; access-days: users plus two days of access-log "
                   "traffic with injected incidents (mass export, deactivated account, night "
                   "export, slow ramp, Art. 9 export) for anomaly detection; --events is ignored.")
@click.option("--ground-truth", type=click.File("w"), default=None,
              help="With --scenario access-days: write the injected incidents here (JSON).")
@click.option("--output", "output_file", type=click.File("wb"), default=None,
              help="Write JSON lines {topic, key, value} here instead of (or as well as) Kafka.")
@click.option("--postgres", "postgres_url", default=None, metavar="URL",
              help="Write the CRM activity into this PostgreSQL database instead (the tables of "
                   "deploy/local-cdc/schema.sql), in transactions, so that Debezium produces "
                   "the change events: postgresql://user@host:port/db.")
@click.option("--format", "fmt", type=click.Choice(["json", "avro"]), default="json",
              help="avro: Confluent wire format with the schemas of schemas/, registered in "
                   "--schema-registry-url as <topic>-key/-value (--output stays JSON lines).")
@REGISTRY_URL_OPTION
@REGISTRY_OPTION
def generate(kafka_options: tuple[str, ...], bootstrap: str | None, count: int, rate: float,
             seed: int, users: int, with_schema: bool, partitions: int, topic_prefix: str,
             scenario: str, ground_truth: TextIO | None, output_file: BinaryIO | None,
             postgres_url: str | None, fmt: str, schema_registry_url: str | None,
             registry_options: tuple[str, ...]) -> None:
    """Produce synthetic CRM change events (Debezium, every table of the reference model).

    Realistic German data with valid IBANs and tax ids, free-text notes full of personal data,
    Debezium's date/timestamp/decimal encodings; creates, updates, deletes with tombstones.
    """
    from processor.generator.sink import write_events
    from processor.generator.stream import CrmStream

    if postgres_url is not None:
        if bootstrap or output_file or fmt != "json" or with_schema or scenario != "crm":
            fail("--postgres writes SQL only: Debezium makes the events (its converter decides "
                 "JSON, schemas or Avro); leave out --bootstrap-servers, --output, --format, "
                 "--with-schema and --scenario")
        from processor.generator.postgres import continue_ids, write_sql

        stream = CrmStream(seed=seed, users=users)
        continue_ids(stream, postgres_url)
        written = write_sql(stream.events(count), count, postgres_url, rate=rate)
        click.echo(f"applied {written} changes to PostgreSQL (seed {seed})", err=True)
        return
    if bootstrap is None and output_file is None:
        fail("give --bootstrap-servers, --output FILE (or both), or --postgres URL")
    avro = None
    if fmt == "avro":
        if schema_registry_url is None:
            fail("--format avro needs --schema-registry-url")
        if with_schema:
            fail("--with-schema is for JSON; Avro carries its schema in the registry")
        from processor.avro.registry import SchemaRegistry, client_from_options
        from processor.generator.avro_source import AvroSourceEncoder

        assert schema_registry_url is not None
        avro = AvroSourceEncoder(SchemaRegistry(client_from_options(schema_registry_url,
                                                                    registry_options)))
    if scenario == "access-days":
        import json

        from processor.generator.scenarios import AccessScenario

        access = AccessScenario(users=users, seed=seed)
        access.stream.topic_prefix = topic_prefix
        records = list(access.records())
        count = len(records)
        written = write_events(iter(records), count, bootstrap=bootstrap,
                               kafka_options=kafka_options, output=output_file, rate=rate,
                               partitions=partitions, topic_prefix=topic_prefix, avro=avro)
        if ground_truth is not None:
            json.dump(access.ground_truth(), ground_truth, indent=2)
    else:
        stream = CrmStream(seed=seed, users=users, with_schema=with_schema,
                           topic_prefix=topic_prefix)
        written = write_events(stream.events(count), count, bootstrap=bootstrap,
                               kafka_options=kafka_options, output=output_file, rate=rate,
                               partitions=partitions, topic_prefix=topic_prefix, avro=avro)
    click.echo(f"generated {written} records (seed {seed})", err=True)


@main.command(short_help="The record of processing activities (Art. 30 GDPR).")
@RULES_OPTION
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md")
@click.option("--lang", type=click.Choice(["en", "de"]), default="en",
              help="Language of the labels (de: Verzeichnis von Verarbeitungstätigkeiten).")
@click.option("--output", "output_file", type=click.File("w", encoding="utf-8"), default="-",
              help="Where the report goes; - for stdout.")
@click.option("--date", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              metavar="YYYY-MM-DD", help="The record's date (\"Stand\"). Default: today.")
@click.option("--bootstrap-servers", "bootstrap", envvar="CRM_MASKER_BOOTSTRAP_SERVERS",
              default=None, help="Also check the broker's ACLs against the rules' access "
                                 "section (as `acls --check`, with a principal that may list "
                                 "ACLs) and the connection's security; the record says so.")
@KAFKA_OPTION
def report(rules_dir: Path, fmt: str, lang: str, output_file: TextIO,
           as_of: datetime.datetime | None, bootstrap: str | None,
           kafka_options: tuple[str, ...]) -> None:
    """The record of processing activities (Art. 30 GDPR) and data-flow inventory.

    Generated from the rule set that the processor enforces, one section per processing
    activity (a purpose of the rules) with Art. 30(1)(a)–(g): controller, purpose, legal basis
    (with the interest pursued for Art. 6(1)(f) and the Art. 9(2) exception for special
    categories), data subjects, categories of data, recipients (views and their readers),
    transfers to third countries, time limits for erasure, measures; then processors, the
    technical and organisational measures (Art. 32), the measure applied to each field in each
    view, the data-flow inventory and findings. The record's own texts come from `record:` in
    the rules (in English and German: {en: …, de: …}).
    """
    from processor.governance.render import render_html, render_markdown
    from processor.governance.report import build_report
    from processor.rules import load_validated

    validated = load_validated(rules_dir)
    built = build_report(validated, as_of.date() if as_of else None)
    if bootstrap is not None:
        from processor.access.broker import enforcement

        built.enforcement = enforcement(validated.rules, bootstrap, kafka_options, built.date)
    output_file.write(render_html(built, lang) if fmt == "html" else render_markdown(built, lang))


@main.command()
@BOOTSTRAP_OPTION
@KAFKA_OPTION
@click.option("--topic", "topics", multiple=True, required=True,
              help="Topic to check (repeatable), e.g. a BI view topic.")
@click.option("--limit", default=100_000, type=click.IntRange(1),
              help="Check at most this many records per topic (from the beginning).")
def scan(bootstrap: str, kafka_options: tuple[str, ...], topics: tuple[str, ...],
         limit: int) -> None:
    """Look for personal data in any topic after the fact (the leak watch, offline).

    Runs the e-mail, phone, IBAN, card and tax-id detectors over every string value (not
    pseudonyms, not Debezium metadata) and prints, per topic and column, how many values look
    like which kind. Values are never printed. Exit 1 when anything is suspected.
    """
    from processor.governance.leakwatch import scan_values
    from processor.kafka_options import client_options
    from processor.pipeline.topic_reader import read_all

    extra = client_options(kafka_options)
    suspected = 0
    for topic in topics:
        try:
            records = [r for _, r in itertools.islice(read_all(bootstrap, topic, extra), limit)]
        except RuntimeError as exc:
            fail(str(exc))
        found = scan_values(records)
        click.echo(f"{topic}: {len(records)} records checked, "
                   f"{sum(found.values())} suspect value(s)")
        for (column, kind), count in sorted(found.items()):
            click.echo(f"  {column}: {count} × {kind}")
        suspected += sum(found.values())
    if suspected:
        sys.exit(1)


@main.group()
def keys() -> None:
    """Pseudonym key files, and the KEK of `encrypt` (rotate)."""


@keys.command("new")
@click.option("--output", "output_file", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="The key file to write (mode 0600; never overwritten).")
@click.option("--key-id", default=None,
              help="Id of the new key (default: k<year><letter>, the next one free).")
@click.option("--add", is_flag=True,
              help="Add the new key to the existing file (rotation): the old keys stay, so "
                   "pseudonyms made with them can still be matched.")
def keys_new(output_file: Path, key_id: str | None, add: bool) -> None:
    """Write a fresh random pseudonym key (32 bytes) with a new key id.

    The secret is never printed. Point the rules' `pseudonym_key_id` at the new id to mask with
    it, and `run --keys FILE` (or CRM_MASKER_KEYS_FILE) at the file.
    """
    from processor.keys import write_new_key

    made = write_new_key(output_file, key_id, add)
    click.echo(f"{output_file}: new key {made} (mode 0600); set `pseudonym_key_id: {made}` in "
               "the rules to mask with it")


@main.group()
def audit() -> None:
    """Check the audit trail and answer erasure requests from it."""


def _audit_topic(rules_dir: Path, topic: str | None) -> str:
    if topic:
        return topic
    from processor.rules import load_validated

    return load_validated(rules_dir).rules.audit_topic


@audit.command("verify")
@RULES_OPTION
@BOOTSTRAP_OPTION
@KAFKA_OPTION
@click.option("--topic", default=None, help="Audit topic (default: audit_topic of the rules).")
def audit_verify(rules_dir: Path, bootstrap: str, kafka_options: tuple[str, ...],
                 topic: str | None) -> None:
    """Verify the hash chain of every producer on the audit topic; exit 1 where it breaks.

    Prints totals (transactions, inputs, outputs, dead letters, deletes) for reconciliation.
    """
    from processor.governance.audit import verify
    from processor.kafka_options import client_options
    from processor.pipeline.topic_reader import read_all

    name = _audit_topic(rules_dir, topic)
    try:
        report = verify(read_all(bootstrap, name, client_options(kafka_options)))
    except RuntimeError as exc:
        fail(str(exc))
    click.echo(f"{name}: {report.records} records from {report.producers} producer(s); "
               f"inputs {report.inputs}, outputs {report.outputs}, dead letters {report.dlq}, "
               f"deletes propagated {report.deletes}")
    for brk in report.breaks:
        click.secho(f"BROKEN at {brk.where} (producer {brk.producer}): {brk.problem}",
                    fg="red", err=True)
    if not report.intact:
        sys.exit(1)
    click.echo("chain intact")


@audit.command("erasures", short_help="List propagated deletes (Art. 17 GDPR).")
@RULES_OPTION
@BOOTSTRAP_OPTION
@KAFKA_OPTION
@click.option("--topic", default=None, help="Audit topic (default: audit_topic of the rules).")
@click.option("--key", "pseudonym", default=None,
              help="Only deletes of this pseudonymous key (e.g. k2026a:…); the subject's "
                   "pseudonym comes from `crm-masker mask` on the subject's id.")
def audit_erasures(rules_dir: Path, bootstrap: str, kafka_options: tuple[str, ...],
                   topic: str | None, pseudonym: str | None) -> None:
    """List propagated deletes (Art. 17): when, which table, which pseudonymous key.

    One JSON line per delete: {"time", "table", "key", "producer", "rules_version"}, and one
    per shredded data key (the subject's erasure, by the processor or `crm-masker erase`):
    {"time", "table" (or "erase"), "shredded": data key id, "producer", "rules_version"}.
    """
    import orjson

    from processor.kafka_options import client_options
    from processor.pipeline.topic_reader import read_all

    name = _audit_topic(rules_dir, topic)
    found = keys_shredded = 0
    for _, record in read_all(bootstrap, name, client_options(kafka_options)):
        if record is None:
            continue
        for delete in record.get("deletes", []):
            key = delete.get("key")
            if pseudonym and pseudonym not in orjson.dumps(key).decode():
                continue
            found += 1
            click.echo(orjson.dumps({"time": record["time"], "table": delete.get("table"),
                                     "key": key, "producer": record["producer"],
                                     "rules_version": record["rules"]["version"]}).decode())
        request = record.get("request") or {}
        shredded = [(s.get("table"), s.get("data_key")) for s in record.get("shredded", [])] + \
            [("erase", data_key) for data_key in request.get("shredded", [])]
        for table, data_key in shredded:
            if pseudonym and pseudonym not in str(data_key):
                continue
            keys_shredded += 1
            click.echo(orjson.dumps({"time": record["time"], "table": table,
                                     "shredded": data_key, "producer": record["producer"],
                                     "rules_version": record["rules"]["version"]}).decode())
    click.echo(f"{found} propagated delete(s), {keys_shredded} data key(s) shredded", err=True)


def _add_subject_commands() -> None:
    from processor.subjects.commands import erase, reveal, rotate, subject

    for command in (subject, reveal, erase):
        main.add_command(command)
    keys.add_command(rotate)


_add_subject_commands()


def _envvars(command: click.Command, path: tuple[str, ...] = ()) -> None:
    """Every option has an environment variable, named in ``--help``: its own (shared by the
    commands that take it, as CRM_MASKER_BOOTSTRAP_SERVERS), else CRM_MASKER_<COMMAND>_<OPTION>
    after its flag (``generate --events`` → CRM_MASKER_GENERATE_EVENTS)."""
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in ("help", "version"):
            continue
        if not param.envvar:
            flag = max(param.opts, key=len).lstrip("-").upper().replace("-", "_")
            param.envvar = "_".join(("CRM_MASKER", *path, flag))
        param.show_envvar = True
    for name, sub in getattr(command, "commands", {}).items():
        _envvars(sub, (*path, name.upper().replace("-", "_")))


def run_cli() -> None:
    """Entry point with error handling: known errors print a message, not a traceback."""
    _envvars(main)
    try:
        main(standalone_mode=True)
    except RuleSetInvalid as exc:
        for problem in exc.problems:
            click.secho(str(problem), fg="red", err=True)
        fail(str(exc), 1)
    except CrmMaskerError as exc:
        fail(str(exc))


if __name__ == "__main__":
    run_cli()
