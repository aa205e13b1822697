"""One HTTP port: /metrics (Prometheus), /healthz (alive), /readyz (assigned, committing).

Bound to loopback unless told otherwise (compose and Kubernetes pass ``--metrics-host``), with
a read timeout and a cap on connections, so that half-sent requests cannot hold threads.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


class Health:
    """What /readyz reports, updated by the processing loop."""

    def __init__(self, max_commit_age_s: float = 60.0) -> None:
        self.assigned = 0
        self.broker_ok = False
        self.last_commit = 0.0
        self.idle = True  # nothing to commit is not a failure
        self.max_commit_age_s = max_commit_age_s

    def ready(self) -> tuple[bool, str]:
        if not self.broker_ok:
            return False, "broker not reachable"
        if self.assigned == 0:
            return False, "no partitions assigned"
        if not self.idle and time.time() - self.last_commit > self.max_commit_age_s:
            return False, f"no transaction committed for {self.max_commit_age_s:.0f}s"
        return True, f"{self.assigned} partition(s) assigned"


DEFAULT_HOST = "127.0.0.1"
#: seconds a client may take to send its request (a scrape takes milliseconds)
REQUEST_TIMEOUT_S = 5.0
#: connections served at once; more are closed at once
MAX_CONNECTIONS = 16


class _BoundedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def serve(port: int, health: Health, host: str = DEFAULT_HOST) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/metrics":
                self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._send(200, b"ok\n")
            elif path == "/readyz":
                ok, why = health.ready()
                self._send(200 if ok else 503, why.encode() + b"\n")
            else:
                self._send(404, b"not found\n")

        def _send(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # no access log noise
            return

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("MetricsServer", (_BoundedServer,), {"address_family": family})
    server = server_class((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
