"""Register a Debezium connector with a Kafka Connect worker and wait until its task runs.

Standard library only (it runs before crm-masker's venv exists, from deploy/local-cdc/connect.sh):

    python3 deploy/debezium.py REST_URL CONFIG.json PG_URL [key=value ...]

CONFIG.json is ``{"name": ..., "config": {...}}`` as Connect's REST API takes it (see
deploy/debezium/crm-postgres.json, or the warehouse sink deploy/debezium/warehouse-sink.json);
the database settings (a sink's connection.*) come from PG_URL
(``postgresql://user[:password]@host:port/dbname``), and ``key=value`` pairs override the rest
(``topic.prefix=t1.crm slot.name=t1``; ``name=…`` renames the connector: Connect keeps a
connector's offsets by its name, so a new database needs a new name).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class ConnectError(Exception):
    """The worker refused the connector, or its task failed (the worker's own words)."""


def _call(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
    except urllib.error.HTTPError as exc:
        raise ConnectError(f"{method} {url}: {exc.code} {exc.read().decode(errors='replace')}"
                           ) from None
    return json.loads(text) if text else None


def database_settings(pg_url: str) -> dict[str, str]:
    """The source connector's database.* settings of a PostgreSQL URL."""
    url = urllib.parse.urlsplit(pg_url)
    return {"database.hostname": url.hostname or "127.0.0.1", "database.port": str(url.port or 5432),
            "database.user": urllib.parse.unquote(url.username or "postgres"),
            "database.password": urllib.parse.unquote(url.password or ""),
            "database.dbname": url.path.lstrip("/") or "crm"}


def connection_settings(pg_url: str) -> dict[str, str]:
    """The JDBC sink connector's connection.* settings of a PostgreSQL URL (the warehouse)."""
    url = urllib.parse.urlsplit(pg_url)
    return {"connection.url": f"jdbc:postgresql://{url.hostname or '127.0.0.1'}:"
                              f"{url.port or 5432}/{url.path.lstrip('/') or 'warehouse'}",
            "connection.username": urllib.parse.unquote(url.username or "postgres"),
            "connection.password": urllib.parse.unquote(url.password or "")}


def settings_of(config: dict[str, str], pg_url: str) -> dict[str, str]:
    """A sink writes to the database of PG_URL, a source reads from it."""
    sink = "connection.url" in config
    return connection_settings(pg_url) if sink else database_settings(pg_url)


def register(rest_url: str, name: str, config: dict[str, str], timeout: float = 120) -> None:
    """Create or update connector ``name`` and wait until it and its task are RUNNING."""
    _call("PUT", f"{rest_url}/connectors/{name}/config", config)
    deadline = time.monotonic() + timeout
    state: Any = None
    while time.monotonic() < deadline:
        try:
            state = status(rest_url, name)
        except ConnectError:
            time.sleep(0.5)
            continue
        tasks = state.get("tasks", [])
        failed = [t for t in [state["connector"], *tasks] if t.get("state") == "FAILED"]
        if failed:
            trace = failed[0].get("trace", "").splitlines()
            raise ConnectError(f"connector {name} failed: {trace[0] if trace else failed[0]}")
        if state["connector"].get("state") == "RUNNING" and tasks and all(
                t.get("state") == "RUNNING" for t in tasks):
            return
        time.sleep(0.5)
    raise ConnectError(f"connector {name} did not start within {timeout:.0f} s: {state}")


def status(rest_url: str, name: str) -> Any:
    """The connector's and its tasks' states, as the worker reports them."""
    return _call("GET", f"{rest_url}/connectors/{name}/status")


def delete(rest_url: str, name: str) -> None:
    with contextlib.suppress(ConnectError):
        _call("DELETE", f"{rest_url}/connectors/{name}")


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    rest_url, config_file, pg_url, *overrides = argv
    with open(config_file, encoding="utf-8") as f:
        spec = json.load(f)
    settings = dict(item.split("=", 1) for item in overrides)
    name = settings.pop("name", spec["name"])
    config = {**spec["config"], **settings_of(spec["config"], pg_url), **settings}
    try:
        register(rest_url, name, config)
    except ConnectError as exc:
        print(f"debezium.py: {exc}", file=sys.stderr)
        return 1
    print(f"debezium.py: connector {name} runs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
