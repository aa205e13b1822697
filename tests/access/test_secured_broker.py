"""On a broker that enforces who may read what (SASL_SSL, SCRAM, ACLs): the processor runs
under its own principal with exactly the ACLs that `acls --apply` derives from the rules; each
reader reads its views and nothing else; no secret appears in any output."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from processor import kafka_client
from processor.access import broker as acl_broker
from processor.access.grants import Grant
from tests.broker import SecureBroker
from tests.helpers import RULES

pytestmark = pytest.mark.kafka
KEYS = ["--keys", "deploy/keys/demo-keys.yaml", "--allow-demo-keys"]
#: every output of every command run here, to look for secrets in
OUTPUTS: list[str] = []


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "processor", *args], capture_output=True,
                          text=True, timeout=timeout)
    OUTPUTS.append(done.stdout + done.stderr)
    return done


def admin_of(kafka: SecureBroker, user: str = "admin") -> kafka_client.Admin:
    return kafka_client.admin(kafka.bootstrap, kafka.settings(user))


@pytest.fixture(scope="module")
def processed(secured_kafka: SecureBroker) -> Iterator[SecureBroker]:
    """Topics (as admin), the ACLs of the rules, 3,000 generated events, one processor run
    under User:crm-masker."""
    kafka = secured_kafka
    admin = kafka.options("admin")
    done = cli("topics", "--rules", str(RULES), "--bootstrap-servers", kafka.bootstrap, *admin)
    assert done.returncode == 0, done.stderr
    done = cli("acls", "--rules", str(RULES), "--bootstrap-servers", kafka.bootstrap, "--apply",
               *admin)
    assert done.returncode == 0, done.stderr
    done = cli("generate", "--events", "3000", "--bootstrap-servers", kafka.bootstrap, *admin)
    assert done.returncode == 0, done.stderr
    done = cli("run", "--rules", str(RULES), "--bootstrap-servers", kafka.bootstrap,
               *kafka.options("crm-masker"), *KEYS, "--exit-when-idle", "4",
               "--metrics-port", "-1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "stopped after 3000 input records" in done.stderr
    yield kafka


def read(kafka: SecureBroker, user: str, topic: str, group: str,
         timeout_s: float = 20) -> int | str:
    """How many records ``user`` reads from ``topic`` (group ``group``), or the error name
    that the broker answers with."""
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap, **kafka.settings(user),
                         "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "isolation.level": "read_committed"})
    try:
        consumer.subscribe([topic])
        count, deadline, quiet = 0, time.monotonic() + timeout_s, 0
        while time.monotonic() < deadline and quiet < 3:
            msg = consumer.poll(0.5)
            if msg is None:
                quiet += count > 0
                continue
            if msg.error():
                if msg.error().code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                          KafkaError.GROUP_AUTHORIZATION_FAILED):
                    return msg.error().name()
                continue
            count += 1
        return count
    finally:
        consumer.close()


def test_the_processor_runs_with_only_the_acls_of_the_rules(processed: SecureBroker) -> None:
    grants = acl_broker.broker_grants(admin_of(processed))
    assert {g.principal for g in grants if g.principal == "User:crm-masker"}
    assert not any(g.operation == "all" or g.name == "*" for g in grants)
    # what it wrote is there, for the view's reader
    assert isinstance(n := read(processed, "bi_analyst", "bi.analytics.contacts",
                                "bi.analytics.dashboards"), int) and n > 0


@pytest.mark.parametrize(("user", "topic", "group", "allowed"), [
    ("bi_analyst", "bi.analytics.contracts", "bi.analytics.kpi", True),
    ("bi_analyst", "crm.public.contacts", "bi.analytics.raw", False),
    ("bi_analyst", "bi.sales.contacts", "bi.analytics.other-view", False),
    ("bi_analyst", "crm.alerts", "bi.analytics.alerts", False),
    ("bi_analyst", "bi.analytics.contracts", "my-own-group", False),  # not its group prefix
    ("sales", "bi.sales.contacts", "bi.sales.territories", True),
    ("sales", "bi.analytics.contacts", "bi.sales.other", False),
    ("marketing", "crm.public.contacts", "bi.sales.raw", False),
    ("security", "crm.alerts", "crm.alerts.soc", True),
    ("security", "crm.public.audit_log", "crm.alerts.raw", False),
    ("auditor", "crm.audit.proc", "crm.audit.proc.review", True),
])
def test_each_reader_reads_its_views_and_nothing_else(processed: SecureBroker, user: str,
                                                      topic: str, group: str,
                                                      allowed: bool) -> None:
    got = read(processed, user, topic, group)
    if allowed:
        assert isinstance(got, int) and got > 0, got
    else:
        assert got in ("TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED"), got


def test_strangers_are_refused(processed: SecureBroker) -> None:
    # no credentials at all: TLS without SASL
    anonymous = cli("scan", "--bootstrap-servers", processed.bootstrap, "--topic",
                    "bi.analytics.contacts", "--kafka-option", "security.protocol=SSL",
                    "--kafka-option", f"ssl.ca.location={processed.state}/tls/ca.pem",
                    timeout=60)
    assert anonymous.returncode != 0
    wrong = {**processed.settings("bi_analyst"), "sasl.password": "not-the-password-42"}
    options = [a for k, v in wrong.items() for a in ("--kafka-option", f"{k}={v}")]
    refused = cli("scan", "--bootstrap-servers", processed.bootstrap, "--topic",
                  "bi.analytics.contacts", *options, timeout=60)
    assert refused.returncode != 0
    assert "Authentication failed" in refused.stderr or "SASL" in refused.stderr, refused.stderr
    assert "not-the-password-42" not in refused.stdout + refused.stderr


def test_check_reports_a_grant_added_by_hand(processed: SecureBroker) -> None:
    admin = processed.options("admin")
    check = ["acls", "--rules", str(RULES), "--bootstrap-servers", processed.bootstrap, *admin]
    clean = cli(*check, "--check")
    assert clean.returncode == 0, clean.stderr
    leak = Grant("User:bi_analyst", "topic", "crm.public.contacts", "literal", "read")
    acl_broker.create(admin_of(processed), [leak])
    try:
        found = cli(*check, "--check")
        assert found.returncode == 1
        assert "extra    User:bi_analyst READ topic 'crm.public.contacts'" in found.stderr
        pruned = cli(*check, "--apply", "--prune")
        assert pruned.returncode == 0 and "deleted 1 ACL(s)" in pruned.stdout
        assert read(processed, "bi_analyst", "crm.public.contacts", "bi.analytics.x") == \
            "TOPIC_AUTHORIZATION_FAILED"
    finally:
        acl_broker.delete(admin_of(processed), [leak])


def test_a_missing_grant_is_one_clear_line(processed: SecureBroker) -> None:
    taken = Grant("User:crm-masker", "topic", "bi.sales.contacts", "literal", "write")
    acl_broker.delete(admin_of(processed), [taken])
    try:
        started = time.monotonic()
        done = cli("run", "--rules", str(RULES), "--bootstrap-servers", processed.bootstrap,
                   *processed.options("crm-masker"), *KEYS, "--exit-when-idle", "2",
                   "--metrics-port", "-1", timeout=60)
        assert done.returncode == 2
        assert time.monotonic() - started < 30
        assert ("error: User:crm-masker may not WRITE topic bi.sales.contacts: the broker's "
                "ACLs lack what the processor needs") in done.stderr
        assert "Traceback" not in done.stderr
        missing = cli("acls", "--rules", str(RULES), "--bootstrap-servers", processed.bootstrap,
                      *processed.options("admin"), "--check")
        assert "missing  User:crm-masker WRITE topic 'bi.sales.contacts'" in missing.stderr
    finally:
        acl_broker.create(admin_of(processed), [taken])


def test_no_secret_in_any_output_or_help(processed: SecureBroker) -> None:
    for command in ("run", "acls", "topics", "scan", "audit verify"):
        OUTPUTS.append(cli(*command.split(), "--help").stdout)
    # and a failing command given the password as an option
    OUTPUTS.append(cli("acls", "--rules", str(RULES), "--bootstrap-servers", "127.0.0.1:1",
                       "--check", *processed.options("admin"), timeout=60).stderr)
    assert len(OUTPUTS) > 8
    secrets = processed.passwords()
    assert len(secrets) >= 6
    for output in OUTPUTS:
        for secret in secrets:
            assert secret not in output
    offsets = Consumer({"bootstrap.servers": processed.bootstrap,
                        **processed.settings("admin"), "group.id": "x"})
    try:
        low, high = offsets.get_watermark_offsets(TopicPartition("crm.dlq", 0), timeout=10)
        assert high == low  # nothing was dead-lettered on the way
    finally:
        offsets.close()


def test_the_record_says_how_access_is_enforced(processed: SecureBroker) -> None:
    from processor.access.grants import desired_grants
    from processor.rules import load_validated
    from tests.governance.test_record_for_a_dpo import english_words, proper_names

    wanted = len(desired_grants(load_validated(RULES).rules))
    done = cli("report", "--rules", str(RULES), "--lang", "de", "--date", "2026-12-06",
               "--bootstrap-servers", processed.bootstrap, *processed.options("admin"))
    assert done.returncode == 0, done.stderr
    assert (f"durchgesetzt durch die Zugriffskontrolllisten des Brokers: {wanted} von {wanted} "
            "vorhanden, 0 über das Regelwerk hinaus (geprüft am 06.12.2026)") in done.stdout
    assert "Verbindungen zum Broker: SASL_SSL, SCRAM-SHA-512 (geprüft am 06.12.2026)" in done.stdout
    assert english_words(done.stdout, proper_names()) == set()
    english = cli("report", "--rules", str(RULES), "--bootstrap-servers", processed.bootstrap,
                  *processed.options("admin"))
    assert f"{wanted} of {wanted} in place, 0 beyond the rules" in english.stdout


def test_the_dashboard_shows_only_the_kpis_that_its_principal_may_read(
        processed: SecureBroker) -> None:
    """``crm-masker dashboard`` as User:sales: the KPI that names sales as a reader is
    readable, the BI team's activities KPI is shown as refused by the broker."""
    import json
    import re
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "processor", "dashboard", "--rules",
                             str(RULES), "--bootstrap-servers", processed.bootstrap,
                             *processed.options("sales"), "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        url = re.search(r"http://\S+/", proc.stderr.readline())
        assert url, proc.stderr.read() if proc.poll() is not None else "no URL"
        deadline, kpis = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(url[0] + "cells", timeout=5) as answer:
                kpis = json.loads(answer.read())["kpis"]
            if kpis["activities_per_day"]["denied"]:
                break
            time.sleep(0.5)
        assert kpis["activities_per_day"]["denied"] == "TOPIC_AUTHORIZATION_FAILED"
        assert kpis["contracts_by_product"]["denied"] is None
    finally:
        proc.terminate()
        OUTPUTS.append(proc.communicate(timeout=10)[1])
