"""Prometheus metrics and the HTTP endpoints /metrics, /healthz, /readyz."""
