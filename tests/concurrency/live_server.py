"""A real HTTP server (uvicorn on a loopback socket, in a thread) over a test's container."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from omniretail.app import create_app
from omniretail.bootstrap import Container


def _signed_in_as_admin(app: Any, container: Container) -> Any:
    """Requests without credentials are sent as the test admin (the API requires sign-in)."""
    from tests.conftest import admin_api_key

    header = (b"x-api-key", admin_api_key(container).encode())

    async def signed_in(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            names = {name for name, _ in scope["headers"]}
            if b"x-api-key" not in names and b"authorization" not in names:
                scope = {**scope, "headers": [*scope["headers"], header]}
        await app(scope, receive, send)

    return signed_in


@contextmanager
def live_server(container: Container, lane_threads: int | None = None) -> Iterator[str]:
    """Yields the base URL; the server stops when the block ends. ``lane_threads``: the
    shop's lane of the server (``api_lane_threads``; a race over HTTP needs as many threads
    as racers, or the lane takes them one at a time)."""
    if lane_threads is not None:
        container.settings.api_lane_threads = lane_threads
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _signed_in_as_admin(create_app(container, background_sweep=False), container),
        log_level="warning",
        access_log=False,
        ws="none",
        lifespan="on",
        limit_concurrency=1000,
        backlog=512,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
