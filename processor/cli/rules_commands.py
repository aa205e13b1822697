"""The commands that read the rules alone: validate, schemas, report."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import TextIO

import click

from processor.cli.options import (
    KAFKA_OPTION,
    RULES_OPTION,
    fail,
)


@click.command()
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


@click.command()
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
    from processor.avro.compat import derived_schemas, recorded_path, stale, write_recorded
    from processor.generator.avro_source import write_schema_files
    from processor.rules import load_validated

    if reference_crm and not check:
        for path in write_schema_files(schemas_dir):
            click.echo(f"source   {path}")
    derived = derived_schemas(load_validated(rules_dir), schemas_dir)
    if not derived:
        fail(f"no <table>-value.avsc / <table>-key.avsc in {schemas_dir} for the rules' tables")
    if check:
        differ = stale(derived, schemas_dir)
        for subject in differ:
            click.secho(f"differs  {recorded_path(schemas_dir, subject)}", fg="red", err=True)
        click.echo(f"{len(derived) - len(differ)} of {len(derived)} masked schemas as recorded")
        sys.exit(1 if differ else 0)
    for path in write_recorded(derived, schemas_dir):
        click.echo(f"masked   {path}")


@click.command(short_help="The record of processing activities (Art. 30 GDPR).")
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
