"""The shipped detectors on two generated days of office traffic with injected incidents."""

from __future__ import annotations

import pytest

from processor.anomaly.alerts import Alert
from processor.anomaly.engine import AnomalyEngine
from processor.errors import CrmMaskerError
from processor.generator.scenarios import AccessScenario
from processor.rules import load_validated
from tests.helpers import RULES

HOUR_MS = 3_600_000


def run(users: int, seed: int) -> tuple[AccessScenario, list[Alert]]:
    rules = load_validated(RULES).rules
    assert rules.anomaly is not None
    engine = AnomalyEngine(rules.anomaly)
    scenario = AccessScenario(users=users, seed=seed)
    alerts: list[Alert] = []
    for record in scenario.records():
        value = record.value
        alerts += engine.on_row(record.table, value["op"], value["after"] or value["before"])
    return scenario, alerts


def matches(alert: Alert, incident: dict[str, object], any_detector: bool = False) -> bool:
    """The alert is about this incident: same actor, same time (and the expected detector)."""
    at = int(incident["at_ms"])  # type: ignore[call-overload]
    return ((any_detector or alert.detector == incident["detector"])
            and alert.actor == incident["actor"]
            and alert.window_start_ms - HOUR_MS <= at <= alert.window_end_ms + HOUR_MS)


def test_every_incident_is_caught_and_normal_traffic_stays_quiet() -> None:
    users = 300
    scenario, alerts = run(users, seed=1)
    truth = scenario.ground_truth()
    caught = [i for i in truth if any(matches(a, i) for a in alerts)]
    # a second detector that also reports an incident is no false alert
    false = [a for a in alerts if not any(matches(a, i, any_detector=True) for i in truth)]
    recall = len(caught) / len(truth)
    precision = (len(alerts) - len(false)) / len(alerts) if alerts else 1.0
    print(f"\nincidents {len(truth)}, alerts {len(alerts)}, recall {recall:.0%}, "
          f"precision {precision:.0%}, false alerts {len(false)} "
          f"({len(false) / users * 100:.2f} per 100 users per day)")
    assert recall == 1.0, [i["scenario"] for i in truth if i not in caught]
    assert len(false) <= users / 100, [(a.detector, a.actor, a.detail) for a in false]


def test_only_the_adaptive_baseline_sees_the_slow_ramp() -> None:
    scenario, alerts = run(300, seed=2)
    ramp = next(i for i in scenario.ground_truth() if i["scenario"] == "slow_ramp")
    on_ramp_actor = {a.detector for a in alerts if a.actor == ramp["actor"]}
    assert on_ramp_actor == {"unusual_volume"}


def test_too_few_users_for_the_incidents_is_a_clear_error() -> None:
    with pytest.raises(CrmMaskerError, match=r"roles marketing .* 5 users .* use more --users"):
        list(AccessScenario(users=5, seed=1).records())
