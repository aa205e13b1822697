"""A broker that cannot be reached, or a client setting that librdkafka does not know, is one
line on stderr within seconds, for every command that talks to Kafka: the address and
librdkafka's own cause, or the setting with a guess. No librdkafka log around it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from processor.pipeline.topic_reader import patiently
from tests.helpers import DEMO_KEYS, RULES

TIMEOUT_S = 2
COMMANDS = {
    "run": ["run", "--rules", str(RULES), "--keys", str(DEMO_KEYS), "--allow-demo-keys",
            "--metrics-port", "-1"],
    "topics": ["topics", "--rules", str(RULES)],
    "scan": ["scan", "--topic", "bi.analytics.contacts"],
    "audit verify": ["audit", "verify", "--rules", str(RULES)],
    "generate": ["generate", "--events", "10"],
}


def cli(args: list[str], **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "processor", *args], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "CRM_MASKER_CONNECT_TIMEOUT": str(TIMEOUT_S),
                               **env})
    return done, time.monotonic() - started


def errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without the processor's own INFO log lines."""
    return [line for line in done.stderr.splitlines() if " INFO " not in line]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("address", "cause"), [
    ("127.0.0.1:1", "Connect to ipv4#127.0.0.1:1 failed: Connection refused"),
    ("nosuchhost.invalid:9092", "Failed to resolve 'nosuchhost.invalid:9092'"),
])
def test_an_unreachable_broker_is_one_line_with_its_cause(command: str, address: str,
                                                          cause: str) -> None:
    done, took = cli([*COMMANDS[command], "--bootstrap-servers", address])
    assert done.returncode == 2, done.stderr
    assert errors(done) == [errors(done)[0]] and errors(done)[0].startswith(
        f"error: cannot reach Kafka at {address} within {TIMEOUT_S} s: {cause}"), done.stderr
    assert "%3|" not in done.stderr + done.stdout  # librdkafka's own log stays out
    assert took < TIMEOUT_S + 10, took  # the timeout, plus starting Python


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--kafka-option", "securty.protocol=SSL"], {},
     "error: unknown Kafka client setting securty.protocol (from --kafka-option or "
     "CRM_MASKER_KAFKA_*); did you mean security.protocol?"),
    ([], {"CRM_MASKER_KAFKA_LOG_LEVEL": "2"},
     "error: unknown Kafka client setting log.level (from --kafka-option or CRM_MASKER_KAFKA_*); "
     "did you mean log_level? (as an environment variable: CRM_MASKER_KAFKA_LOG__LEVEL)"),
    (["--kafka-option", "security.protocol=s3cret-typo"], {},
     "error: invalid value for the Kafka client setting security.protocol"),
])
def test_a_setting_librdkafka_refuses_is_named_with_a_guess(
        args: list[str], env: dict[str, str], message: str) -> None:
    done, took = cli([*COMMANDS["topics"], "--bootstrap-servers", "127.0.0.1:1", *args], **env)
    assert done.returncode == 2
    assert errors(done) == [message]
    assert "s3cret" not in done.stderr  # a value is never quoted: it may be a password
    assert took < 10


def test_an_underscore_setting_is_written_with_two_in_the_environment() -> None:
    done, _ = cli([*COMMANDS["topics"], "--bootstrap-servers", "127.0.0.1:1"],
                  CRM_MASKER_KAFKA_LOG__LEVEL="2")
    assert errors(done)[0].startswith("error: cannot reach Kafka at 127.0.0.1:1")


@pytest.mark.parametrize("code", [KafkaError.OFFSET_NOT_AVAILABLE, KafkaError.LEADER_NOT_AVAILABLE,
                                  KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError._TRANSPORT,
                                  KafkaError._UNKNOWN_PARTITION])
def test_a_read_rides_out_a_partitions_leadership_moving(code: int) -> None:
    """Right after a broker restart a partition's new leader answers a watermark query with
    OFFSET_NOT_AVAILABLE until its high watermark has caught up (seen in the cluster test: a
    worker's start failed with a traceback). Reads wait that out; a refusal is raised at once."""
    answers = [KafkaException(KafkaError(code)), (0, 7)]

    def call(_left: float) -> tuple[int, int]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert patiently(call, 5) == (0, 7)

    def refuse(_left: float) -> tuple[int, int]:
        raise KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))

    started = time.monotonic()
    with pytest.raises(KafkaException):
        patiently(refuse, 5)
    assert time.monotonic() - started < 1
