"""Synthetic CRM change events for the reference model: demos, tests and benchmarks."""
