"""The built-in anomaly detectors, one module each, found by the registry (anomaly/base.py).
Each keeps its state per actor and works on event time only."""
