"""The data-subject commands: ``subject`` (Art. 15), ``reveal``, ``erase`` (Art. 17) and
``keys rotate``. Each request goes to the audit trail before its answer is shown."""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click
import orjson

from processor.cli.options import (
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

REASON_OPTION = click.option(
    "--reason", required=True,
    help="Why (the legal ground and the case: 'Art. 15 request of 2026-12-01, ticket 4711'); "
         "written to the audit trail with the requester.")
REQUESTER_OPTION = click.option(
    "--requester", default=None,
    help="Who asks (default: the Kafka SASL user name, else the operating-system user).")
ID_OPTION = click.option(
    "--id", "ids", multiple=True, metavar="DOMAIN=VALUE",
    help="The subject's identifier in a pseudonym domain of the rules: contact=4711, "
         "email=max@example.de; repeatable.")


def subject_request(command: Callable[..., None]) -> Callable[..., None]:
    """The options of a request about one subject: the rules, the pseudonym keys (its
    pseudonyms are computed), the broker and the subject's identifiers."""
    for option in reversed((RULES_OPTION, KEYS_OPTION, DEMO_KEYS_OPTION, BOOTSTRAP_OPTION,
                            KAFKA_OPTION, ID_OPTION)):
        command = option(command)
    return command


@click.command(short_help="What the views hold about one data subject (Art. 15 GDPR).")
@subject_request
@click.option("--email", "emails", multiple=True, help="Short for --id email=VALUE.")
@click.option("--topic", "topics", multiple=True,
              help="Read only these view topics (default: every view topic with a column "
                   "that pseudonymises a given domain).")
@REASON_OPTION
@REQUESTER_OPTION
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md",
              show_default=True)
@click.option("--output", "output_file", type=click.File("w", encoding="utf-8"), default="-")
@REGISTRY_URL_OPTION
@REGISTRY_OPTION
def subject(rules_dir: Path, keys_file: Path | None, allow_demo_keys: bool, bootstrap: str,
            kafka_options: tuple[str, ...], ids: tuple[str, ...], emails: tuple[str, ...],
            topics: tuple[str, ...], reason: str, requester: str | None, fmt: str,
            output_file: TextIO, schema_registry_url: str | None,
            registry_options: tuple[str, ...]) -> None:
    """Find every record of the views that holds data about one data subject.

    The identifiers become the subject's pseudonyms in every column that pseudonymises their
    domain (with every key id of the key file, so records masked before a key rotation are
    found too); the view topics are read (read_committed) and each record whose columns carry
    one counts. Prints, per topic, the records, the columns, whether the subject was deleted
    there, the data keys of its encrypted values and the latest masked record — as Markdown
    for the data-protection officer's answer, or JSON. The look-up itself (who, why, which
    pseudonyms, what was found) is written to the audit trail first; nothing raw is written.
    """
    from processor.kafka_options import client_options
    from processor.rules import load_validated
    from processor.subjects.lookup import look_up, parse_ids, render_markdown
    from processor.subjects.requests import Request, requester_of, write_request

    validated = load_validated(rules_dir)
    keys = keyring(keys_file, allow_demo_keys)
    extra = client_options(kafka_options)
    wanted = parse_ids(ids) + [("email", e) for e in emails]
    if not wanted:
        fail("name the subject: --id DOMAIN=VALUE (contact=4711) or --email ADDRESS")
    codec = None
    if schema_registry_url:
        from processor.avro.codec import RecordCodec
        from processor.avro.schema_registry import SchemaRegistry, client_from_options

        codec = RecordCodec(SchemaRegistry(client_from_options(schema_registry_url,
                                                               registry_options)))
    lookup = look_up(validated.rules, keys, wanted, bootstrap, extra, topics, codec)
    request = Request("subject_lookup", requester_of(requester, extra), reason, {
        "pseudonyms": lookup.searched,
        "found": {h.topic: h.records for h in lookup.held if h.records}})
    record = write_request(request, validated, bootstrap, extra)
    when = datetime.datetime.fromtimestamp(record["time"], datetime.UTC)
    about = {"requester": request.requester, "reason": reason,
             "time": when.isoformat(timespec="seconds"), "audit_seq": record["seq"]}
    if fmt == "json":
        output_file.write(orjson.dumps({"request": about, **lookup.as_json()},
                                       option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        output_file.write(render_markdown(lookup, about))
    found = sum(h.records for h in lookup.held)
    click.echo(f"{found} record(s) about the subject in {sum(1 for h in lookup.held if h.records)}"
               f" topic(s); the look-up is audit record {request.producer} #{record['seq']}",
               err=True)
    unreadable = sum(h.unreadable for h in lookup.held)
    if unreadable:
        click.secho(f"incomplete: {unreadable} record(s) could not be read (Avro views need "
                    "--schema-registry-url)", fg="red", err=True)
        sys.exit(1)


@click.command(short_help="Decrypt values of `encrypt` with the KEK file (audited).")
@RULES_OPTION
@KEK_OPTION
@DEMO_KEYS_OPTION
@BOOTSTRAP_OPTION
@KAFKA_OPTION
@click.argument("values", nargs=-1)
@click.option("--records", "records_file", type=click.File("rb"), default=None,
              help="JSON lines (view records, a warehouse export): every ciphertext in them is "
                   "replaced by its value; - for stdin.")
@REASON_OPTION
@REQUESTER_OPTION
def reveal(rules_dir: Path, kek_file: Path | None, allow_demo_keys: bool, bootstrap: str,
           kafka_options: tuple[str, ...], values: tuple[str, ...], records_file: Any,
           reason: str, requester: str | None) -> None:
    """Reveal encrypted values (enc:…) for a lawful purpose: a fraud case, the customer's own
    request, the security team following an alert.

    Needs the KEK file, which the security team holds (not the processor's pseudonym keys),
    and reads the wrapped data keys from the key topic. A value whose subject was erased
    cannot be revealed: its data key is shredded. The reveal (who, why, which data keys, how
    many values) is written to the audit trail before any value is printed. Exit 1 when a
    value could not be revealed.
    """
    from processor.datakeys import Ciphertext, KeyTopicView, RevealError, replace_ciphertexts
    from processor.kafka_options import client_options
    from processor.pipeline.key_topic import read_key_records
    from processor.rules import load_validated
    from processor.subjects.requests import Request, requester_of, write_request

    keks = kek_ring(kek_file, allow_demo_keys, required="reveal")
    assert keks is not None
    if not values and records_file is None:
        fail("give ciphertexts (enc:…) as arguments, or --records FILE")
    validated = load_validated(rules_dir)
    extra = client_options(kafka_options)
    records = _json_lines(records_file) if records_file is not None else []
    texts = list(values)
    for record in records:  # every ciphertext in them, found as reveal will replace them
        replace_ciphertexts(record, texts.append)
    data_keys = set()
    for text in texts:
        try:
            data_keys.add(Ciphertext.parse(text).data_key_id)
        except RevealError as exc:
            fail(str(exc))
    view = KeyTopicView(read_key_records(bootstrap, validated.rules.data_keys.topic, extra))
    request = Request("reveal", requester_of(requester, extra), reason, {
        "data_keys": sorted(data_keys), "values": len(texts)})
    write_request(request, validated, bootstrap, extra)
    failed = 0

    def opened(text: str) -> Any:
        nonlocal failed
        try:
            return view.reveal(keks, text)
        except RevealError as exc:
            failed += 1
            click.secho(f"cannot reveal: {exc}", fg="red", err=True)
            return None

    for text in values:
        click.echo(orjson.dumps({"ciphertext": text, "value": opened(text)}).decode())
    for record in records:
        click.echo(orjson.dumps(replace_ciphertexts(record, opened)).decode())
    if failed:
        sys.exit(1)


def _json_lines(lines: Any) -> list[Any]:
    """The JSON lines of ``--records``; a line that is not JSON is one line of error (its
    number, never its text: it may hold personal data)."""
    records = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                fail(f"--records: line {number} is not JSON")
    return records


@click.command(short_help="Shred a data subject's data keys (Art. 17 outside the CRM).")
@subject_request
@REASON_OPTION
@REQUESTER_OPTION
def erase(rules_dir: Path, keys_file: Path | None, allow_demo_keys: bool, bootstrap: str,
          kafka_options: tuple[str, ...], ids: tuple[str, ...], reason: str,
          requester: str | None) -> None:
    """Crypto-shred a data subject: tombstone its data keys on the key topic, so that every
    value ever encrypted for it — in the views, a warehouse, an export, a backup — can no
    longer be revealed.

    For an erasure request that arrives outside the CRM (the CRM's own delete of the
    subject's row does the same in the processor). The subject is named as for `subject`
    (contact=4711), with the pseudonym key file: its data keys are named by its pseudonyms
    under every key id. The tombstones are compacted away within `data_keys.shred_within`.
    """
    from processor.datakeys import subject_key_ids
    from processor.kafka_options import client_options
    from processor.pipeline.key_topic import write_key_records
    from processor.rules import load_validated
    from processor.subjects.lookup import parse_ids
    from processor.subjects.requests import Request, requester_of, write_request

    validated = load_validated(rules_dir)
    keys = keyring(keys_file, allow_demo_keys)
    extra = client_options(kafka_options)
    subject_domains = {t.subject_domain for t in validated.rules.tables.values()} - {None}
    shredded = []
    if not ids:
        fail("name the subject: --id DOMAIN=VALUE, e.g. contact=4711")
    for domain, value in parse_ids(ids):
        if domain not in subject_domains:
            fail(f"{domain} is not a subject domain of the rules (tables' `subject:` columns "
                 f"are pseudonymised in: {', '.join(sorted(map(str, subject_domains)))})")
        shredded += subject_key_ids(keys, domain, value)
    request = Request("erase", requester_of(requester, extra), reason,
                      {"shredded": shredded})
    write_request(request, validated, bootstrap, extra)
    write_key_records(bootstrap, validated.rules.data_keys.topic, extra,
                      [(key_id, None) for key_id in shredded])
    for key_id in shredded:
        click.echo(f"shredded {key_id}")
    click.echo(f"{len(shredded)} data key(s) tombstoned on {validated.rules.data_keys.topic}; "
               f"gone after compaction, within {validated.rules.data_keys.shred_within}",
               err=True)


@click.command("rotate", short_help="A new KEK; re-wrap every data key under it.")
@RULES_OPTION
@KEK_OPTION
@DEMO_KEYS_OPTION
@BOOTSTRAP_OPTION
@KAFKA_OPTION
@click.option("--key-id", default=None, help="Id of the new KEK (default: the next free one).")
def rotate(rules_dir: Path, kek_file: Path | None, allow_demo_keys: bool, bootstrap: str,
           kafka_options: tuple[str, ...], key_id: str | None) -> None:
    """Add a new key-encryption key to the KEK file and re-wrap every live data key of the
    key topic with it; published ciphertexts do not change.

    The new KEK wraps the processor's new data keys once it restarts with the file. Run
    rotate again after that restart (it re-wraps what was made in between); then the old
    KEK can leave the file.
    """
    from processor.datakeys import KeyTopicView, WrappedKey, kek_of
    from processor.kafka_options import client_options
    from processor.keys import write_new_key
    from processor.pipeline.key_topic import read_key_records, write_key_records
    from processor.rules import load_validated

    kek_ring(kek_file, allow_demo_keys, required="keys rotate")
    assert kek_file is not None
    validated = load_validated(rules_dir)
    extra = client_options(kafka_options)
    topic = validated.rules.data_keys.topic
    view = KeyTopicView(read_key_records(bootstrap, topic, extra))
    new_id = write_new_key(kek_file, key_id, add=True)
    keks = kek_ring(kek_file, allow_demo_keys)
    assert keks is not None
    wrapping_key = kek_of(keks, new_id)
    rewrapped: list[tuple[str, WrappedKey | None]] = [
        (data_key, WrappedKey.wrap(new_id, wrapping_key, wrapped.unwrap(keks, where)))
        for data_key, (where, wrapped) in sorted(view.live.items())]
    write_key_records(bootstrap, topic, extra, rewrapped)
    click.echo(f"{kek_file}: new KEK {new_id}; {len(rewrapped)} data key(s) re-wrapped on "
               f"{topic}. Restart the processor with the file, then run rotate once more "
               "before the old KEK leaves it.")
