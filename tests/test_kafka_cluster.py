"""Exactly once on a 3-broker cluster (replication 3, min.insync.replicas 2) while a broker is
killed with SIGKILL and restarted mid-run, and the processor too (the short version of
`make chaos`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.harness import (
    Namespace,
    actual_outputs,
    cli,
    expected_outputs,
    lineage,
    output_topics,
    read_topics,
    start_processor,
    stop,
)

pytestmark = pytest.mark.kafka
CLUSTER_SH = Path(__file__).resolve().parents[1] / "deploy" / "local-kafka" / "cluster.sh"


class Cluster:
    def __init__(self, root: Path) -> None:
        self.env = {**os.environ, "KAFKA_CLUSTER_DIR": str(root)}
        self.bootstrap = ""

    def run(self, *args: str) -> str:
        done = subprocess.run(["bash", str(CLUSTER_SH), *args], env=self.env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    nodes = Cluster(Path(tempfile.mkdtemp(prefix="crm-masker-cluster-")))
    nodes.bootstrap = nodes.run("up").splitlines()[-1]
    try:
        yield nodes
    finally:
        subprocess.run(["bash", str(CLUSTER_SH), "down"], env=nodes.env, capture_output=True)


def test_a_broker_and_the_processor_killed_mid_run_lose_and_double_nothing(
        cluster: Cluster, tmp_path: Path) -> None:
    bootstrap = cluster.bootstrap
    assert bootstrap.count(",") == 2
    ns = Namespace(tmp_path).create()
    ns.topics(bootstrap, partitions=3)
    jsonl = tmp_path / "input.jsonl"
    generator = subprocess.Popen(
        [sys.executable, "-m", "processor", "generate", "--bootstrap-servers", bootstrap,
         "--events", "20000", "--seed", "13", "--rate", "4000", "--partitions", "3",
         "--topic-prefix", ns.source_prefix, "--output", str(jsonl)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    processor = start_processor(ns, bootstrap, "--batch-ms", "100")
    try:
        time.sleep(3)
        cluster.run("kill", "2")          # a broker dies: leaders move, in-flight batches fail
        time.sleep(4)
        assert processor.poll() is None, stop(processor)
        processor.send_signal(signal.SIGKILL)  # and the processor with it
        processor.wait(30)
        cluster.run("restart", "2")
        processor = start_processor(ns, bootstrap, "--batch-ms", "100")
        assert generator.wait(180) == 0, generator.stderr.read() if generator.stderr else ""
        time.sleep(2)
    finally:
        if generator.poll() is None:
            generator.kill()
    log = stop(processor)
    final = start_processor(ns, bootstrap, "--exit-when-idle", "5")
    final_log = final.communicate(timeout=300)[0].decode()
    assert final.returncode == 0, final_log

    expected = expected_outputs(jsonl, ns)
    assert sum(expected.values()) > 20000
    records = read_topics(bootstrap, output_topics(ns), expect=sum(expected.values()))
    per_lineage = Counter((lineage(r), r.topic, r.value is None) for r in records)
    duplicates = {k: n for k, n in per_lineage.items() if n > 1}
    assert not duplicates, f"{len(duplicates)} inputs published twice"
    actual = actual_outputs(records)
    assert actual == expected, (f"missing {sum((expected - actual).values())}, extra "
                                f"{sum((actual - expected).values())}; log:\n{log[-3000:]}")
    audit = cli("audit", "verify", "--rules", str(ns.rules), "--bootstrap-servers", bootstrap,
                check=False)
    assert audit.returncode == 0 and "chain intact" in audit.stdout, audit.stdout + audit.stderr
    assert "inputs 20000," in audit.stdout, audit.stdout
