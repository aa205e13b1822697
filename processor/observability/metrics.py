"""Every metric of crm-masker, defined once. Labels never carry field values or actor ids.

Label values are table, view topic, action, reason, result: names from the rules or fixed
words, so the cardinality is bounded by the rule set.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from threading import Lock

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

PREFIX = "crm_masker"


class BatchHistogram(Collector):
    """A histogram that takes a batch's observations in one call.

    The end-to-end lag is observed for every event at each commit, thousands at a time;
    ``prometheus_client.Histogram.observe`` takes a lock and walks the buckets for each, which
    cost the processor about 4 % of its time. Exposed exactly like a ``Histogram``."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float],
                 registry: CollectorRegistry | None = REGISTRY) -> None:
        self.name, self.documentation = name, documentation
        self._bounds = sorted(buckets)
        self._counts = [0] * (len(self._bounds) + 1)  # the last one: above every bound
        self._sum = 0.0
        self._lock = Lock()
        if registry is not None:
            registry.register(self)

    def observe_many(self, values: Iterable[float]) -> None:
        bounds = self._bounds
        with self._lock:  # summed one by one, as observe() does (floats: the same total)
            counts, total = self._counts, self._sum
            for value in values:
                counts[bisect_left(bounds, value)] += 1  # a bucket counts values <= its bound
                total += value
            self._sum = total

    def describe(self) -> list[HistogramMetricFamily]:
        return [HistogramMetricFamily(self.name, self.documentation)]

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, buckets = 0, []
        for bound, count in zip([*self._bounds, float("inf")], counts, strict=True):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets,
                                    sum_value=total)


EVENTS_CONSUMED = Counter(f"{PREFIX}_events_consumed_total",
                          "Input records consumed, by source topic.", ["topic"])
EVENTS_PUBLISHED = Counter(f"{PREFIX}_events_published_total",
                           "Output records produced (committed or not), by output topic.", ["topic"])
EVENTS_SKIPPED = Counter(f"{PREFIX}_events_skipped_total",
                         "Input records that produce nothing on purpose, by reason.",
                         ["table", "reason"])
FIELDS_MASKED = Counter(f"{PREFIX}_fields_masked_total",
                        "Columns handled by masking action (per masked row image).", ["action"])
UNKNOWN_FIELDS = Counter(f"{PREFIX}_unknown_fields_total",
                         "Columns without a rule, dropped (schema drift), by table.", ["table"])
DLQ_EVENTS = Counter(f"{PREFIX}_dlq_events_total",
                     "Input records sent to the dead-letter topic, by reason.", ["reason"])
TRANSACTIONS = Counter(f"{PREFIX}_transactions_total",
                       "Kafka transactions by result (committed, aborted, failed).", ["result"])
BATCH_SECONDS = Histogram(f"{PREFIX}_batch_processing_seconds",
                          "Time from the first record of a batch to its commit.",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
END_TO_END_LAG = BatchHistogram(f"{PREFIX}_end_to_end_lag_seconds",
                           "Source commit time (Debezium ts_ms) to the commit of the output.",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800))
CONSUMER_LAG = Gauge(f"{PREFIX}_consumer_lag_records",
                     "Records behind the high watermark, by source topic and partition.",
                     ["topic", "partition"])
ASSIGNED_PARTITIONS = Gauge(f"{PREFIX}_assigned_partitions",
                            "Source partitions currently assigned to this process.")
LAST_COMMIT = Gauge(f"{PREFIX}_last_commit_timestamp_seconds",
                    "Unix time of the last committed transaction.")
PII_SUSPECTED = Counter(f"{PREFIX}_output_pii_suspected_total",
                        "Published values that look like personal data although the rules publish "
                        "the column in clear (leak watch), by table, column and kind.",
                        ["table", "field", "kind"])
LEAK_WATCH_ROWS = Counter(f"{PREFIX}_leak_watch_rows_total",
                          "Published rows that the leak watch inspected, by table.", ["table"])
ANOMALIES = Counter(f"{PREFIX}_anomalies_total",
                    "Anomaly alerts raised, by detector and severity (never by actor).",
                    ["detector", "severity"])
ANOMALY_LATE_EVENTS = Counter(f"{PREFIX}_anomaly_late_events_total",
                              "Access events later than allowed_lateness that a windowed "
                              "detector could not count, by detector (the per-event detectors "
                              "judge them).", ["detector"])
ACCESS_RECORDS = Counter(f"{PREFIX}_access_records_total",
                         "Records touched by access-log events (views, exports …), by role and "
                         "action.", ["role", "action"])
RULESET = Info(f"{PREFIX}_ruleset", "The running rule set: version, sha256 and key id.")
