"""The command line: parse options, call into the package, map errors to exit codes.

Every option can also be given as an environment variable ``CRM_MASKER_<OPTION>``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

import click

from processor import __version__
from processor.errors import CrmMaskerError, KeyFileError, RuleSetInvalid
from processor.keys import KeyRing, load_keys

RULES_OPTION = click.option(
    "--rules", "rules_dir", type=click.Path(exists=True, path_type=Path), default=Path("rules"),
    show_default=True, envvar="CRM_MASKER_RULES",
    help="Rule directory (every *.yaml in it) or a single rule file.")
KEYS_OPTION = click.option(
    "--keys", "keys_file", type=click.Path(path_type=Path), default=None,
    envvar="CRM_MASKER_KEYS_FILE",
    help="Pseudonym key file (YAML: keys: {KEY_ID: SECRET}). Default: $CRM_MASKER_KEYS.")
DEMO_KEYS_OPTION = click.option(
    "--allow-demo-keys", is_flag=True, default=False, envvar="CRM_MASKER_ALLOW_DEMO_KEYS",
    help="Accept a key file marked `demo: true` (for demos and tests only).")


def fail(message: str, code: int = 2) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def keyring(keys_file: Path | None, allow_demo: bool) -> KeyRing:
    keys = load_keys(keys_file)
    if keys.demo and not allow_demo:
        raise KeyFileError(
            f"{keys.source} is a demo key file (demo: true); its secret is public. Use your own "
            "key file, or pass --allow-demo-keys for demos and tests")
    return keys


@click.group(context_settings={"help_option_names": ["-h", "--help"],
                               "show_default": True})
@click.version_option(__version__, prog_name="crm-masker")
def main() -> None:
    """crm-masker: GDPR masking of CRM change events (Debezium on Kafka) for real-time BI."""


@main.command()
@click.argument("rules_dir", type=click.Path(path_type=Path), default=Path("rules"))
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate(rules_dir: Path, strict: bool) -> None:
    """Check the rule set in RULES_DIR; exit 1 with every problem as file:line.

    The processor refuses to start on a rule set that this command rejects.
    """
    from processor.rules import validate as validate_rules

    validated, problems = validate_rules(rules_dir)
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
@KEYS_OPTION
@DEMO_KEYS_OPTION
@click.option("--input", "input_file", type=click.File("rb"), default="-", show_default=True,
              help="JSON lines {topic, key, value}; - for stdin.")
@click.option("--output", "output_file", type=click.File("wb"), default="-", show_default=True,
              help="Where masked JSON lines go; - for stdout.")
def mask(rules_dir: Path, keys_file: Path | None, allow_demo_keys: bool,
         input_file: BinaryIO, output_file: BinaryIO) -> None:
    """Mask JSON lines offline, exactly as `run` would mask them on Kafka.

    Reads {"topic": ..., "key": ..., "value": ...} per line (value: a Debezium envelope) and
    writes one such line per output record; records that cannot be processed go to the DLQ
    topic with the reason and the input line number. A summary goes to stderr.
    """
    from processor.masking.engine import MaskingEngine
    from processor.offline import Summary, dumps_line, mask_lines
    from processor.rules import load_validated
    from processor.rules.compiler import compile_rules

    engine = MaskingEngine(compile_rules(load_validated(rules_dir),
                                         keyring(keys_file, allow_demo_keys)))
    summary = Summary()
    for record in mask_lines(engine, input_file, summary):
        output_file.write(dumps_line(record))
    click.echo(summary.render(), err=True)


def run_cli() -> None:
    """Entry point with error handling: known errors print a message, not a traceback."""
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
