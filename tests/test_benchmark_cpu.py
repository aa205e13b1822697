"""The benchmark's CPU accounting: the broker's process found by its port, CPU between two
moments read off samples."""

from __future__ import annotations

import os
import socket

import pytest

from benchmarks.broker_cpu import BrokerCpu, Samples, listening_pid


def test_the_process_that_listens_on_a_port_is_found() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert listening_pid(port) == os.getpid()
        broker = BrokerCpu(f"127.0.0.1:{port}")
        assert broker.pid == os.getpid()
        before = broker.seconds()
        sum(i * i for i in range(2_000_000))  # some CPU of this process
        assert broker.seconds() > before
    assert listening_pid(port) is None  # closed: nobody listens


def test_a_remote_broker_has_no_local_process() -> None:
    assert BrokerCpu("kafka.example:9092").pid is None


def test_cpu_between_two_moments_is_interpolated_between_samples() -> None:
    samples = Samples()
    for at, cpu in ((10.0, 1.0), (11.0, 1.5), (12.0, 3.5)):
        samples.add(at, cpu)
    assert samples.between(10.0, 12.0) == pytest.approx(2.5)
    assert samples.between(10.5, 11.5) == pytest.approx(0.25 + 1.0)
    assert samples.between(9.0, 13.0) == pytest.approx(2.5)  # outside: the first and last
