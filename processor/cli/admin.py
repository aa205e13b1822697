"""The commands around the broker: acls, generate (synthetic CRM events), scan."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import BinaryIO, TextIO

import click

from processor.cli.options import (
    BOOTSTRAP_OPTION,
    KAFKA_OPTION,
    REGISTRY_OPTION,
    REGISTRY_URL_OPTION,
    RULES_OPTION,
    fail,
)
from processor.generator import SCENARIOS


@click.command(short_help="Least-privilege Kafka ACLs from the rules: print, apply, check.")
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


@click.command()
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
@click.option("--scenario", type=click.Choice(SCENARIOS), default="crm",
              help="crm: changes on every table; access-days: users plus two days of access-log "
                   "traffic with injected incidents (mass export, deactivated account, night "
                   "export, slow ramp, Art. 9 export) for anomaly detection; --events is ignored.")
@click.option("--crm-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Spread the changes over this many days of the CRM's own time (its "
                   "timestamps), instead of about 50 ms apart: day-long KPI windows then "
                   "close and are released within one run (the demo uses 3).")
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
             scenario: str, crm_days: float | None, ground_truth: TextIO | None,
             output_file: BinaryIO | None,
             postgres_url: str | None, fmt: str, schema_registry_url: str | None,
             registry_options: tuple[str, ...]) -> None:
    """Produce synthetic CRM change events (Debezium, every table of the reference model).

    Realistic German data with valid IBANs and tax ids, free-text notes full of personal data,
    Debezium's date/timestamp/decimal encodings; creates, updates, deletes with tombstones.
    """
    import json

    from processor.generator.scenarios import generated
    from processor.generator.sink import write_events
    from processor.generator.stream import CrmStream, mean_gap_ms

    if postgres_url is not None:
        if bootstrap or output_file or fmt != "json" or with_schema or scenario != "crm":
            fail("--postgres writes SQL only: Debezium makes the events (its converter decides "
                 "JSON, schemas or Avro); leave out --bootstrap-servers, --output, --format, "
                 "--with-schema and --scenario")
        from processor.generator.postgres import continue_ids, write_sql

        stream = CrmStream(seed=seed, users=users, mean_gap_ms=mean_gap_ms(count, crm_days, users))
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
        from processor.avro.schema_registry import SchemaRegistry, client_from_options
        from processor.generator.avro_source import AvroSourceEncoder

        assert schema_registry_url is not None
        avro = AvroSourceEncoder(SchemaRegistry(client_from_options(schema_registry_url,
                                                                    registry_options)))
    made = generated(scenario, count, seed, users, with_schema, topic_prefix,
                     mean_gap_ms(count, crm_days, users))
    written = write_events(made.records, made.count, bootstrap=bootstrap,
                           kafka_options=kafka_options, output=output_file, rate=rate,
                           partitions=partitions, topic_prefix=topic_prefix, avro=avro)
    if ground_truth is not None and made.ground_truth is not None:
        json.dump(made.ground_truth, ground_truth, indent=2)
    click.echo(f"generated {written} records (seed {seed})", err=True)


@click.command()
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
