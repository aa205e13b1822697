"""``crm-masker dashboard``: the live web page of the released KPIs."""

from __future__ import annotations

from pathlib import Path

import click

from processor.cli.options import BOOTSTRAP_OPTION, KAFKA_OPTION, RULES_OPTION, fail


@click.command()
@RULES_OPTION
@BOOTSTRAP_OPTION
@KAFKA_OPTION
@click.option("--kpi", "kpis", multiple=True, metavar="NAME",
              help="A KPI of the rules to show (repeatable). Default: every KPI of the rules.")
@click.option("--host", default="127.0.0.1",
              help="Address to serve on (127.0.0.1: this machine only; the page shows what "
                   "the principal may read, so put an authenticating proxy before any other).")
@click.option("--port", default=8050, type=click.IntRange(0, 65535),
              help="Port to serve on (0: any free port, printed at start).")
def dashboard(rules_dir: Path, bootstrap: str, kafka_options: tuple[str, ...],
              kpis: tuple[str, ...], host: str, port: int) -> None:
    """Serve a live page of the released KPIs (charts and tables that update as cells are
    released), read read_committed from the KPI topics as the principal that
    --kafka-option / CRM_MASKER_KAFKA_* authenticate: a KPI that it may not read is shown
    as not readable. Suppressed cells are shown as suppressed, never as zero."""
    import socket

    import uvicorn

    from processor.dashboard.app import create_app
    from processor.dashboard.board import Board, Reader
    from processor.kafka_options import client_options
    from processor.rules import load_validated

    rules = load_validated(rules_dir).rules
    unknown = sorted(set(kpis) - set(rules.kpis))
    if unknown:
        fail(f"no KPI {', '.join(unknown)} in the rules; they name: "
             f"{', '.join(rules.kpis) or 'none'}")
    chosen = {name: rules.kpis[name].topic for name in (kpis or rules.kpis)}
    if not chosen:
        fail("the rules release no KPI (kpis: in the rules, see rules/kpis.yaml)")
    board = Board(chosen)
    reader = Reader(board, {"bootstrap.servers": bootstrap, **client_options(kafka_options)})
    reader.start()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait for the server from now on: the URL below works
    click.echo(f"dashboard: http://{host}:{sock.getsockname()[1]}/ ({len(chosen)} KPI(s))",
               err=True)
    server = uvicorn.Server(uvicorn.Config(create_app(board), log_level="warning",
                                           access_log=False))
    try:
        server.run(sockets=[sock])
    finally:
        reader.stopped.set()
        reader.join(5)
