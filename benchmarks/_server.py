"""Start the real server for a benchmark: uvicorn in a subprocess on 127.0.0.1 and a free port,
over a fresh database (a temporary SQLite file, or a new PostgreSQL schema in the test
database that is dropped afterwards). The server gets OMNIRETAIL_DATABASE_URL and
OMNIRETAIL_DATABASE_SCHEMA like any deployment.

``relay="process"`` runs the outbox relay as its own process (``benchmarks/_relay.py``: what
``omniretail events relay`` runs, plus a statement count on SIGUSR1; the production layout) with
the API's relay thread off; ``relay="thread"`` keeps it inside the API process (what
``omniretail serve`` does by default).

With ``workers`` > 1, ``listen="reuseport"`` (the default) starts ``benchmarks/_api.py``:
each worker accepts on a listening socket of its own (``SO_REUSEPORT``, what ``omniretail
serve --workers N`` runs), and the kernel spreads connections over them by a hash of their
addresses; ``listen="shared"`` starts ``uvicorn --workers N``, whose workers accept from one
shared socket (the layout before; kept-alive connections could pile onto one worker).
``worker_pids`` and ``connections_per_worker`` show how the connections fell.

``CpuMeter`` reads the CPU time (user + system, ``/proc/<pid>/stat``) of the API processes (the
uvicorn master and its workers), of the relay process and of PostgreSQL, so a benchmark can
report CPU milliseconds per unit of work over its measured window only. On PostgreSQL every
server process connects with ``application_name`` ``omniretail-bench-<schema>`` (``PGAPPNAME``),
which is how ``db`` finds the backends serving this run; ``db_all`` sums every process named
``postgres`` on the machine instead (background writers, autovacuum, and any other client's
work in the window included)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from omniretail.bootstrap import Container, build_container
from omniretail.settings import Settings

LISTEN = ("reuseport", "shared")
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
    # Process ids: the uvicorn master (its workers are its children) and the relay process.
    api_pid: int = 0
    relay_pid: int | None = None
    # The application_name of every database connection the server's processes open.
    app_name: str = ""
    # Where the relay process writes its statement count on SIGUSR1 (``_relay.py``).
    relay_stats: Path | None = None
    port: int = 0

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
    listen: str = "reuseport",
    extra_env: dict[str, str] | None = None,
) -> Iterator[RunningServer]:
    if relay not in ("thread", "process"):
        raise ValueError(f"relay must be 'thread' or 'process', not {relay!r}")
    if listen not in LISTEN:
        raise ValueError(f"listen must be one of {LISTEN}, not {listen!r}")
    with fresh_database(db) as (url, schema), tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        app_name = f"omniretail-bench-{schema or 'sqlite'}"
        relay_stats = Path(scratch) / "relay-stats.json"
        env = {
            **os.environ,
            "OMNIRETAIL_DATABASE_URL": url,
            "OMNIRETAIL_DATABASE_SCHEMA": schema or "",
            "OMNIRETAIL_DB_POOL_SIZE": str(pool_size),
            # Every process on a shared database needs the same key (docs/security.md).
            "OMNIRETAIL_SECRET_KEY": SECRET_KEY,
            # Every process on the server takes its share of the connection budget.
            "OMNIRETAIL_DB_PROCESSES": str(workers + (1 if relay == "process" else 0)),
            # libpq's application_name: how CpuMeter finds this run's PostgreSQL backends.
            "PGAPPNAME": app_name,
            **(extra_env or {}),
        }
        relay_process = None
        if relay == "process":
            env["OMNIRETAIL_RELAY_ENABLED"] = "false"
            relay_env = {
                **env,
                "OMNIRETAIL_DB_POOL_SIZE": "5",
                "OMNIRETAIL_BENCH_RELAY_STATS": str(relay_stats),
            }
            relay_process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("_relay.py"))],
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
        if workers > 1 and listen == "reuseport":
            command = [sys.executable, str(Path(__file__).with_name("_api.py"))]
            command += ["--port", str(port), "--workers", str(workers)]
        process = subprocess.Popen(command, env=env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(base_url, process, workers)
            yield RunningServer(
                base_url,
                url,
                schema,
                workers,
                api_pid=process.pid,
                relay_pid=relay_process.pid if relay_process is not None else None,
                app_name=app_name,
                relay_stats=relay_stats if relay_process is not None else None,
                port=port,
            )
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
    deadline = time.monotonic() + 180
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
    raise RuntimeError("the server did not become healthy within 180 s")


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
    """One keep-alive HTTP/1.1 connection on asyncio streams (``--client raw``).

    Many concurrent httpx clients spend more CPU managing their connection pool than the
    server spends on the request (on 2 shared cores that measures the client, not the
    server), so the concurrent phases use this: one connection per simulated client."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.sent = 0  # requests

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """(status, headers with lower-case names, the JSON body or None)."""
        assert self._reader is not None and self._writer is not None
        self.sent += 1
        payload = b"" if body is None else json.dumps(body).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"X-API-Key: {API_KEY}\r\n{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self._writer.write(head.encode() + payload)
        await self._writer.drain()
        raw_head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *lines = raw_head.decode("latin-1").split("\r\n")
        received = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                received[name.strip().lower()] = value.strip()
        content = await self._reader.readexactly(int(received.get("content-length", "0")))
        return int(status_line.split()[1]), received, json.loads(content) if content else None


class HttpxConnection:
    """The same, through an ``httpx.AsyncClient`` of one keep-alive connection
    (``--client httpx``): the usual Python client, and a dearer one."""

    def __init__(
        self, host: str, port: int, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.host, self.port = host, port
        # another transport than the network: an app's ASGI interface (``flow_cpu.py``)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.sent = 0  # requests

    async def open(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=f"http://{self.host}:{self.port}",
            headers={"X-API-Key": API_KEY},
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=60,
            transport=self._transport,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        assert self._client is not None
        self.sent += 1
        response = await self._client.request(method, path, json=body, headers=headers)
        content = response.content
        return (
            response.status_code,
            dict(response.headers),
            json.loads(content) if content else None,
        )


Connection = RawConnection | HttpxConnection
CLIENTS: dict[str, type[Connection]] = {"raw": RawConnection, "httpx": HttpxConnection}


def add_client_arguments(parser: Any, who: str) -> None:
    """``--client`` and ``--loop``: the HTTP/1.1 client ``who`` (shoppers, buyers) use."""
    parser.add_argument(
        "--client",
        choices=sorted(CLIENTS),
        default="raw",
        help=f"the {who}' HTTP/1.1 client: raw (asyncio streams, lean) or httpx (AsyncClient)",
    )
    parser.add_argument(
        "--loop", choices=["uvloop", "asyncio"], default="uvloop", help="the client's event loop"
    )


def run_client(main: Any, loop: str = "uvloop") -> Any:
    """Runs the benchmark's client coroutine on ``loop``: uvloop (libuv, in C) costs the client
    less CPU per request than asyncio's own loop, CPU the server on the same cores gets."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


# --- CPU time and the relay's work, over a benchmark's measured window ---------------------

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU ms: utime + stime) of a live process, else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The name is in parentheses and may hold spaces; the fields after it are fixed.
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) * 1000 / _TICKS_PER_S


def _all_processes() -> dict[int, tuple[str, int, float]]:
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                found[int(entry.name)] = stat
    return found


def _tree_cpu_ms(root: int | None, processes: dict[int, tuple[str, int, float]]) -> float | None:
    """CPU ms of ``root`` and all its live descendants (uvicorn's workers are children)."""
    if root is None or root not in processes:
        return None
    children: dict[int, list[int]] = {}
    for pid, (_name, ppid, _cpu) in processes.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += processes[pid][2]
        todo.extend(children.get(pid, []))
    return total


def worker_pids(server: RunningServer) -> list[int]:
    """The API's worker processes: the supervisor's children started by multiprocessing's
    spawn (its resource tracker left out), or the one process without workers."""
    if server.workers <= 1:
        return [server.api_pid]
    found = []
    for pid, (_name, ppid, _cpu) in _all_processes().items():
        if ppid != server.api_pid:
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            found.append(pid)
    return sorted(found)


def _socket_inodes(pid: int) -> set[int]:
    found = set()
    with contextlib.suppress(OSError):
        for fd in os.scandir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(fd.path)
                if target.startswith("socket:["):
                    found.add(int(target[8:-1]))
    return found


def connections_per_worker(server: RunningServer) -> dict[int, int]:
    """Established TCP connections to the server's port held by each worker (pid: count)."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            next(rows)
            for row in rows:
                parts = row.split()
                # state 01 is ESTABLISHED
                if parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == server.port:
                    established.add(int(parts[9]))
    return {pid: len(_socket_inodes(pid) & established) for pid in worker_pids(server)}


class CpuMeter:
    """CPU milliseconds of the API, the relay and PostgreSQL between ``start`` and ``stop``.

    ``api``: the uvicorn master and its workers. ``relay``: the relay process (None when the
    relay is a thread in the API processes, whose CPU ``api`` then includes). ``db``: the
    PostgreSQL backends whose ``application_name`` is this run's (the server's connections;
    a backend that exits within the window loses its CPU from the sum, one opened within it
    counts whole). ``db_all``: every process named ``postgres`` on the machine alive at the
    end (all of PostgreSQL's work in the window, other clients' and background processes'
    included; a backend of another client that exited within the window is missing).
    ``workers``: each API worker process's CPU milliseconds (pid: ms; one that exited within
    the window is missing)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self._monitor = (
            None
            if server.database_url.startswith("sqlite")
            else create_engine(
                server.database_url.replace("postgresql://", "postgresql+psycopg://", 1),
                connect_args={"application_name": "omniretail-bench-monitor"},
                pool_size=1,
            )
        )
        self._start: dict[str, Any] = {}
        self._profilers: list[subprocess.Popen[bytes]] = []

    def _backends(self) -> list[int]:
        assert self._monitor is not None
        with self._monitor.connect() as conn:
            return list(
                conn.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": self.server.app_name},
                )
            )

    def _read(self) -> dict[str, Any]:
        backends = self._backends() if self._monitor is not None else []
        processes = _all_processes()
        return {
            "workers": {
                pid: processes[pid][2] for pid in worker_pids(self.server) if pid in processes
            },
            "api": _tree_cpu_ms(self.server.api_pid, processes),
            "relay": _tree_cpu_ms(self.server.relay_pid, processes),
            "db": {pid: processes[pid][2] for pid in backends if pid in processes},
            "db_all": {
                pid: cpu for pid, (name, _ppid, cpu) in processes.items() if name == "postgres"
            }
            if self._monitor is not None
            else None,
        }

    def start(self) -> None:
        self._start_profilers()
        self._start = self._read()

    def _start_profilers(self) -> None:
        """With ``OMNIRETAIL_BENCH_PYSPY=<dir>``: py-spy records the samples holding the GIL
        of the API processes and of the relay over the window (``<dir>/api.txt``,
        ``<dir>/relay.txt``, collapsed stacks: a count per stack)."""
        folder = os.environ.get("OMNIRETAIL_BENCH_PYSPY")
        if not folder:
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        for name, pid in (("api", self.server.api_pid), ("relay", self.server.relay_pid)):
            if pid is None:
                continue
            command = [shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")]
            command += ["record", "--pid", str(pid), "--gil", "--format", "raw"]
            command += ["--rate", "200", "--nonblocking", "-o", f"{folder}/{name}.txt"]
            if name == "api":
                command.append("--subprocesses")
            self._profilers.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        time.sleep(1.0)  # py-spy attaches

    def _stop_profilers(self) -> None:
        for profiler in self._profilers:
            profiler.send_signal(signal.SIGINT)
        for profiler in self._profilers:
            profiler.wait(timeout=60)
        self._profilers = []

    def stop(self) -> dict[str, Any]:
        end, start = self._read(), self._start
        self._stop_profilers()
        delta: dict[str, Any] = {
            "workers": {
                pid: cpu - start["workers"].get(pid, 0.0) for pid, cpu in end["workers"].items()
            }
        }
        for key in ("api", "relay"):
            delta[key] = None if end[key] is None else end[key] - (start[key] or 0.0)
        for key in ("db", "db_all"):
            # per process alive at the end: one that exited in the window took its CPU along
            delta[key] = (
                sum(cpu - start[key].get(pid, 0.0) for pid, cpu in end[key].items())
                if self._monitor is not None
                else None
            )
        return delta

    def close(self) -> None:
        if self._monitor is not None:
            self._monitor.dispose()


def relay_counts(server: RunningServer, timeout: float = 5.0) -> dict[str, int] | None:
    """The relay process's SQL statements and transactions so far (None without one)."""
    if server.relay_pid is None or server.relay_stats is None:
        return None
    server.relay_stats.unlink(missing_ok=True)
    os.kill(server.relay_pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.relay_stats.exists():
            counts: dict[str, int] = json.loads(server.relay_stats.read_text())
            return counts
        time.sleep(0.005)
    raise RuntimeError("the relay process did not report its statement count")


def wait_until_drained(server: RunningServer, timeout: float = 300.0) -> float | None:
    """Seconds until every outbox message is published (all its deliveries done), polling
    every 20 ms; None if some are still unpublished after ``timeout`` (e.g. a retry waits),
    with what holds them up on stderr."""
    engine = create_engine(
        server.database_url.replace("postgresql://", "postgresql+psycopg://", 1),
        **(
            {}
            if server.database_url.startswith("sqlite")
            else {"connect_args": {"application_name": "omniretail-bench-monitor"}}
        ),
    )
    schema = f'"{server.schema}".' if server.schema else ""
    began = time.monotonic()
    try:
        with engine.connect() as conn:
            while time.monotonic() - began < timeout:
                left = conn.scalar(
                    text(f"SELECT count(*) FROM {schema}outbox WHERE published_at IS NULL")
                )
                conn.rollback()
                if not left:
                    return time.monotonic() - began
                time.sleep(0.02)
            waiting = conn.execute(
                text(
                    f"SELECT d.status, d.handler, count(*), max(d.last_error) FROM {schema}outbox o"
                    f" LEFT JOIN {schema}deliveries d ON d.message_id = o.id"
                    " WHERE o.published_at IS NULL GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10"
                )
            ).all()
            print(f"the outbox did not drain in {timeout:.0f} s: {waiting}", file=sys.stderr)
    finally:
        engine.dispose()
    return None
