"""The fuzz targets with a bounded number of examples on every ``make test`` (issue #19); the
long run is ``make fuzz``. A failure here is a crash or a leak that an attacker could cause."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.targets import TARGETS, Target

BOUNDED = settings(max_examples=150, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_no_input_crashes_or_leaks(target: Target) -> None:
    @BOUNDED
    @given(target.strategy)
    def run(example: Any) -> None:
        target.check(example)

    run()
