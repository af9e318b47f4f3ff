"""A PostgreSQL LISTEN on one channel, in a daemon thread with a connection of its own.

The owner learns three things: ``on_up`` (LISTEN is in place: from now on every notification
on the channel reaches it), ``on_notify(payload)``, and ``on_down`` (the connection failed or
was closed: notifications may be lost until the next ``on_up``). ``alive_at`` is when the
server last answered, so a connection that hangs without an error (a network partition) shows
as silent within ``ping_seconds``. The connection is autocommit and reconnects with back-off;
it is one of the process's budgeted connections (``db.budget.PoolPlan.listener``); behind
PgBouncer it goes to ``database_direct_url`` (PostgreSQL itself)."""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


class Listener:
    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        channel: Callable[[psycopg.Connection[Any]], str],
        *,
        on_up: Callable[[], None],
        on_down: Callable[[], None],
        on_notify: Callable[[str], None],
        ping_seconds: float = 1.0,
        name: str = "listener",
    ) -> None:
        self._connect = connect
        self._channel = channel
        self._on_up = on_up
        self._on_down = on_down
        self._on_notify = on_notify
        self.ping_seconds = ping_seconds
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name=f"omniretail-{name}", daemon=True)
        self.alive_at = 0.0  # time.monotonic() of the server's last answer
        self.backend_pid: int | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake_w.send(b"x")
        if self._thread.is_alive():
            self._thread.join()
        self._wake_r.close()
        self._wake_w.close()

    def _run(self) -> None:
        pause = 0.05
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    channel = self._channel(conn)
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self.backend_pid = conn.info.backend_pid
                    self.alive_at = time.monotonic()
                    self._on_up()
                    pause = 0.05
                    self._listen(conn)
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); retrying", exc)
            finally:
                self.backend_pid = None
                self._on_down()
            if self._wait(pause):
                return
            pause = min(pause * 2, 5.0)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            wake = self._wake_r.fileno()
            ready, _, _ = select.select([conn.fileno(), wake], [], [], self.ping_seconds)
            if wake in ready:
                return
            if not ready:
                conn.execute("SELECT 1")  # notifications it brings wait in the backlog
            for notify in conn.notifies(timeout=0):
                self._on_notify(notify.payload)
            self.alive_at = time.monotonic()

    def _wait(self, seconds: float) -> bool:
        """Sleeps ``seconds`` unless stopped (True)."""
        ready, _, _ = select.select([self._wake_r], [], [], seconds)
        return bool(ready) or self._stop.is_set()


def connector(
    engine: Any, schema: str | None, url: str | None = None
) -> Callable[[], psycopg.Connection[Any]]:
    """Opens an autocommit connection like ``engine``'s (same server, same schema), outside its
    pool; keepalives make a dead peer an error rather than a silent wait. ``url``: connect
    there instead (PostgreSQL itself when ``engine`` goes through PgBouncer, which cannot
    LISTEN in transaction pooling)."""
    cargs, cparams = engine.dialect.create_connect_args(make_url(url) if url else engine.url)
    params = dict(cparams)
    if schema:
        params["options"] = f"{params.get('options', '')} -c search_path={schema}".strip()
    params.setdefault("connect_timeout", 5)
    params.update(keepalives=1, keepalives_idle=10, keepalives_interval=2, keepalives_count=3)

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(*cargs, autocommit=True, **params)

    return connect
