"""The leak watch finds personal data in columns that the rules publish in clear."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from processor.governance.leakwatch import Sampler, scan_values, suspects


def test_suspects_names_column_and_kind_never_the_value() -> None:
    row = {"segment": "retail", "contact_note": "mail an max.mustermann@example.de",
           "id": "k2026a:0123456789abcdef0123456789abcdef", "iban": "DE89 3704 0044 0532 0130 00"}
    found = suspects(row, ["segment", "contact_note", "id", "iban"])
    assert found == [("contact_note", "email"), ("iban", "iban")]
    assert all("example.de" not in part for pair in found for part in pair)


def test_only_watched_columns_are_looked_at() -> None:
    assert suspects({"notes": "ruf an: 030 12345678"}, []) == []


def test_sampler_takes_a_deterministic_share() -> None:
    every_tenth = Sampler(0.1)
    assert [call for call in range(30) if every_tenth()] == [9, 19, 29]
    assert sum(every_tenth() for _ in range(970)) == 97
    assert not any(Sampler(0.0)() for _ in range(10))
    assert all(Sampler(1.0)() for _ in range(10))


@given(share=st.sampled_from([0.0, 0.01, 0.1, 0.3, 0.5, 1.0]),
       steps=st.lists(st.integers(0, 250), max_size=12))
def test_peek_and_skip_answer_as_one_call_at_a_time(share: float, steps: list[int]) -> None:
    """The processor asks the sampler for a whole batch at once (``peek``, then ``skip``)."""
    batched, single = Sampler(share), Sampler(share)
    for calls in steps:
        assert list(batched.peek(calls)) == [i for i in range(calls) if single()]
        batched.skip(calls)


def test_scan_skips_metadata_and_pseudonyms_and_reports_paths() -> None:
    records = [
        {"before": None, "after": {"email": "anna@example.de", "id": "k2026a:" + "a" * 32},
         "source": {"table": "a@b.de"}, "op": "c"},
        {"email": "bob@example.de", "__op": "c"},
        None,
    ]
    assert scan_values(records) == {("email", "email"): 2}
