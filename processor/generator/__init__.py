"""Synthetic CRM change events for the reference model: demos, tests and benchmarks."""

#: what `generate --scenario` offers (generator/scenarios.py makes them)
SCENARIOS = ("crm", "access-days")
