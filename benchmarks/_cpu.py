"""CPU seconds of a benchmark: this process, its child processes and the PostgreSQL backends
serving their connections (Linux ``/proc``; read as root to see the backends' sockets).

Wall-clock rates depend on what else the machine runs; CPU seconds per unit of work do much
less, so a benchmark can report both. ``CpuMeter`` samples every ``interval`` seconds in a
thread (a process that ends between two samples loses at most that much) and ``mark`` takes a
sample now: the CPU between two marks is their difference. A backend counts when the peer of
its socket is a local port of one of our processes (connections over TCP to 127.0.0.1)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Cpu:
    client_s: float  # this process and its descendants
    database_s: float  # the PostgreSQL backends serving them

    @property
    def total_s(self) -> float:
        return self.client_s + self.database_s

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.client_s - other.client_s, self.database_s - other.database_s)

    def as_dict(self) -> dict[str, float]:
        return {
            "cpu_s": round(self.total_s, 2),
            "client_cpu_s": round(self.client_s, 2),
            "database_cpu_s": round(self.database_s, 2),
        }


def _pids() -> Iterator[int]:
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, command name, utime + stime ticks)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), name, int(fields[11]) + int(fields[12])


def _socket_inodes(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                found.add(int(target[8:-1]))
    except OSError:
        pass
    return found


def _tcp() -> dict[int, tuple[int, int]]:
    """socket inode -> (local port, remote port) of every TCP socket."""
    table: dict[int, tuple[int, int]] = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local = int(parts[1].rsplit(":", 1)[1], 16)
                    remote = int(parts[2].rsplit(":", 1)[1], 16)
                    table[int(parts[9])] = (local, remote)
        except OSError:
            continue
    return table


class CpuMeter:
    def __init__(self, root: int | None = None, interval: float = 0.1) -> None:
        self.root = root or os.getpid()
        self.interval = interval
        self._client: dict[int, int] = {}
        self._database: dict[int, int] = {}
        self._ours: dict[int, bool] = {}  # postgres pid -> serves one of our processes
        self._own = 0.0  # the CPU seconds the sampling itself took (not the benchmark's)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="cpu-meter")

    def start(self) -> CpuMeter:
        self.mark()
        self._thread.start()
        return self

    def stop(self) -> Cpu:
        self._stop.set()
        self._thread.join()
        return self.mark()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.mark()

    def mark(self) -> Cpu:
        """Sample now; the cumulative CPU of everything seen so far (less the sampling's)."""
        started = time.thread_time()
        with self._lock:
            stats = {pid: s for pid in _pids() if (s := _stat(pid)) is not None}
            children: dict[int, list[int]] = {}
            for pid, (parent, _, _) in stats.items():
                children.setdefault(parent, []).append(pid)
            ours, todo = set(), [self.root]
            while todo:
                pid = todo.pop()
                if pid in stats and pid not in ours:
                    ours.add(pid)
                    todo.extend(children.get(pid, []))
            for pid in ours:
                self._client[pid] = stats[pid][2]
            unknown = [
                pid
                for pid, (_, name, _) in stats.items()
                if name == "postgres" and pid not in self._ours
            ]
            if unknown:
                table = _tcp()
                ports = {table[i][0] for pid in ours for i in _socket_inodes(pid) if i in table}
                for pid in unknown:
                    inodes = _socket_inodes(pid)
                    peers = {table[i][1] for i in inodes if i in table}
                    # no TCP peer: postgres' own processes, or a backend of a socket file
                    self._ours[pid] = bool(peers & ports)
            for pid, mine in self._ours.items():
                if mine and pid in stats:
                    self._database[pid] = stats[pid][2]
            self._own += time.thread_time() - started
            client = sum(self._client.values()) / TICK - self._own
            return Cpu(client, sum(self._database.values()) / TICK)


class Phases:
    """Named marks of a ``CpuMeter`` (or none: ``between`` is then None)."""

    def __init__(self, meter: CpuMeter | None = None) -> None:
        self.meter = meter
        self.marks: dict[str, Cpu] = {}

    def mark(self, name: str) -> None:
        if self.meter is not None:
            self.marks[name] = self.meter.mark()

    def between(self, first: str, last: str) -> dict[str, float] | None:
        if first not in self.marks or last not in self.marks:
            return None
        return (self.marks[last] - self.marks[first]).as_dict()
