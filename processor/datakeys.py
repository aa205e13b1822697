"""Per-subject data keys: encrypt reversibly under a key that one erasure destroys.

Each data subject (a contact, an employee) gets a random 512-bit data key on first use; the
``encrypt`` action seals values with AES-SIV under it (deterministic: equal values of one
subject give equal ciphertexts, so joins and compaction work). The data key is kept on Kafka,
wrapped (AES key wrap, RFC 3394) with a key-encryption key (KEK) from a separate key file, in a
compacted topic written in the same transaction as the first ciphertext under it. The
subject's erasure tombstones the data key: from then on every copy of its ciphertexts, in a
warehouse or a backup, is unreadable (crypto-shredding).

A data key is named by its subject: ``<domain>/<the subject's pseudonym>`` (the pseudonym that
the views already show), and a ciphertext names its data key:
``enc:<field domain>:<data key id>:<AES-SIV output, base64url>``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from processor.errors import CrmMaskerError, KeyFileError
from processor.keys import KeyRing, canonical_bytes, domain_key

PREFIX = "enc:"
#: a ciphertext as ``seal`` writes it: its hex and base64 look like anything (a phone number)
#: to a detector, and are personal data only to the holder of the KEK
CIPHERTEXT = re.compile(r"^enc:[^:/]+:[^:/]+/[\w.-]+:[0-9a-f]+:[A-Za-z0-9_-]+$")
DATA_KEY_BYTES = 64  # AES-256-SIV
KEK_LABEL = b"crm-masker/kek/v1"
PSEUDONYM_HEX = 32  # the subject part of a data key id: as long as a default pseudonym


class RevealError(CrmMaskerError):
    """A value cannot be revealed: not a ciphertext, its key is shredded or unknown."""


def kek_of(ring: KeyRing, kek_id: str) -> bytes:
    """The 256-bit wrapping key of the KEK ``kek_id`` (derived: the file may hold any secret
    of 32 bytes or more)."""
    return hmac.digest(ring.secret(kek_id), KEK_LABEL, "sha256")


def active_kek_id(ring: KeyRing) -> str:
    """The KEK that wraps new data keys: the last one in the file (``keys rotate`` appends)."""
    return list(ring.secrets)[-1]


def subject_pseudonym(secret: bytes, key_id: str, domain: str, subject: Any,
                      derived: bytes | None = None) -> str:
    """The subject's pseudonym as ``pseudonymize`` writes it for ``domain`` (no normaliser,
    the default length): the views' subject column shows the same text. ``derived``: the
    domain's key, when the caller keeps it."""
    key = derived or domain_key(secret, domain)
    digest = hmac.digest(key, canonical_bytes(subject), "sha256")
    return f"{key_id}:{digest.hex()[:PSEUDONYM_HEX]}"


def data_key_id(domain: str, pseudonym: str) -> str:
    return f"{domain}/{pseudonym}"


def subject_key_ids(keys: KeyRing, domain: str, subject: Any) -> list[str]:
    """The ids that the subject's data keys can have: one per pseudonym key id (a key made
    before a rotation is named by the older pseudonym). An erasure tombstones them all."""
    return [data_key_id(domain, subject_pseudonym(keys.secret(key_id), key_id, domain, subject))
            for key_id in keys.key_ids]


@dataclass(frozen=True)
class Ciphertext:
    """A published ciphertext, taken apart."""

    field_domain: str
    data_key_id: str
    sealed: bytes

    @classmethod
    def parse(cls, text: str) -> Ciphertext:
        if not text.startswith(PREFIX) or text.count(":") < 4:
            raise RevealError("not a crm-masker ciphertext (enc:<domain>:<key id>:<data>)")
        field_domain, rest = text[len(PREFIX):].split(":", 1)
        key_id, data = rest.rsplit(":", 1)
        try:
            sealed = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            raise RevealError(f"the data of a ciphertext under {key_id} is not base64") from None
        return cls(field_domain, key_id, sealed)


def replace_ciphertexts(obj: Any, opened: Callable[[str], Any]) -> Any:
    """``obj`` with each ciphertext (a string ``enc:…``) replaced by ``opened(text)``."""
    if isinstance(obj, str):
        return opened(obj) if obj.startswith("enc:") else obj
    if isinstance(obj, dict):
        return {k: replace_ciphertexts(v, opened) for k, v in obj.items()}
    if isinstance(obj, list):
        return [replace_ciphertexts(v, opened) for v in obj]
    return obj


@lru_cache(maxsize=4096)
def _cipher(data_key: bytes) -> AESSIV:
    """The cipher of a data key: the store keeps the keys' bytes (64 each; a cipher object
    holds ~2 KB, too much for a CRM's million subjects), the recent subjects' ciphers are
    kept here."""
    return AESSIV(data_key)


def seal(data_key: bytes, field_domain: str, key_id: str, value: Any) -> str:
    """``value`` (any JSON value) encrypted, as its published text. The native core writes
    the same text for texts (``native/src/seal.rs``)."""
    sealed = _cipher(data_key).encrypt(orjson.dumps(value), [field_domain.encode()])
    return (f"{PREFIX}{field_domain}:{key_id}:"
            + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode())


def open_sealed(data_key: bytes, text: Ciphertext) -> Any:
    try:
        return orjson.loads(_cipher(data_key).decrypt(text.sealed,
                                                      [text.field_domain.encode()]))
    except InvalidTag:
        raise RevealError(f"a ciphertext under {text.data_key_id} does not open with its key "
                          "(altered, or made under another key)") from None


@dataclass(frozen=True)
class WrappedKey:
    """A data key as the key topic holds it."""

    kek_id: str
    wrapped: bytes
    created_ms: int

    def to_json(self) -> bytes:
        return orjson.dumps({"kek": self.kek_id, "wrapped": base64.b64encode(self.wrapped
                                                                             ).decode(),
                             "created_ms": self.created_ms})

    @classmethod
    def from_json(cls, where: str, value: bytes) -> WrappedKey:
        try:
            record = orjson.loads(value)
            return cls(str(record["kek"]), base64.b64decode(record["wrapped"]),
                       int(record.get("created_ms", 0)))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error):
            raise CrmMaskerError(f"{where}: not a data key record") from None

    def unwrap(self, keks: KeyRing, where: str) -> bytes:
        if self.kek_id not in keks.secrets:
            raise KeyFileError(f"{where}: the data key is wrapped with KEK {self.kek_id!r}, "
                               f"which {keks.source or 'the KEK file'} does not hold")
        try:
            return aes_key_unwrap(kek_of(keks, self.kek_id), self.wrapped)
        except InvalidUnwrap:
            raise KeyFileError(f"{where}: KEK {self.kek_id!r} of {keks.source or 'the KEK file'}"
                               " does not unwrap the data key (another secret under that id?)"
                               ) from None

    @classmethod
    def wrap(cls, kek_id: str, wrapping_key: bytes, data_key: bytes) -> WrappedKey:
        """``data_key`` wrapped with the KEK ``kek_id``, whose derived key (``kek_of``) is
        ``wrapping_key``."""
        return cls(kek_id, aes_key_wrap(wrapping_key, data_key), int(time.time() * 1000))


#: a key-topic record: (data key id, the wrapped key or None for a tombstone)
KeyRecord = tuple[str, WrappedKey | None]


class DataKeyStore:
    """The processor's data keys: what the key topic holds, plus this transaction's new keys
    and shreddings, which go out with its records (``pending``) and count only at commit.

    A key is shredded at the commit of the transaction that erases its subject: a value of the
    subject that the same transaction encrypts after the erasure goes with the key."""

    def __init__(self, topic: str, keks: KeyRing, pseudonym_keys: KeyRing,
                 pseudonym_key_id: str) -> None:
        self.topic = topic
        self._keks = keks
        self._kek_id = active_kek_id(keks)
        self._wrapping_key = kek_of(keks, self._kek_id)
        self._pseudonym_keys = pseudonym_keys
        self._pseudonym_key_id = pseudonym_key_id
        self._keys: dict[str, bytes] = {}  # committed, by data key id
        self._new: dict[str, tuple[bytes, WrappedKey]] = {}  # made in this transaction
        self._shredding: dict[str, None] = {}  # tombstoned in this transaction (ordered)
        self._ids: dict[tuple[str, Any], str] = {}  # (domain, subject) → data key id
        self._domain_keys: dict[str, bytes] = {}  # domain → its key under the active key id

    def __len__(self) -> int:
        return len(self._keys)

    def data_key(self, domain: str, subject: Any) -> tuple[str, bytes]:
        """The id and the data key of ``subject`` in ``domain`` (made now if it has none)."""
        cache_key = (domain, subject)
        key_id = self._ids.get(cache_key)
        if key_id is None:
            secret = self._pseudonym_keys.secret(self._pseudonym_key_id)
            derived = self._domain_keys.get(domain)
            if derived is None:
                derived = self._domain_keys[domain] = domain_key(secret, domain)
            key_id = data_key_id(domain, subject_pseudonym(secret, self._pseudonym_key_id,
                                                           domain, subject, derived))
            if len(self._ids) > 100_000:
                self._ids.clear()
            if type(subject) in (str, int):
                self._ids[cache_key] = key_id
        found = self._keys.get(key_id)
        if found is not None:
            return key_id, found
        made = self._new.get(key_id)
        if made is None:
            data_key = os.urandom(DATA_KEY_BYTES)
            made = self._new[key_id] = (data_key, WrappedKey.wrap(
                self._kek_id, self._wrapping_key, data_key))
        return key_id, made[0]

    def shred(self, domain: str, subject: Any) -> list[str]:
        """Tombstone every id the subject's data keys can have (``subject_key_ids``), known
        here or not: another worker may have made one. Returns the ids tombstoned."""
        shredded = subject_key_ids(self._pseudonym_keys, domain, subject)
        self._shredding.update(dict.fromkeys(shredded))
        return shredded

    def pending(self) -> list[tuple[bytes, bytes | None]]:
        """The key-topic records of the open transaction, (key, value or None): the new keys,
        then the tombstones (which win over a key made and shredded in one transaction)."""
        return [(key_id.encode(), wrapped.to_json()) for key_id, (_, wrapped)
                in self._new.items()] + [(key_id.encode(), None) for key_id in self._shredding]

    def committed(self) -> None:
        self._keys.update((key_id, data_key) for key_id, (data_key, _) in self._new.items())
        for key_id in self._shredding:
            self._keys.pop(key_id, None)
        if self._shredding:
            _cipher.cache_clear()  # no cipher of a shredded key outlives its commit
        self.aborted()

    def aborted(self) -> None:
        """The transaction's keys and shreddings never happened (its records are aborted)."""
        self._new.clear()
        self._shredding.clear()

    def restore(self, records: Iterable[tuple[str, KeyRecord]]) -> None:
        """The key topic's committed records, oldest first: (location, record); only the live
        keys are unwrapped."""
        self.aborted()
        _cipher.cache_clear()  # keys shredded meanwhile (by another worker) go with the rest
        self._keys = {key_id: wrapped.unwrap(self._keks, where)
                      for key_id, (where, wrapped) in KeyTopicView(records).live.items()}

    def follow(self, records: Iterable[tuple[str, KeyRecord]]) -> tuple[int, int]:
        """The key topic's committed records written since the last read, oldest first: their
        keys join the store, the keys that they tombstone leave it (an erasure outside the CRM,
        ``erase``). Only between transactions: this transaction's keys stay pending. Returns
        (keys added, keys shredded)."""
        view = KeyTopicView(records)
        shredded = [key_id for key_id in view.shredded if self._keys.pop(key_id, None)]
        if shredded:
            _cipher.cache_clear()  # no cipher of a shredded key outlives its tombstone
        added = 0
        for key_id, (where, wrapped) in view.live.items():
            # the latest record wins, as on the compacted topic (a known id's: mostly this
            # worker's own key read back); a known key re-wrapped by a KEK that this worker
            # does not hold yet (a rotation before its restart) is the same key: kept
            known = key_id in self._keys
            if known and wrapped.kek_id not in self._keks.secrets:
                continue
            self._keys[key_id] = wrapped.unwrap(self._keks, where)
            added += not known
        return added, len(shredded)


class KeyTopicView:
    """The key topic's latest state as a reader (``reveal``, ``keys rotate``) sees it: live
    keys, and the ids whose latest record is a tombstone (shredded, not yet compacted away)."""

    def __init__(self, records: Iterable[tuple[str, KeyRecord]]) -> None:
        self.live: dict[str, tuple[str, WrappedKey]] = {}
        self.shredded: set[str] = set()
        for where, (key_id, wrapped) in records:
            if wrapped is None:
                self.live.pop(key_id, None)
                self.shredded.add(key_id)
            else:
                self.live[key_id] = (where, wrapped)
                self.shredded.discard(key_id)

    def reveal(self, keks: KeyRing, text: str) -> Any:
        parsed = Ciphertext.parse(text)
        found = self.live.get(parsed.data_key_id)
        if found is None:
            if parsed.data_key_id in self.shredded:
                raise RevealError(f"the data key {parsed.data_key_id} was shredded (the "
                                  "subject's erasure): the value cannot be revealed")
            raise RevealError(f"no data key {parsed.data_key_id} on the key topic: shredded "
                              "and compacted away, or never committed")
        where, wrapped = found
        return open_sealed(wrapped.unwrap(keks, where), parsed)
