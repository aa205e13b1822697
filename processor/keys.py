"""Pseudonym keys: loaded from a file or the environment, identified by key id, never logged.

The file is YAML or JSON::

    keys:
      k2026a: "base64:3q2+7w..."     # or "hex:...", or a plain string of >= 32 characters
    demo: false                      # true marks a demo key file that `run` refuses by default;
                                     # a public secret (the shipped demo keys) is one anyway
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from processor.errors import KeyFileError, PoisonEvent
from processor.safe_yaml import YamlRefused, load_bounded

MIN_SECRET_BYTES = 32
ENV_KEYS = "CRM_MASKER_KEYS"
MAX_KEY_FILE_CHARS = 65_536
#: SHA-256 of the secrets that are public (deploy/keys/demo-keys.yaml): such a key is a demo
#: key whatever its file says, since anyone can recompute its pseudonyms
PUBLIC_SECRET_SHA256 = frozenset({
    "f12b8db573f4c72ab7a16b7930122569d9f89c6ad252423722fd7f9f2f605aa7",
    "f816520b24c3154d6ada89b00590d5ed432ab4655811f67f60bb63b510be8c22",
    "7d506f79dca288b49f72389fae3206ebb0d81195084ed40f6d436e85b9cb7adf",  # demo-kek.yaml
})


#: what derives a pseudonym domain's key from a key file's secret
DERIVATION_LABEL = b"crm-masker/pseudonym/v1/"
INT64_LIMIT = 2.0**63


def domain_key(secret: bytes, domain: str) -> bytes:
    """A per-domain key, so that equal values in different domains give unrelated pseudonyms."""
    return hmac.digest(secret, DERIVATION_LABEL + domain.encode(), "sha256")


def canonical_bytes(value: Any) -> bytes:
    """The bytes that are hashed: ids as int or as string hash alike (``7`` == ``"7"``)."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float) and abs(value) >= INT64_LIMIT:
        # JSON decoders read integers beyond 64 bits as floats: two ids would share a pseudonym
        raise PoisonEvent("number_out_of_range", "an identifier beyond 64 bits")
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def is_public(secret: bytes) -> bool:
    return hashlib.sha256(secret).hexdigest() in PUBLIC_SECRET_SHA256


@dataclass(frozen=True)
class KeyRing:
    """Secrets by key id. ``repr`` shows only the ids."""

    secrets: dict[str, bytes] = field(repr=False)
    demo: bool = False
    source: str = ""

    def secret(self, key_id: str) -> bytes:
        try:
            return self.secrets[key_id]
        except KeyError:
            raise KeyFileError(
                f"the key file {self.source or '(environment)'} has no key id {key_id!r}; "
                f"it has: {', '.join(self.key_ids) or 'none'}"
            ) from None

    @property
    def key_ids(self) -> list[str]:
        return sorted(self.secrets)


def _decode_secret(key_id: str, text: object, source: str) -> bytes:
    if not isinstance(text, str):
        raise KeyFileError(f"{source}: key {key_id!r} must be a string")
    try:
        if text.startswith("base64:"):
            secret = base64.b64decode(text[7:], validate=True)
        elif text.startswith("hex:"):
            secret = bytes.fromhex(text[4:])
        else:
            secret = text.encode()
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{source}: key {key_id!r} is not valid base64/hex") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise KeyFileError(
            f"{source}: key {key_id!r} is shorter than {MIN_SECRET_BYTES} bytes; "
            "make a key file with `crm-masker keys new --output FILE`")
    return secret


def parse_keys(text: str, source: str) -> KeyRing:
    if len(text) > MAX_KEY_FILE_CHARS:
        raise KeyFileError(f"{source}: over {MAX_KEY_FILE_CHARS // 1024} KiB; not a key file")
    try:
        _, data, duplicates = load_bounded(text)
    except YamlRefused as exc:
        raise KeyFileError(f"{source}: {exc.message}") from None
    except yaml.YAMLError:
        raise KeyFileError(f"{source}: not valid YAML/JSON") from None
    if duplicates:
        name, first, second = duplicates[0]
        raise KeyFileError(f"{source}: {name!r} is defined twice (lines {first} and {second})")
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict) or not data["keys"]:
        raise KeyFileError(f"{source}: expected a mapping with a non-empty `keys:` section")
    secrets = {str(k): _decode_secret(str(k), v, source) for k, v in data["keys"].items()}
    demo = data.get("demo", False) is True or any(map(is_public, secrets.values()))
    return KeyRing(secrets=secrets, demo=demo, source=source)


def load_keys(path: str | Path | None) -> KeyRing:
    """Read keys from ``path``, else from ``$CRM_MASKER_KEYS`` (the same YAML/JSON text)."""
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc.strerror}; make one with "
                               "`crm-masker keys new --output FILE` (docker compose: `make "
                               "compose-secrets`)") from None
        except UnicodeDecodeError:
            raise KeyFileError(f"key file {path} is not UTF-8 text (YAML or JSON)") from None
        return parse_keys(text, str(path))
    env = os.environ.get(ENV_KEYS)
    if env:
        return parse_keys(env, f"${ENV_KEYS}")
    raise KeyFileError(
        f"no pseudonym keys: pass --keys FILE (or CRM_MASKER_KEYS_FILE) or set ${ENV_KEYS}; "
        "make a key file with `crm-masker keys new --output FILE`")


def new_key_id(existing: list[str]) -> str:
    """``k`` + the year + a letter: k2026a, then k2026b … (as the rules' key ids read)."""
    import datetime as dt
    import string

    year = dt.date.today().year
    for letter in string.ascii_lowercase:
        if f"k{year}{letter}" not in existing:
            return f"k{year}{letter}"
    raise KeyFileError(f"26 key ids of {year} are taken; give one with --key-id")


def write_new_key(path: Path, key_id: str | None = None, add: bool = False) -> str:
    """A fresh random key (32 bytes from the OS) in ``path``, readable by its owner only;
    ``add``: into an existing key file (rotation), else a new file. Returns the key id."""
    import secrets

    ring = load_keys(path) if add else None
    if ring is not None and ring.demo:
        raise KeyFileError(f"{path} holds a public demo key: start a key file of your own")
    existing = ring.key_ids if ring is not None else []
    key_id = key_id or new_key_id(existing)
    if key_id in existing:
        raise KeyFileError(f"{path} has a key {key_id!r} already; a key id names one secret")
    if not key_id.replace("-", "").replace("_", "").isalnum():
        raise KeyFileError(f"key id {key_id!r}: letters, digits, - and _ only")
    encoded = "base64:" + base64.b64encode(secrets.token_bytes(MIN_SECRET_BYTES)).decode()
    lines = ["# crm-masker pseudonym keys: keep this file secret and backed up; a lost key makes",
             "# the pseudonyms under it unmatchable, a leaked one makes them reversible by",
             "# guessing. `pseudonym_key_id` in the rules picks the key that masks.", "keys:"]
    lines += [f'  {k}: "{_encode(ring.secrets[k])}"' for k in existing] if ring else []
    lines.append(f'  {key_id}: "{encoded}"')
    text = "\n".join(lines) + "\n"
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if add else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} exists; add a key to it with --add, or choose another "
                           "file") from None
    except OSError as exc:
        raise KeyFileError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
    return key_id


def _encode(secret: bytes) -> str:
    return "base64:" + base64.b64encode(secret).decode()
