"""The sample Alertmanager receiver of docker-compose.yml: logs every notification it gets.

    python deploy/alert_receiver.py [--host 0.0.0.0] [--port 8080]

Alertmanager posts its webhook JSON to /<receiver> (ops, pager, security, privacy, as in
deploy/alertmanager/alertmanager.yml). Each alert becomes one log line — receiver, status,
alertname, severity, team and the labels that say where (table, field, detector, instance) —
so that a notification can be followed end to end; GET /notifications returns the last 1,000
as JSON. The rules' labels carry no personal data (who did what is on the alert topic only).
Replace it with your chat bridge or incident tool.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("alert-receiver")
SHOWN_LABELS = ("severity", "team", "instance", "table", "field", "kind", "detector")
MAX_BODY = 1 << 20
received: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)


def notifications(receiver: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per alert of an Alertmanager webhook payload."""
    out = []
    for alert in payload.get("alerts", []):
        labels = alert.get("labels", {})
        out.append({"receiver": receiver, "status": alert.get("status"),
                    "alertname": labels.get("alertname"),
                    **{k: labels[k] for k in SHOWN_LABELS if k in labels},
                    "runbook_url": alert.get("annotations", {}).get("runbook_url")})
    return out


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            self.send_error(400, "a webhook JSON body of at most 1 MiB")
            return
        try:
            payload = json.loads(self.rfile.read(length))
        except ValueError:
            self.send_error(400, "not JSON")
            return
        for entry in notifications(self.path.strip("/") or "default", payload):
            received.append(entry)
            log.info("%s", " ".join(f"{k}={v}" for k, v in entry.items() if v is not None))
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        if self.path not in ("/notifications", "/healthz"):
            self.send_error(404)
            return
        body = json.dumps(list(received) if self.path == "/notifications" else "ok").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per alert above, not one per request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    log.info("listening on %s:%d", args.host, args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
