"""Compiled masking plans and the engine that applies them to one change event."""
