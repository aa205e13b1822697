"""Input decoding and output formats of change events."""
