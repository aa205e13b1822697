"""The batch histogram (end-to-end lag) is exposed exactly as prometheus_client's Histogram."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from processor.observability.metrics import BatchHistogram

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
#: values on and next to the bounds, and anything else
VALUES = st.one_of(st.sampled_from([0.0, *BUCKETS, 1.0000001, 0.0999999]),
                   st.floats(min_value=0, max_value=1e6))


def exposition(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines()
            if "_created" not in line]  # the Histogram's creation time: not a count


@given(batches=st.lists(st.lists(VALUES, max_size=50), max_size=5))
def test_batches_are_counted_like_single_observations(batches: list[list[float]]) -> None:
    single, batched = CollectorRegistry(), CollectorRegistry()
    histogram = Histogram("lag_seconds", "lag", buckets=BUCKETS, registry=single)
    batch = BatchHistogram("lag_seconds", "lag", BUCKETS, registry=batched)
    for values in batches:
        for value in values:
            histogram.observe(value)
        batch.observe_many(iter(values))
    assert exposition(batched) == exposition(single)
