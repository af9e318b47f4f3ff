"""Several uvicorn worker processes on one port, each accepting on a listening socket of its
own (``SO_REUSEPORT``): the kernel spreads new connections over the sockets by a hash of
their addresses and ports. With uvicorn's ``--workers`` every worker accepts from one shared
socket instead, and whichever worker wakes first takes a whole burst of connections, so
kept-alive clients can pile onto one worker while the other idles (docs/performance.md,
"Balanced API workers").

``Workers`` supervises them like uvicorn's multiprocess manager: a worker that dies or stops
answering its health check is replaced (with a socket of its own again); SIGINT or SIGTERM
stops them all. The supervisor keeps one socket bound to the port but never listening: it
holds the port (``port=0`` picks a free one) and is never handed a connection."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Process

log = logging.getLogger("uvicorn.error")

# A worker importing the application on a loaded machine can take minutes to answer at first.
STARTUP_TIMEOUT_S = 300.0
TICK_S = 0.5
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that others of this user may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class WorkerProcess(Process):
    """uvicorn's worker process, stopped (SIGTERM: a graceful stop) when its supervisor dies,
    even by SIGKILL: an orphaned worker would go on taking its share of the port's connections
    with nobody to replace or stop it, beside a new supervisor's workers."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        self.supervisor = os.getpid()
        super().__init__(config, sockets)

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        stop_with_parent(self.supervisor)  # runs in the worker (coverage does not follow)
        super().target(sockets)


def stop_with_parent(parent: int) -> None:
    """Linux: the kernel sends this process SIGTERM when ``parent`` dies; if it died already
    (before the request was made), at once."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class _Worker:
    process: WorkerProcess
    started_at: float
    ready: bool = False
    pinged_at: float | None = None


class Workers:
    """``count`` single-process uvicorn servers of ``config`` on ``config.host:config.port``."""

    def __init__(self, config: uvicorn.Config, count: int) -> None:
        self.config = config
        self.count = count
        self.workers: list[_Worker] = []
        self.should_exit = False
        self._anchor: socket.socket | None = None
        self.port = config.port

    def run(self) -> None:
        try:
            self._anchor = reuse_port_socket(self.config.host, self.config.port)
        except OSError as exc:
            log.error(exc)
            raise SystemExit(STARTUP_FAILURE) from None
        self.port = self._anchor.getsockname()[1]
        scheme = "https" if self.config.is_ssl else "http"
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        log.info("Uvicorn running on %s://%s:%d (Press CTRL+C to quit)", scheme, host, self.port)
        log.info("Started parent process [%d], %d workers", os.getpid(), self.count)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._exit)
        try:
            self.workers = [self._start() for _ in range(self.count)]
            while not self.should_exit:
                time.sleep(TICK_S)
                self.keep_alive()
        finally:
            self._stop_all()
            self._anchor.close()
            log.info("Stopping parent process [%d]", os.getpid())

    def _exit(self, _signum: int, _frame: object) -> None:
        self.should_exit = True  # the loop stops the workers (no locks taken in a handler)

    def _start(self) -> _Worker:
        sock = reuse_port_socket(self.config.host, self.port)
        sock.set_inheritable(True)
        process = WorkerProcess(self.config, [sock])
        process.start()
        # The worker has its own copy now: were ours left open, the socket would outlive a
        # dead worker and take its share of connections with nobody accepting them.
        sock.close()
        return _Worker(process, time.monotonic())

    def keep_alive(self) -> None:
        """Replaces every worker that exited or does not answer; non-blocking: one health
        check ping is outstanding per worker at a time."""
        for index, worker in enumerate(self.workers):
            if self.should_exit:
                return
            if self._healthy(worker):
                continue
            hung = worker.process.process.is_alive()
            worker.process.kill()
            worker.process.join()
            if worker.process.exitcode == STARTUP_FAILURE:
                log.error("Worker [%s] failed to start: stopping.", worker.process.pid)
                self.should_exit = True
                return
            log.warning(
                "Worker [%s] %s: replacing it",
                worker.process.pid,
                "stopped answering" if hung else f"exited (code {worker.process.exitcode})",
            )
            self.workers[index] = self._start()

    def _healthy(self, worker: _Worker) -> bool:
        if not worker.process.process.is_alive():
            return False
        conn, now = worker.process.parent_conn, time.monotonic()
        try:
            if worker.pinged_at is None:
                conn.send(b"ping")
                worker.pinged_at = now
                return True
            if conn.poll(0):
                worker.ready = worker.ready or bool(conn.recv())
                worker.pinged_at = None
                return True
        except (OSError, EOFError):
            return False
        limit = self.config.timeout_worker_healthcheck if worker.ready else STARTUP_TIMEOUT_S
        return now - worker.pinged_at < limit

    def _stop_all(self) -> None:
        for worker in self.workers:
            if worker.process.process.is_alive():
                worker.process.terminate()
        deadline = time.monotonic() + (self.config.timeout_graceful_shutdown or 30) + 5
        for worker in self.workers:
            worker.process.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.process.is_alive():
                worker.process.kill()
                worker.process.join()

    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers if w.process.pid is not None]


def serve_workers(config: uvicorn.Config, count: int) -> None:
    Workers(config, count).run()
