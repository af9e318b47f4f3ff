"""A scale-out topology on loopback for tests and benchmarks: API nodes (``omniretail serve``
processes, each with its own data folder, all with the same secret key and database), relay
processes, and nginx and PgBouncer from the distribution.

nginx and PgBouncer each get a generated configuration in a temporary folder (pid, logs and
temp files there too) and run in the foreground as child processes; the distribution's own
services are not used.
As root, nginx keeps its workers as root (``user root;``) and PgBouncer, which refuses to run
as root, drops to ``nobody`` (``-u``), so its folder is made readable to it.

``postgres_role`` gives a run its own role whose ``search_path`` is its own schema: behind
PgBouncer in transaction pooling no startup option can choose the schema, so the role does
(docs/operations.md, "PgBouncer")."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, make_url, text

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}: {_tail(log)}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within 20 s: {_tail(log)}")


def _listening(
    start: Callable[[int], subprocess.Popen[bytes]], what: str, log: Path
) -> tuple[int, subprocess.Popen[bytes]]:
    """Start on a free port; once more on another if it exits at once (another process took
    the port between the probe and the bind)."""
    for attempt in range(3):
        port = free_port()
        process = start(port)
        try:
            wait_for_port(port, process, what, log)
            return port, process
        except RuntimeError:
            stop(process)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- nginx -----------------------------------------------------------------------------------


def nginx_config(
    folder: Path, port: int, upstreams: Sequence[str], *, expose_upstream: bool = False
) -> str:
    """A load balancer on 127.0.0.1:``port`` over ``upstreams`` (``host:port``): round robin,
    HTTP/1.1 keep-alive connections to the API nodes (closed by nginx before uvicorn's 5 s
    idle timeout could close them under a request). ``expose_upstream`` adds an
    ``X-Upstream`` response header naming the node that answered (tests only)."""
    servers = "\n".join(f"    server {address};" for address in upstreams)
    user = "user root;\n" if os.geteuid() == 0 else ""
    upstream_header = (
        "      add_header X-Upstream $upstream_addr always;\n" if expose_upstream else ""
    )
    temp = "\n".join(
        f"  {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
{temp}
  upstream omniretail {{
{servers}
    keepalive 64;
    keepalive_timeout 4s;
  }}
  server {{
    listen 127.0.0.1:{port} backlog=2048;
    keepalive_timeout 300s;
    keepalive_requests 100000;
    client_max_body_size 8m;
    location / {{
      proxy_pass http://omniretail;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_next_upstream error timeout;
{upstream_header}    }}
  }}
}}
"""


@dataclass(frozen=True)
class Nginx:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    folder: Path


@contextmanager
def nginx(upstreams: Sequence[str], *, expose_upstream: bool = False) -> Iterator[Nginx]:
    """nginx in the foreground (``daemon off``) with its own configuration and prefix."""
    folder = Path(tempfile.mkdtemp(prefix="omniretail-nginx-"))
    conf = folder / "nginx.conf"
    log = folder / "error.log"
    command = [NGINX, "-p", str(folder), "-c", str(conf), "-e", str(log), "-g", "daemon off;"]

    def start(port: int) -> subprocess.Popen[bytes]:
        conf.write_text(nginx_config(folder, port, upstreams, expose_upstream=expose_upstream))
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    port, process = _listening(start, "nginx", log)
    try:
        yield Nginx(f"http://127.0.0.1:{port}", port, process, folder)
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


# --- PostgreSQL role and PgBouncer -----------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """A login role whose search_path is its own schema (same name), on ``direct_url``."""

    name: str
    direct_url: str  # PostgreSQL itself, as this role


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def postgres_role(admin_url: str, prefix: str = "scaleout") -> Iterator[Role]:
    """A fresh role and schema ``<prefix>_<hex>`` (dropped afterwards, with its connections)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_psycopg(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        conn.execute(text(f'CREATE SCHEMA "{name}" AUTHORIZATION "{name}"'))
        conn.execute(text(f'ALTER ROLE "{name}" SET search_path = "{name}"'))
    direct = make_url(_psycopg(admin_url)).set(username=name, password=None)
    try:
        yield Role(name, direct.render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": name},
            )
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
            conn.execute(text(f'DROP OWNED BY "{name}"'))
            conn.execute(text(f'DROP ROLE "{name}"'))
        admin.dispose()


def pgbouncer_config(
    folder: Path,
    port: int,
    *,
    database: str,
    server: str,
    users: Sequence[str],
    pool_size: int,
    max_client_conn: int,
) -> str:
    """Transaction pooling on 127.0.0.1:``port``: the alias ``database`` is ``server``'s
    (``host=... port=... dbname=...``); every user in ``users`` may sign in (trust, for
    loopback tests) and read ``SHOW POOLS`` on the admin console."""
    names = ", ".join(users)
    return f"""[databases]
{database} = {server}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
admin_users = {names}
pool_mode = transaction
max_client_conn = {max_client_conn}
default_pool_size = {pool_size}
reserve_pool_size = 0
server_reset_query =
server_check_delay = 30
ignore_startup_parameters = extra_float_digits
"""


@dataclass(frozen=True)
class PgBouncer:
    port: int
    database: str
    process: subprocess.Popen[bytes]
    folder: Path

    def url(self, user: str) -> str:
        """The SQLAlchemy URL of the pooled database for ``user``."""
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{self.database}"

    def admin_url(self, user: str) -> str:
        """The admin console (``SHOW POOLS``, ``SHOW STATS``), for psycopg directly."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/pgbouncer"


@contextmanager
def pgbouncer(
    direct_url: str,
    users: Sequence[str],
    *,
    pool_size: int = 10,
    max_client_conn: int = 500,
) -> Iterator[PgBouncer]:
    """PgBouncer in transaction pooling in front of ``direct_url``'s server and database."""
    url = make_url(_psycopg(direct_url))
    folder = Path(tempfile.mkdtemp(prefix="omniretail-pgbouncer-"))
    database = url.database or "postgres"
    server = f"host={url.host or '127.0.0.1'} port={url.port or 5432} dbname={database}"
    (folder / "userlist.txt").write_text("".join(f'"{user}" ""\n' for user in users))
    ini = folder / "pgbouncer.ini"
    command = [PGBOUNCER, str(ini)]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        command[1:1] = ["-u", "nobody"]
    log = folder / "pgbouncer.log"

    def start(port: int) -> subprocess.Popen[bytes]:
        ini.write_text(
            pgbouncer_config(
                folder,
                port,
                database=database,
                server=server,
                users=users,
                pool_size=pool_size,
                max_client_conn=max_client_conn,
            )
        )
        if os.geteuid() == 0:
            folder.chmod(0o755)
            for path in folder.iterdir():
                path.chmod(0o644)
        with log.open("wb") as out:
            return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    port, process = _listening(start, "pgbouncer", log)
    try:
        yield PgBouncer(port, database, process, folder)
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


# --- API nodes and relays ------------------------------------------------------------------


@dataclass
class Nodes:
    """Running ``omniretail serve`` nodes (``addresses``: ``127.0.0.1:port``) and relays."""

    addresses: list[str] = field(default_factory=list)
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    relays: list[subprocess.Popen[bytes]] = field(default_factory=list)
    folder: Path = field(default_factory=Path)

    @property
    def urls(self) -> list[str]:
        return [f"http://{address}" for address in self.addresses]


@contextmanager
def api_nodes(count: int, env: Mapping[str, str], *, relays: int = 0) -> Iterator[Nodes]:
    """``count`` API processes (``omniretail serve``, each on a free loopback port) and
    ``relays`` relay processes, all on the database and secret key in ``env``
    (``OMNIRETAIL_*``); each node has its own data folder. With relays the nodes run none
    (``OMNIRETAIL_RELAY_ENABLED=false``); logs go to ``<folder>/<name>.log``."""
    folder = Path(tempfile.mkdtemp(prefix="omniretail-nodes-"))
    nodes = Nodes(folder=folder)
    base = {**os.environ, **env}
    if relays:
        base["OMNIRETAIL_RELAY_ENABLED"] = "false"
    python = sys.executable
    try:
        for i in range(relays):
            nodes.relays.append(
                _start(
                    [python, "-m", "omniretail", "events", "relay"],
                    {**base, "OMNIRETAIL_DATA_DIR": str(folder / f"relay{i}")},
                    folder / f"relay{i}.log",
                )
            )
        logs = [folder / f"node{i}.log" for i in range(count)]
        for i, log in enumerate(logs):
            # Port 0: the node binds a free port itself (no race with another run for it) and
            # names it in its log.
            command = [python, "-m", "omniretail", "serve", "--port", "0"]
            command += ["--forwarded-allow-ips", "127.0.0.1"]
            data_dir = folder / f"node{i}"
            nodes.servers.append(
                _start(command, {**base, "OMNIRETAIL_DATA_DIR": str(data_dir)}, log)
            )
        for process, log in zip(nodes.servers, logs, strict=True):
            nodes.addresses.append(_wait_healthy(process, log))
        yield nodes
    finally:
        for process in nodes.servers + nodes.relays:
            stop(process, timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=out, stderr=subprocess.STDOUT
        )


_RUNNING = re.compile(rb"Uvicorn running on http://(127\.0\.0\.1:\d+)")


def _wait_healthy(process: subprocess.Popen[bytes], log: Path) -> str:
    """The node's address once it answers its health check."""
    # Starting imports the whole application (seconds of CPU): generous for a loaded machine.
    deadline = time.monotonic() + 300
    address = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a node exited with {process.returncode}: {_tail(log)}")
        if address is None and (found := _RUNNING.search(log.read_bytes())):
            address = found.group(1).decode()
        if address is not None:
            try:
                if httpx.get(f"http://{address}/api/v1/health", timeout=5).status_code == 200:
                    return address
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"a node was not healthy within 300 s: {_tail(log)}")
