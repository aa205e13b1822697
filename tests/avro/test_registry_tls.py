"""The schema registry client over TLS, against the local registry serving HTTPS only: Avro
events are produced and masked with `ssl.ca.location`; without it, one line says why."""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker import tls_schema_registry
from tests.pipeline.harness import Namespace, cli, read_topics

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def https_registry() -> Iterator[tuple[str, Path]]:
    with tls_schema_registry() as registry:
        yield registry


def test_avro_through_a_registry_that_speaks_https_only(
        https_registry: tuple[str, Path], kafka_bootstrap: str, tmp_path: Path) -> None:
    url, ca = https_registry
    assert url.startswith("https://")
    trusted = ["--schema-registry-url", url, "--schema-registry-option", f"ssl.ca.location={ca}"]
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    done = cli("generate", "--events", "300", "--format", "avro", "--bootstrap-servers",
               kafka_bootstrap, "--topic-prefix", ns.source_prefix, *trusted, check=False)
    assert done.returncode == 0, done.stderr
    done = cli("run", "--rules", str(ns.rules), "--bootstrap-servers", kafka_bootstrap,
               "--keys", "deploy/keys/demo-keys.yaml", "--allow-demo-keys", "--group-id",
               ns.ns, "--transactional-id", f"{ns.ns}-tx", "--exit-when-idle", "3",
               "--metrics-port", "-1", *trusted, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    views = read_topics(kafka_bootstrap, [f"{ns.ns}.bi.analytics.contacts"], decode=bytes)
    assert views and all(r.value is None or r.value[:1] == b"\0" for r in views)  # Avro frames
    with urllib.request.urlopen(f"{url}/subjects", timeout=10,
                                context=ssl.create_default_context(cafile=str(ca))) as answer:
        subjects = json.loads(answer.read())
    assert f"{ns.ns}.bi.analytics.contacts-value" in subjects  # the masked schema, registered


def test_an_untrusted_registry_certificate_is_one_clear_line(
        https_registry: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = https_registry
    done = cli("generate", "--events", "5", "--format", "avro", "--output",
               str(tmp_path / "x.jsonl"), "--schema-registry-url", url, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: schema registry unreachable: TLS: the registry's certificate is not trusted "
        "(unable to get local issuer certificate); give its CA with --schema-registry-option "
        "ssl.ca.location=FILE"]
