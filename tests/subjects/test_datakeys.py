"""Per-subject data keys without Kafka: sealing, the transaction's life cycle, shredding,
wrapping with the KEK, and errors that name keys, never values."""

from __future__ import annotations

import base64

import pytest

from processor.datakeys import (
    Ciphertext,
    DataKeyStore,
    KeyTopicView,
    RevealError,
    WrappedKey,
    open_sealed,
    seal,
)
from processor.errors import KeyFileError
from processor.keys import KeyRing
from tests.helpers import demo_keks, demo_keys

PHONE = "+49 30 1234567"


def store() -> DataKeyStore:
    return DataKeyStore("keys", demo_keks(), demo_keys(), "k2026a")


def committed_records(keys: DataKeyStore) -> list[tuple[str, tuple[str, WrappedKey | None]]]:
    """The store's pending records as the key topic would hold them after the commit."""
    return [(f"keys[0]@{i}", (key.decode(), WrappedKey.from_json("t", value) if value else None))
            for i, (key, value) in enumerate(keys.pending())]


def test_equal_values_of_one_subject_seal_alike_and_of_two_subjects_not() -> None:
    keys = store()
    key_id, data_key = keys.data_key("contact", 4711)
    first = seal(data_key, "phone", key_id, PHONE)
    assert seal(data_key, "phone", key_id, PHONE) == first  # deterministic: joins, compaction
    assert first.startswith("enc:phone:contact/k2026a:") and PHONE not in first
    assert keys.data_key("contact", "4711")[0] == key_id  # an id as int or text: one subject
    other_id, other = keys.data_key("contact", 4712)
    assert other_id != key_id and seal(other, "phone", other_id, PHONE) != first
    assert seal(data_key, "mobile", key_id, PHONE) != first  # the domain is associated data
    assert open_sealed(data_key, Ciphertext.parse(first)) == PHONE


def test_a_data_key_exists_only_when_its_transaction_commits() -> None:
    keys = store()
    key_id, data_key = keys.data_key("contact", 1)
    aborted = seal(data_key, "phone", key_id, PHONE)
    assert [k for k, _ in keys.pending()] == [key_id.encode()] and len(keys) == 0
    keys.aborted()  # the ciphertext was aborted with the key: the redo makes another
    assert keys.pending() == []
    key_id, data_key = keys.data_key("contact", 1)
    redone = seal(data_key, "phone", key_id, PHONE)
    assert redone != aborted
    records = committed_records(keys)
    keys.committed()
    assert len(keys) == 1 and keys.pending() == []
    assert keys.data_key("contact", 1)[1] == data_key and keys.pending() == []  # no second key
    restarted = store()  # a new process reads the key topic
    restarted.restore(records)
    assert seal(restarted.data_key("contact", 1)[1], "phone", key_id, PHONE) == redone
    view = KeyTopicView(records)
    assert view.reveal(demo_keks(), redone) == PHONE
    with pytest.raises(RevealError, match="never committed"):
        view.reveal(demo_keks(), aborted.replace(key_id, "contact/k2026a:" + "0" * 32))


def test_shredding_tombstones_the_keys_of_every_pseudonym_key_at_commit() -> None:
    keys = store()
    key_id, data_key = keys.data_key("contact", 9)
    before = seal(data_key, "phone", key_id, PHONE)
    records = committed_records(keys)
    keys.committed()
    shredded = keys.shred("contact", 9)
    assert shredded[0] == key_id and len(shredded) == len(demo_keys().key_ids) == 2
    assert keys.data_key("contact", 9)[1] == data_key  # until the erasure commits
    tombstones = committed_records(keys)
    assert [r for _, (_, r) in tombstones] == [None, None]
    keys.committed()
    assert keys.data_key("contact", 9)[1] != data_key  # a re-created subject: a new key
    view = KeyTopicView(records + [(f"keys[0]@{9 + i}", r) for i, (_, r) in enumerate(tombstones)])
    with pytest.raises(RevealError, match="shredded") as err:
        view.reveal(demo_keks(), before)
    assert PHONE not in str(err.value)


def test_a_key_made_and_erased_in_one_transaction_goes_out_as_a_tombstone() -> None:
    keys = store()
    key_id, _ = keys.data_key("contact", 5)
    keys.shred("contact", 5)
    latest = dict(keys.pending())  # what compaction keeps: the last record per key
    assert key_id.encode() in latest and set(latest.values()) == {None}


def test_a_data_key_opens_only_with_its_kek() -> None:
    keys = store()
    key_id, data_key = keys.data_key("contact", 3)
    text = seal(data_key, "phone", key_id, PHONE)
    records = committed_records(keys)
    view = KeyTopicView(records)
    other = KeyRing({"kek2026a": b"x" * 32}, source="other.yaml")
    with pytest.raises(KeyFileError, match="does not unwrap") as err:
        view.reveal(other, text)
    assert "other.yaml" in str(err.value)
    with pytest.raises(KeyFileError, match=r"which other\.yaml does not hold"):
        view.reveal(KeyRing({"kek2027a": b"y" * 32}, source="other.yaml"), text)
    assert view.reveal(demo_keks(), text) == PHONE


@pytest.mark.parametrize("text", ["+49 30 1234567", "enc:phone", "enc:phone:contact/x:!!!",
                                  "k2026a:abcdef"])
def test_what_is_not_a_ciphertext_is_refused_without_quoting_it(text: str) -> None:
    with pytest.raises(RevealError) as err:
        view = KeyTopicView([])
        view.reveal(demo_keks(), text)
    assert "1234567" not in str(err.value)


def test_an_altered_ciphertext_does_not_open() -> None:
    keys = store()
    key_id, data_key = keys.data_key("contact", 3)
    text = seal(data_key, "phone", key_id, PHONE)
    data = bytearray(base64.urlsafe_b64decode(text.rsplit(":", 1)[1] + "=="))
    data[-1] ^= 1
    forged = text.rsplit(":", 1)[0] + ":" + base64.urlsafe_b64encode(bytes(data)).decode()
    with pytest.raises(RevealError, match="altered"):
        KeyTopicView(committed_records(keys)).reveal(demo_keks(), forged)


def test_scan_takes_ciphertexts_for_what_they_are_and_still_finds_a_number_beside_them() -> None:
    """Hex and base64 look like phone numbers to a detector now and then (10 in 3,000 before
    ciphertexts were told apart); a number in clear is still found."""
    from processor.governance.leakwatch import scan_values

    keys = store()
    records = []
    for subject in range(3000):
        key_id, data_key = keys.data_key("contact", subject)
        records.append({"phone": seal(data_key, "phone", key_id, f"+49 30 {subject:07d}")})
    assert scan_values(records) == {}
    records.append({"phone": "+49 30 1234567"})
    assert scan_values(records) == {("phone", "phone"): 1}
