"""Pass-through librdkafka settings from the command line and the environment: the shared
settings that every layer reads (the pipeline's clients, the schema registry's, the
generator's sink, the admin commands).

``--kafka-option KEY=VALUE`` or ``CRM_MASKER_KAFKA_<KEY>`` (``CRM_MASKER_KAFKA_SECURITY_PROTOCOL``
→ ``security.protocol``; ``__`` for an underscore: ``CRM_MASKER_KAFKA_LOG__LEVEL`` → ``log_level``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from processor.errors import CrmMaskerError

ENV_PREFIX = "CRM_MASKER_KAFKA_"


def client_options(pairs: Iterable[str] = (), environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Pass-through librdkafka settings from the environment, then from KEY=VALUE options."""
    options = {setting_of(name): value for name, value in environ.items()
               if name.startswith(ENV_PREFIX)}
    return {**options, **key_values(pairs, "--kafka-option")}


def setting_of(variable: str) -> str:
    """``CRM_MASKER_KAFKA_SECURITY_PROTOCOL`` → ``security.protocol``; a double underscore
    is an underscore (``CRM_MASKER_KAFKA_LOG__LEVEL`` → ``log_level``)."""
    return variable[len(ENV_PREFIX):].lower().replace("__", "\0").replace("_", ".").replace(
        "\0", "_")


def key_values(pairs: Iterable[str], option: str) -> dict[str, str]:
    """``KEY=VALUE`` command-line settings. A malformed entry is not quoted in the error: it
    may be a credential typed without its key (``user:secret``)."""
    options = {}
    for number, pair in enumerate(pairs, 1):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CrmMaskerError(f"{option} expects KEY=VALUE; entry {number} has no key")
        options[key.strip()] = value
    return options
