"""Exactly once on a 3-broker cluster (replication 3, min.insync.replicas 2) while brokers and
the processor are killed with SIGKILL and restarted mid-run, in turn. `make test` runs the short
version (20,000 events, one broker and one processor kill); `make chaos` the long one
(CRM_MASKER_CHAOS_EVENTS, CRM_MASKER_CHAOS_KILLS) and prints its figures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.harness import Namespace, assert_exactly_once, start_processor, stop

pytestmark = pytest.mark.kafka
EVENTS = int(os.environ.get("CRM_MASKER_CHAOS_EVENTS", "20000"))
KILLS = int(os.environ.get("CRM_MASKER_CHAOS_KILLS", "2"))  # alternately a broker, the processor
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
    rate = max(4000, EVENTS // 60)  # the long run produces for about a minute at least
    generator = subprocess.Popen(
        [sys.executable, "-m", "processor", "generate", "--bootstrap-servers", bootstrap,
         "--events", str(EVENTS), "--seed", "13", "--rate", str(rate), "--partitions", "3",
         "--topic-prefix", ns.source_prefix, "--output", str(jsonl)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    processor = start_processor(ns, bootstrap, "--batch-ms", "100")
    killed: list[str] = []
    started = time.monotonic()
    try:
        for kill in range(KILLS):
            time.sleep(3)
            if kill % 2 == 0:  # a broker dies: leaders move, in-flight batches fail
                broker = str(kill // 2 % 3 + 1)
                cluster.run("kill", broker)
                time.sleep(3)
                assert processor.poll() is None, stop(processor)
                cluster.run("restart", broker)
                killed.append(f"broker {broker}")
            else:  # the processor dies in the middle of a transaction
                processor.send_signal(signal.SIGKILL)
                processor.wait(30)
                processor = start_processor(ns, bootstrap, "--batch-ms", "100")
                killed.append("processor")
        assert generator.wait(600) == 0, generator.stderr.read() if generator.stderr else ""
        time.sleep(2)
    finally:
        if generator.poll() is None:
            generator.kill()
    log = stop(processor)
    final = start_processor(ns, bootstrap, "--exit-when-idle", "5")
    final_log = final.communicate(timeout=300)[0].decode()
    assert final.returncode == 0, final_log

    outputs = assert_exactly_once(ns, bootstrap, jsonl, EVENTS, log)
    assert outputs > EVENTS
    print(f"\nchaos: {EVENTS} inputs, {outputs} outputs, kills: "
          f"{', '.join(killed)}; 0 lost, 0 duplicated, audit chain intact; "
          f"{time.monotonic() - started:.0f} s")
