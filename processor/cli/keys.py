"""Key files: pseudonym keys (keys new) and the KEK of encrypt (keys rotate)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
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
