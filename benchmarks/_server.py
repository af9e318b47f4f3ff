"""Start the real server for a benchmark: uvicorn in a subprocess on 127.0.0.1 and a free port,
over a fresh database (a temporary SQLite file, or a new PostgreSQL schema in the test
database that is dropped afterwards). The server gets OMNIRETAIL_DATABASE_URL and
OMNIRETAIL_DATABASE_SCHEMA like any deployment.

``relay="process"`` runs the outbox relay as its own process (``omniretail events relay``, the
production layout) with the API's relay thread off; ``relay="thread"`` keeps it inside the API
process (what ``omniretail serve`` does by default)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from omniretail.bootstrap import Container, build_container
from omniretail.settings import Settings

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
# The API needs sign-in: each fresh database gets an admin API key for the benchmark.
API_KEY = ""
# One key for every process of a run (a shared database refuses to start without one).
SECRET_KEY = os.environ.get("OMNIRETAIL_SECRET_KEY") or secrets.token_urlsafe(32)


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    database_url: str
    schema: str | None
    workers: int

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": API_KEY}

    def container(self, pool_size: int = 5) -> Container:
        """A container on the server's database (for bulk setup and verification)."""
        return build_container(
            Settings(
                database_url=self.database_url,
                database_schema=self.schema,
                db_pool_size=pool_size,
            )
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_database(db: str) -> Iterator[tuple[str, str | None]]:
    """(url, schema) of an empty, migrated database that is removed afterwards."""
    if db == "sqlite":
        folder = tempfile.mkdtemp(prefix="omniretail-bench-")
        url = f"sqlite:///{folder}/bench.db"
        try:
            _migrate(url, None)
            yield url, None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    url = os.environ.get("OMNIRETAIL_TEST_PG_URL", DEFAULT_PG_URL)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        _migrate(url, schema)
        yield url, schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _migrate(url: str, schema: str | None) -> None:
    global API_KEY
    from omniretail.auth import service as auth
    from omniretail.auth.models import Role
    from omniretail.auth.schemas import PrincipalCreate

    settings = Settings(
        database_url=url,
        database_schema=schema,
        db_pool_size=1,
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
    )
    container = build_container(settings)
    container.migrate()
    with container.uow() as uow:
        admin = auth.create_principal(
            uow, PrincipalCreate(username="bench-admin", role=Role.ADMIN, kind="system")
        )
        API_KEY = auth.create_api_key(uow, admin.id, "benchmark").key
    container.dispose()


@contextmanager
def running_server(
    db: str,
    *,
    workers: int = 1,
    pool_size: int = 40,
    relay: str = "thread",
    extra_env: dict[str, str] | None = None,
) -> Iterator[RunningServer]:
    if relay not in ("thread", "process"):
        raise ValueError(f"relay must be 'thread' or 'process', not {relay!r}")
    with fresh_database(db) as (url, schema):
        port = free_port()
        env = {
            **os.environ,
            "OMNIRETAIL_DATABASE_URL": url,
            "OMNIRETAIL_DATABASE_SCHEMA": schema or "",
            "OMNIRETAIL_DB_POOL_SIZE": str(pool_size),
            # Every process on a shared database needs the same key (docs/security.md).
            "OMNIRETAIL_SECRET_KEY": SECRET_KEY,
            # Every process on the server takes its share of the connection budget.
            "OMNIRETAIL_DB_PROCESSES": str(workers + (1 if relay == "process" else 0)),
            **(extra_env or {}),
        }
        relay_process = None
        if relay == "process":
            env["OMNIRETAIL_RELAY_ENABLED"] = "false"
            relay_env = {**env, "OMNIRETAIL_DB_POOL_SIZE": "5"}
            relay_process = subprocess.Popen(
                [sys.executable, "-m", "omniretail", "events", "relay"],
                env=relay_env,
                stdout=subprocess.DEVNULL,
            )
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "omniretail.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--backlog",
            "2048",
            # Buyers' connections are opened before the sale and may idle while it runs.
            "--timeout-keep-alive",
            "300",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        process = subprocess.Popen(command, env=env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(base_url, process, workers)
            yield RunningServer(base_url, url, schema, workers)
        finally:
            for child in (process, relay_process):
                if child is None:
                    continue
                child.terminate()
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], workers: int) -> None:
    deadline = time.monotonic() + 60
    healthy = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                healthy += 1
                if healthy >= 2 * workers:  # give every worker process time to come up
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become healthy within 60 s")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def server_timing(headers: httpx.Headers | dict[str, str]) -> tuple[float, int]:
    """(app milliseconds, SQL statements) from the Server-Timing header."""
    app_ms, statements = 0.0, 0
    for metric in headers.get("server-timing", "").split(", "):
        name, _, param = metric.partition(";")
        value = param.partition("=")[2].strip('"')
        if name == "app":
            app_ms = float(value)
        elif name == "sql":
            statements = int(value)
    return app_ms, statements


class RawConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams.

    Many concurrent httpx clients spend more CPU managing their connection pool than the
    server spends on the request (on 2 shared cores that measures the client, not the
    server), so the concurrent phases use this: one connection per simulated client."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    async def request(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, dict[str, str], Any]:
        assert self._reader is not None and self._writer is not None
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"X-API-Key: {API_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self._writer.write(head.encode() + payload)
        await self._writer.drain()
        raw_head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *lines = raw_head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        content = await self._reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, json.loads(content) if content else None
