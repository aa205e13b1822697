"""The audit trail: verify its chains, list the erasures (Art. 17)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from processor.cli.options import (
    BOOTSTRAP_OPTION,
    KAFKA_OPTION,
    RULES_OPTION,
    fail,
)


@click.group()
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

    from processor.governance.audit import erasures
    from processor.kafka_options import client_options
    from processor.pipeline.topic_reader import read_all

    name = _audit_topic(rules_dir, topic)
    found = keys_shredded = 0
    records = (record for _, record in read_all(bootstrap, name, client_options(kafka_options)))
    for line in erasures(records, pseudonym):
        if "shredded" in line:
            keys_shredded += 1
        else:
            found += 1
        click.echo(orjson.dumps(line).decode())
    click.echo(f"{found} propagated delete(s), {keys_shredded} data key(s) shredded", err=True)
