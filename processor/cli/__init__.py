"""The command line: parse options, call into the package, map errors to exit codes.

Every option can also be given as an environment variable (named in ``--help``) or in the
``--config`` file; the precedence is flag > environment > file > default.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from processor import __version__
from processor.cli.options import fail
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


def _add_commands() -> None:
    from processor.cli import admin, audit, dashboard, keys, rules_commands, stream, subjects

    for module, names in ((rules_commands, ("validate", "schemas", "report")),
                          (stream, ("mask", "run", "topics")),
                          (admin, ("acls", "generate", "scan")),
                          (keys, ("keys",)), (audit, ("audit",)),
                          (subjects, ("subject", "reveal", "erase")),
                          (dashboard, ("dashboard",))):
        for name in names:
            main.add_command(getattr(module, name))
    keys.keys.add_command(subjects.rotate)


_add_commands()


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
