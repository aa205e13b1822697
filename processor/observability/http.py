"""One HTTP port: /metrics (Prometheus), /healthz (alive), /readyz (assigned, committing)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


def serve(port: int, health: Health, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                self._send(200, b"ok\n")
            elif self.path == "/readyz":
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

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
