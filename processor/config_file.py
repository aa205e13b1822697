"""``--config FILE``: every command's options from one YAML file, below flags and env vars.

The file becomes click's ``default_map``, so click's own precedence holds: a flag beats its
environment variable, which beats the file, which beats the built-in default. Layout::

    bootstrap-servers: kafka:9092      # any command that takes --bootstrap-servers
    kafka-option: {security.protocol: SASL_SSL}
    log-format: json                   # an option of crm-masker itself
    run:                               # only for `crm-masker run`
      workers: 2
    audit:
      verify: {topic: crm.audit}

Keys are the long flags without ``--`` (``bootstrap-servers``; ``bootstrap_servers`` too).
Relative paths are taken from the file's directory, as docker compose does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from processor.errors import closest
from processor.safe_yaml import YamlRefused, load_bounded

MAX_BYTES = 1 << 20


class ConfigFileProblem(click.BadParameter):
    """One line: the file, the line, what is wrong and what was probably meant."""


def option_key(option: click.Option) -> str:
    """The key of an option in the file: its longest flag without dashes."""
    return max(option.opts, key=len).lstrip("-")


def _options(command: click.Command) -> dict[str, click.Option]:
    return {option_key(p): p for p in command.params
            if isinstance(p, click.Option) and p.name not in ("help", "version", "config")}


def _shared_options(group: click.Group) -> set[str]:
    """Option keys that some command below the group takes (a top-level key sets them all)."""
    keys: set[str] = set()
    for sub in group.commands.values():
        keys |= set(_options(sub))
        if isinstance(sub, click.Group):
            keys |= _shared_options(sub)
    return keys


def _value(option: click.Option, value: Any, base: Path, where: str) -> Any:
    """The YAML value as click expects it for the option (a list for repeatable options; a
    mapping for KEY=VALUE options; paths relative to the file)."""
    if value is None:
        return None
    if option.multiple:
        if isinstance(value, dict):
            value = [f"{k}={v}" for k, v in value.items()]
        elif not isinstance(value, list):
            value = [value]
        return [_scalar(option, v, base, where) for v in value]
    return _scalar(option, value, base, where)


def _scalar(option: click.Option, value: Any, base: Path, where: str) -> Any:
    if isinstance(value, (dict, list)):
        raise ConfigFileProblem(f"{where}: {option_key(option)} takes one value, not a "
                                f"{'mapping' if isinstance(value, dict) else 'list'}")
    if value is None:
        return None
    if isinstance(option.type, (click.Path, click.File)) and isinstance(value, str) \
            and value != "-" and not Path(value).is_absolute():
        return str(base / value)
    if isinstance(value, bool) and not option.is_flag and not option.is_bool_flag:
        return str(value).lower()
    return value if isinstance(value, (bool, int, float)) else str(value)


def _section(command: click.Command, node: yaml.MappingNode, data: dict[Any, Any],
             shared: dict[str, Any], base: Path, path: str) -> dict[str, Any]:
    """The default_map of one command: the shared options it takes, then its own section."""
    options = _options(command)
    data = {str(k): v for k, v in data.items()}
    out: dict[str, Any] = {}
    for key, value in shared.items():
        if key in options:
            out[options[key].name or key] = _value(options[key], value, base, path)
    subcommands = command.commands if isinstance(command, click.Group) else {}
    allowed = set(options) | set(subcommands)
    if isinstance(command, click.Group):
        allowed |= _shared_options(command)
    own_shared = dict(shared)
    for key_node, value_node in node.value:
        key = str(key_node.value).replace("_", "-")
        where = f"{path}:{key_node.start_mark.line + 1}"
        if key not in allowed:
            guess = closest(key, sorted(allowed))
            hint = f" (did you mean {guess}?)" if guess else ""
            scope = f"for {command.name}" if command.name != "main" else "here"
            raise ConfigFileProblem(f"{where}: unknown option or command {key!r} {scope}{hint}")
        value = data[key_node.value]
        if key in subcommands:
            if not isinstance(value_node, yaml.MappingNode):
                raise ConfigFileProblem(f"{where}: {key} is a command; give its options as a "
                                        "mapping")
            continue
        if key in options:
            out[options[key].name or key] = _value(options[key], value, base, where)
        else:  # an option of commands below this group
            own_shared[key] = value
    for key_node, value_node in node.value:
        key = str(key_node.value).replace("_", "-")
        if key in subcommands:
            out[key] = _section(subcommands[key], value_node, data[key_node.value], own_shared,
                                base, path)
    for name, sub in subcommands.items():
        out.setdefault(name, _section(sub, yaml.MappingNode("tag:yaml.org,2002:map", []), {},
                                      own_shared, base, path))
    return out


def load_default_map(path: Path, root: click.Group) -> dict[str, Any]:
    """The file as click's default_map for ``root``; ConfigFileProblem (one line) otherwise."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigFileProblem(f"{path}: larger than {MAX_BYTES >> 10} KiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileProblem(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    try:
        node, data, duplicates = load_bounded(text)
    except YamlRefused as exc:
        line = f":{exc.mark.line + 1}" if exc.mark else ""
        raise ConfigFileProblem(f"{path}{line}: {exc.message}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigFileProblem(f"{path}{line}: not YAML ({getattr(exc, 'problem', exc)})") \
            from None
    if duplicates:
        key, first, second = duplicates[0]
        raise ConfigFileProblem(f"{path}:{second}: {key!r} again (first on line {first})")
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        raise ConfigFileProblem(f"{path}: the file must be a mapping of options and commands")
    return _section(root, node, data, {}, path.resolve().parent, str(path))
