"""The dashboard's web app (Starlette): the page, its static files, the cells as JSON, and
server-sent events that push the cells again whenever they change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from processor.dashboard.board import Board

STATIC = Path(__file__).parent / "static"
#: the page loads its own files only: no CDN, no inline script
HEADERS = {"Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
#: at most one push per this many seconds (a burst of cells is one update)
PUSH_EVERY_S = 0.3
KEEP_ALIVE_S = 15.0


def create_app(board: Board) -> Starlette:
    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=HEADERS)

    async def cells(request: Request) -> Response:
        return Response(orjson.dumps(board.snapshot()), media_type="application/json",
                        headers=HEADERS)

    async def events(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def wake() -> None:  # from the reading thread
            loop.call_soon_threadsafe(changed.set)

        undo = board.listen(wake)

        async def stream() -> AsyncIterator[bytes]:
            try:
                sent = -1
                while not await request.is_disconnected():
                    snapshot = board.snapshot()
                    if snapshot["version"] != sent:
                        sent = snapshot["version"]
                        yield b"data: " + orjson.dumps(snapshot) + b"\n\n"
                        await asyncio.sleep(PUSH_EVERY_S)
                        continue
                    changed.clear()
                    try:
                        await asyncio.wait_for(changed.wait(), KEEP_ALIVE_S)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
            finally:
                undo()

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={**HEADERS, "Cache-Control": "no-cache"})

    return Starlette(routes=[Route("/", index), Route("/cells", cells),
                             Route("/events", events),
                             Mount("/static", StaticFiles(directory=STATIC), name="static")])
