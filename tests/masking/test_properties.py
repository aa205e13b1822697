"""Property-based: whatever the data, no raw personal value and no unknown field gets out."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.datakeys import CIPHERTEXT
from processor.governance.leakwatch import PSEUDONYM
from processor.offline import Summary, mask_lines
from processor.rules import load_validated
from processor.rules.model import FieldRule
from tests.helpers import RULES, engine, field_names, scalars

RULESET = load_validated(RULES).rules
ENGINE = engine()
PROTECTED = {"identifier", "personal", "special"}
SECRET_TEXT = st.text(min_size=6, max_size=40).filter(lambda s: s.strip() == s and len(set(s)) > 2)


def value_for(rule: FieldRule) -> st.SearchStrategy[Any]:
    params = rule.params
    if rule.action == "generalize":
        encoding = params.get("encoding", "date")
        if encoding == "date":
            return st.integers(-30_000, 60_000)
        if encoding in ("micro_timestamp",):  # 0, or far enough from it to be microseconds
            return st.just(0) | st.integers(10**13, 4_000_000_000_000_000)
        if encoding == "decimal":
            return st.integers(-10**12, 10**12).map(
                lambda n: base64.b64encode(n.to_bytes(8, "big", signed=True)).decode())
        return st.integers(-10**6, 10**6)
    if rule.field_class == "identifier":
        # ids apart from every other number that an output may hold (buckets, timestamps)
        return st.one_of(st.integers(10**7, 2**62).filter(lambda n: n % 1000 != 0), SECRET_TEXT)
    if rule.field_class in PROTECTED and not rule.justification:
        return st.one_of(st.none(), SECRET_TEXT)
    if rule.field_class == "free_text":
        return st.just("ok.")  # shorter than any secret: it cannot contain one
    # business/technical values from a disjoint space, so they cannot look like a leak; of
    # the rule's declared type, since a value of another type is a dead letter
    if params.get("type") == "boolean":
        return st.one_of(st.none(), st.booleans())
    return st.one_of(st.none(), st.integers(0, 10**6), st.booleans())


@st.composite
def change_event(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, Any], list[str]]:
    table_name = draw(st.sampled_from(sorted(RULESET.tables)))
    table = RULESET.tables[table_name]
    row = {name: draw(value_for(rule)) for name, rule in table.fields.items()}
    extra = draw(st.dictionaries(st.text(min_size=3, max_size=12).map(lambda s: "x_" + s),
                                 SECRET_TEXT, max_size=3))
    row.update(extra)
    op = draw(st.sampled_from("curd"))
    value = {"before": row if op in "ud" else None, "after": None if op == "d" else row,
             "source": {"table": table_name, "ts_ms": 1, "query": "SELECT secret"},
             "op": op, "ts_ms": 2}
    key = {"id": row["id"]}
    return table.topic, key, value, sorted(extra)


def row_data(value: dict[str, Any] | None) -> Any:
    """The row images of an output value, without metadata (topic, source table, __op)."""
    if value is None:
        return None
    if "before" in value:
        return [value["before"], value["after"]]
    return {k: v for k, v in value.items() if not k.startswith("__")}


def _secrets(table: str, value: dict[str, Any]) -> list[Any]:
    """Raw values that must not appear: protected classes, except justified clear fields."""
    fields = RULESET.tables[table].fields
    row = value["after"] or value["before"]
    return [row[n] for n, r in fields.items()
            if r.field_class in PROTECTED and not r.justification and row.get(n) is not None
            and r.action != "generalize"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(change_event(), min_size=1, max_size=5))
def test_no_raw_protected_value_or_unknown_field_in_the_output(events: list[Any]) -> None:
    lines = [orjson.dumps({"topic": t, "key": k, "value": v}) for t, k, v, _ in events]
    summary = Summary()
    out = list(mask_lines(ENGINE, lines, summary))
    assert not summary.dlq, summary.render()
    published = list(scalars([[o["key"], row_data(o["value"])] for o in out]))
    # pseudonyms and ciphertexts are keyed hex and base64: a short secret ("000012") can
    # turn up in them by chance, and cannot be read out of them
    texts = [s for s in published if isinstance(s, str)
             and not PSEUDONYM.match(s) and not CIPHERTEXT.match(s)]
    for topic, _, value, extra in events:
        table = next(n for n, t in RULESET.tables.items() if t.topic == topic)
        for secret in _secrets(table, value):
            if isinstance(secret, str):
                assert not any(secret in text for text in texts), (table, "leaked a string")
            else:
                assert secret not in published, (table, "leaked an identifier")
        for name in extra:
            assert name not in field_names(out), "an unknown field reached the output"
    assert not any("SELECT secret" in str(o["value"]) for o in out)
