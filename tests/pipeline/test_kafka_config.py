"""Pass-through client settings: environment and KEY=VALUE options, errors without secrets."""

from __future__ import annotations

import pytest

from processor.avro.schema_registry import client_from_options
from processor.errors import CrmMaskerError
from processor.kafka_options import client_options


def test_environment_then_options() -> None:
    env = {"CRM_MASKER_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "OTHER": "x"}
    assert client_options(["sasl.mechanism=PLAIN", " linger.ms =7"], env) == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "linger.ms": "7"}


@pytest.mark.parametrize("bad", ["alice:S3cr3t-pw", "=S3cr3t-pw"])
def test_malformed_setting_is_refused_without_quoting_it(bad: str) -> None:
    """A credential typed without its key must not end up in the error (and the log)."""
    with pytest.raises(CrmMaskerError) as err:
        client_options(["acks=all", bad], {})
    assert "S3cr3t" not in str(err.value) and "entry 2" in str(err.value)
    with pytest.raises(CrmMaskerError) as err:
        client_from_options("http://registry:8080", [bad])
    assert "S3cr3t" not in str(err.value) and "--schema-registry-option" in str(err.value)
