"""Anomaly detection on access and export events: who reads or exports unusual volumes."""
