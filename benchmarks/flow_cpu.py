"""The API's own work per checkout flow, in one process, without the HTTP server or a network.

    python benchmarks/flow_cpu.py --db postgres --flows 300
    python benchmarks/flow_cpu.py --db postgres --flows 30 --warm 30 --instructions

Builds the app in this process on a fresh database (``_server.fresh_database``), sets the
shop of ``benchmarks/checkout.py`` up through it, then runs ``--warm`` flows and the
``--flows`` measured ones one after another (``checkout.one_flow``: a cart, one or two lines,
fulfilment options, the checkout), each request handed to the app through its ASGI interface
(``httpx.ASGITransport``) on this process's event loop, the app's thread pool doing the rest
as under uvicorn. PostgreSQL runs in its own processes, so what is counted is the API's side:
FastAPI and the middleware, the use cases, SQLAlchemy and psycopg (and the in-process client,
a small share). No background work runs (the relay, jobs, sweeps: their periodic passes
would be counted too, and 50 times more often under callgrind); the relay's work a flow is
``checkout.py``'s ``relay`` figure.

Why: on a shared machine ``checkout.py``'s figures move by a third from one run to the next,
so a change worth 2 % of the CPU cannot be seen there. ``--instructions`` runs this script
again under valgrind's callgrind, instrumented only while the measured flows run, and prints
the instructions a flow (all threads): the same code gives the same count to within about
0.5 %, whatever else the machine does. It needs valgrind (``apt-get install valgrind``) and
takes a minute for 30 flows (about 50 times slower than natively).

The last line printed is one JSON object: ``flows`` (measured), ``ordered``, ``sold_out``,
``errors``, ``cpu_ms_per_flow`` (this process's user + system CPU a flow; under callgrind,
valgrind's), ``wall_ms_per_flow`` and, with ``--instructions``, ``instructions_per_flow``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server
import checkout
from _server import SECRET_KEY, HttpxConnection, fresh_database
from starlette.testclient import TestClient

from omniretail.app import create_app
from omniretail.bootstrap import build_container
from omniretail.settings import Settings


def _callgrind(command: str) -> None:
    """Instrumentation on or off for this process when it runs under callgrind."""
    subprocess.run(
        ["callgrind_control", "-i", command, str(os.getpid())], check=True, capture_output=True
    )


def measure(
    db: str, flows: int, warm: int, skus: int, signed_in: float, customers: int
) -> dict[str, Any]:
    counting = bool(os.environ.get("OMNIRETAIL_BENCH_CALLGRIND"))  # run by under_callgrind
    with fresh_database(db) as (url, schema):
        settings = Settings(
            database_url=url,
            database_schema=schema,
            db_pool_size=10,
            secret_key=SECRET_KEY,  # type: ignore[arg-type]
        )
        container = build_container(settings)
        app = create_app(container, background_sweep=False)  # no loops beside the flows
        headers = {"X-API-Key": _server.API_KEY}
        try:
            with TestClient(app, headers=headers) as setup:  # runs the app's lifespan
                checkout.set_up(setup, skus, warm + flows)
                profiles = checkout.make_customers(setup, customers) if signed_in else []
                codes = [f"B{i:04d}" for i in range(skus)]

                def shopper_of(n: int) -> int | None:
                    return profiles[n % len(profiles)] if n % 100 < signed_in * 100 else None

                async def run(first: int, count: int) -> list[str]:
                    shopper = HttpxConnection("flow-cpu", 80, httpx.ASGITransport(app=app))
                    await shopper.open()
                    try:
                        rng = random.Random(first)
                        outcomes = []
                        for n in range(first, first + count):
                            flow = await checkout.one_flow(shopper, n, codes, rng, shopper_of)
                            outcomes.append(flow["outcome"])
                        return outcomes
                    finally:
                        await shopper.close()

                asyncio.run(run(warm + flows, warm))  # other numbers than the measured ones
                if counting:
                    _callgrind("on")
                cpu, wall = time.process_time(), time.perf_counter()
                outcomes = asyncio.run(run(0, flows))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                if counting:
                    _callgrind("off")
        finally:
            container.dispose()
    counted = Counter(outcomes)
    return {
        "db": db,
        "flows": flows,
        "signed_in": signed_in,
        "ordered": counted["ordered"],
        "sold_out": counted["sold_out"],
        "errors": flows - counted["ordered"] - counted["sold_out"],
        "cpu_ms_per_flow": round(cpu * 1000 / flows, 2),
        "wall_ms_per_flow": round(wall * 1000 / flows, 2),
    }


def under_callgrind(argv: list[str], flows: int) -> dict[str, Any]:
    """This script again, under callgrind; its figures with the instructions a flow."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"  # its profile, not read here
        inner = [a for a in argv if a != "--instructions"]
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        command += [f"--callgrind-out-file={out}", sys.executable, __file__, *inner]
        env = {**os.environ, "OMNIRETAIL_BENCH_CALLGRIND": "1"}
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the run under callgrind failed:\n{done.stderr[-2000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    # valgrind's own summary: the instructions executed while instrumentation was on
    collected = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if collected is None:
        raise SystemExit(f"callgrind reported no count:\n{done.stderr[-2000:]}")
    figures["instructions_per_flow"] = int(collected.group(1)) // flows
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--flows", type=int, default=300, help="measured flows")
    parser.add_argument("--warm", type=int, default=100, help="flows run first, not measured")
    parser.add_argument("--skus", type=int, default=40)
    parser.add_argument(
        "--signed-in", type=float, default=0.0, help="share of flows by a signed-in customer"
    )
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the instructions a flow, under valgrind's callgrind (slow)",
    )
    args = parser.parse_args()
    if args.flows < 1 or args.warm < 0 or not 0 <= args.signed_in <= 1:
        parser.error("--flows must be positive, --warm not negative, --signed-in in [0, 1]")
    if args.instructions:
        figures = under_callgrind(sys.argv[1:], args.flows)
    else:
        figures = measure(args.db, args.flows, args.warm, args.skus, args.signed_in, args.customers)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
