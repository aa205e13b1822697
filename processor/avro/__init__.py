"""Avro change events: Confluent wire format, schema registry, masked schemas derived from rules.

Avro rows are turned into the same values as Debezium's JSON converter writes (dates as days,
timestamps as microseconds, decimals as base64), so both formats go through the one masking
engine and give the same pseudonyms.
"""

import warnings

with warnings.catch_warnings():
    # authlib (pulled in by the registry client for OAuth) announces a rename of its httpx
    # integration on import (after forcing its warnings to "always"); nothing of ours to act on
    import authlib.deprecate  # type: ignore[import-untyped]  # noqa: F401

    warnings.simplefilter("ignore", DeprecationWarning)
    import confluent_kafka.schema_registry  # noqa: F401
