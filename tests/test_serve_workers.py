"""``omniretail serve --workers N``: N worker processes on one port, each accepting on a
listening socket of its own (``SO_REUSEPORT``), supervised: a worker that dies is replaced,
SIGTERM stops them all. The supervisor runs a tiny app (``tests/pid_app.py``, it answers
with its process id) so that starting three processes takes a second, not the whole
application's import in each."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omniretail.commands import server
from omniretail.commands.main import app

ROOT = Path(__file__).resolve().parents[1]
SUPERVISOR = """
import uvicorn
from omniretail.commands.workers import serve_workers
config = uvicorn.Config("tests.pid_app:app", host="127.0.0.1", port=0, lifespan="off")
serve_workers(config, 2)
"""
RUNNING = re.compile(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def _wait(condition: Any, what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _answering_pid(port: int) -> int | None:
    """The pid that answers a new connection (the kernel picks a worker's socket for each)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            reply = b""
            while chunk := conn.recv(4096):
                reply += chunk
    except OSError:
        return None
    return int(reply.partition(b"\r\n\r\n")[2])


def _pids_seen(port: int, attempts: int = 60) -> set[int]:
    """The workers answering ``attempts`` connections (fewer once two have answered)."""
    seen: set[int] = set()
    for _ in range(attempts):
        if (pid := _answering_pid(port)) is not None:
            seen.add(pid)
        if len(seen) == 2:
            break
    return seen


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _listening_sockets(port: int) -> set[int]:
    """Inodes of the sockets listening on ``port`` (state 0A in ``/proc/net/tcp``)."""
    inodes = set()
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = row.split()
        if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
            inodes.add(int(parts[9]))
    return inodes


def _sockets_of(pid: int) -> set[int]:
    found = set()
    for fd in os.scandir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(fd.path)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    log = tmp_path / "supervisor.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        port = int(_wait(lambda: RUNNING.search(log.read_bytes()), "the port").group(1))
        _wait(lambda: len(_listening_sockets(port)) == 2, "two listening workers")
        yield process, port
    finally:
        children = _children(process.pid)  # once it is gone, they are init's children
        if process.poll() is None:
            process.kill()
            process.wait()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def _gone(pid: int) -> bool:
    """Exited (no such process, or a zombie nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def test_two_workers_answer_on_one_port_each_from_a_socket_of_its_own(
    supervisor: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = supervisor
    workers = _pids_seen(port)
    assert len(workers) == 2 and workers <= _children(process.pid)
    listening = _listening_sockets(port)
    # one listening socket per worker (uvicorn's --workers shares one between them)
    assert [len(_sockets_of(pid) & listening) for pid in sorted(workers)] == [1, 1]
    assert not _sockets_of(process.pid) & listening


def test_a_killed_worker_is_replaced_and_sigterm_stops_all(
    supervisor: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = supervisor
    first = _wait(lambda: len(s := _pids_seen(port)) == 2 and s, "both workers")
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    now = _wait(
        lambda: len(s := _pids_seen(port, 30)) == 2 and victim not in s and s,
        "a replacement worker",
    )
    assert len(now - first) == 1
    assert len(_listening_sockets(port)) == 2  # the dead worker's socket went with it

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    for pid in now:
        assert not Path(f"/proc/{pid}").exists()
    assert _answering_pid(port) is None


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_the_workers_stop_when_the_supervisor_is_killed(
    supervisor: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = supervisor
    workers = _wait(lambda: len(s := _pids_seen(port)) == 2 and s, "both workers")
    process.kill()  # SIGKILL: the supervisor stops nothing itself
    process.wait()
    try:
        _wait(lambda: all(_gone(pid) for pid in workers), "the orphaned workers to stop")
        assert _answering_pid(port) is None
    finally:
        for pid in workers:  # no orphan outlives a failure
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_serve_with_workers_runs_the_supervisor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[Any, int]] = []
    monkeypatch.setattr(server, "serve_workers", lambda config, n: started.append((config, n)))
    monkeypatch.setattr(server.uvicorn, "run", lambda *_a, **_k: pytest.fail("uvicorn.run"))
    for name in ("OMNIRETAIL_DATABASE_URL", "OMNIRETAIL_DB_PROCESSES"):
        monkeypatch.setenv(name, "x")  # run_server sets them: put back as they were after
        monkeypatch.delenv(name)
    result = CliRunner().invoke(
        app,
        ["serve", "--db", f"sqlite:///{tmp_path / 'serve.db'}", "--workers", "2", "--port", "0"],
        env={"OMNIRETAIL_DATA_DIR": str(tmp_path), "OMNIRETAIL_FORWARDED_ALLOW_IPS": ""},
    )
    assert result.exit_code == 0, result.output
    [(config, count)] = started
    assert count == 2
    assert (config.app, config.factory, config.port) == ("omniretail.app:create_app", True, 0)
