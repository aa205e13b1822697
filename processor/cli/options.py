"""Options and helpers that several commands share (processor/cli.py, the subject commands)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from processor.errors import KeyFileError
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
    help="Accept the public demo keys (deploy/keys/demo-keys.yaml, or any file marked "
         "`demo: true`): for demos and tests only.")


def fail(message: str, code: int = 2) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def keyring(keys_file: Path | None, allow_demo: bool) -> KeyRing:
    keys = load_keys(keys_file)
    if keys.demo and not allow_demo:
        raise KeyFileError(
            f"{keys.source or '$CRM_MASKER_KEYS'} holds a demo key; its secret is public. Make "
            "a key file of your own with `crm-masker keys new --output FILE`, or pass "
            "--allow-demo-keys for demos and tests")
    return keys


BOOTSTRAP_OPTION = click.option(
    "--bootstrap-servers", "bootstrap", envvar="CRM_MASKER_BOOTSTRAP_SERVERS", required=True,
    help="Kafka bootstrap servers, HOST:PORT[,HOST:PORT].")
REGISTRY_URL_OPTION = click.option(
    "--schema-registry-url", envvar="CRM_MASKER_SCHEMA_REGISTRY_URL", default=None,
    help="Confluent-compatible schema registry for Avro records (Apicurio: .../apis/ccompat/v7); "
         "mock://NAME is the client's in-memory registry, for one process only.")
REGISTRY_OPTION = click.option(
    "--schema-registry-option", "registry_options", multiple=True, metavar="KEY=VALUE",
    help="Schema registry client setting (basic.auth.user.info, ssl.ca.location, "
         "ssl.certificate.location, ssl.key.location …); repeatable.")
KAFKA_OPTION = click.option(
    "--kafka-option", "kafka_options", multiple=True, metavar="KEY=VALUE",
    help="Extra librdkafka setting (security.protocol, sasl.*, ssl.* …); repeatable. Also "
         "from CRM_MASKER_KAFKA_<KEY> variables, e.g. CRM_MASKER_KAFKA_SECURITY_PROTOCOL.")
KEK_OPTION = click.option(
    "--kek-file", type=click.Path(path_type=Path), default=None, envvar="CRM_MASKER_KEK_FILE",
    help="Key-encryption keys of `encrypt` (YAML like --keys; the last key wraps new data "
         "keys). A separate file: whoever holds it can reveal encrypted values.")


def kek_ring(kek_file: Path | None, allow_demo: bool,
             required: str | None = None) -> KeyRing | None:
    """The KEK file's keys (None without a file); ``required``: why one is needed."""
    if kek_file is None:
        if required:
            raise KeyFileError(f"{required} needs the KEK file (--kek-file or "
                               "CRM_MASKER_KEK_FILE), which the security team holds")
        return None
    ring = load_keys(kek_file)
    if ring.demo and not allow_demo:
        raise KeyFileError(f"{kek_file} holds a demo KEK; its secret is public. Make one of "
                           "your own with `crm-masker keys new --output FILE`, or pass "
                           "--allow-demo-keys for demos and tests")
    return ring
