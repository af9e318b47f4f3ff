"""How evenly kept-alive connections fall on the API's worker processes.

    python benchmarks/connection_spread.py --workers 2 --connections 20 --trials 50

Starts a tiny app (it answers with its process id) under two layouts in turn: ``reuseport``,
a listening socket per worker (``omniretail.commands.workers``, what ``omniretail serve
--workers N`` runs), and ``shared``, uvicorn's ``--workers`` (one socket all workers accept
from). Each trial opens ``--connections`` connections (all at once, or one by one
``--pause-ms`` apart), asks each which process holds it, and closes them. The app does no
work, so the split shows the kernel's choice alone, in seconds rather than a full checkout
run.

The last line printed is one JSON object per layout: ``splits`` (connections on the busiest
worker, per trial), ``mean_busiest_share`` (the busiest worker's share of the connections,
0.5 is even with two workers) and ``worst``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RUNNING = re.compile(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = str(os.getpid()).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def start(layout: str, workers: int, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    if layout == "shared":
        command = [sys.executable, "-m", "uvicorn", "connection_spread:app", "--port", "0"]
        command += ["--workers", str(workers), "--lifespan", "off", "--no-access-log"]
    else:
        code = (
            "import uvicorn; from omniretail.commands.workers import serve_workers;"
            " serve_workers(uvicorn.Config('connection_spread:app', port=0, lifespan='off',"
            f" access_log=False), {workers})"
        )
        command = [sys.executable, "-c", code]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=HERE, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if found := RUNNING.search(log.read_bytes()):
            return process, int(found.group(1))
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the {layout} server did not start: {log.read_text()[-2000:]}")


async def trial(port: int, connections: int, pause_s: float) -> Counter[int]:
    async def holder(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
        return int(await reader.readexactly(length))

    opened = []
    if pause_s:
        for _ in range(connections):
            opened.append(await asyncio.open_connection("127.0.0.1", port))
            await asyncio.sleep(pause_s)
    else:
        opened = await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", port) for _ in range(connections))
        )
    pids = await asyncio.gather(*(holder(r, w) for r, w in opened))
    for _reader, writer in opened:
        writer.close()
    return Counter(pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--pause-ms", type=float, default=0)
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory() as scratch:
        for layout in ("reuseport", "shared"):
            process, port = start(layout, args.workers, Path(scratch) / f"{layout}.log")
            try:
                time.sleep(3)  # every worker up
                busiest = []
                for _ in range(args.trials):
                    counts = asyncio.run(trial(port, args.connections, args.pause_ms / 1000))
                    split = [counts.get(pid, 0) for pid in counts] + [0] * args.workers
                    busiest.append(max(split))
                    time.sleep(0.05)
            finally:
                process.terminate()
                process.wait(30)
            figures[layout] = {
                "splits": busiest,
                "mean_busiest_share": round(statistics.mean(busiest) / args.connections, 3),
                "worst": max(busiest),
            }
    print(json.dumps({"connections": args.connections, "pause_ms": args.pause_ms, **figures}))


if __name__ == "__main__":
    main()
