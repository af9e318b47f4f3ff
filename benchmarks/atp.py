"""Available-to-promise look-ups over a large network, through the real HTTP server.

    python benchmarks/atp.py --db {sqlite,postgres} [--skus 5000] [--locations 50]

Starts uvicorn over a fresh database, creates the catalog (SKUs, locations, one channel that
sells from every location) through the services, stocks every SKU at every location in bulk
(counter rows and their receipt ledger rows written together, so verify stays clean: this is
setup, not the measured path), then sends ATP look-ups through HTTP from a few concurrent
clients: one SKU for the channel (the sum over its 50 locations), and batches of 50 SKUs.

Server-side time is the ``Server-Timing: app;dur=`` header the API adds to every response:
the time inside the application (routing, auth, validation, the query, serialisation), not
the socket or HTTP parsing. Client-side time is the full round trip seen by the client.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import RawConnection, RunningServer, percentile, running_server, server_timing
from sqlalchemy import insert

from omniretail.catalog import service as catalog
from omniretail.catalog.models import ChannelKind, LocationKind
from omniretail.catalog.schemas import ChannelWrite, LocationWrite, ProductCreate, SkuCreate
from omniretail.inventory.models import StockLevel, StockMovement

API = "/api/v1"
CHANNEL = "WEB"


def stock_network(server: RunningServer, skus: int, locations: int) -> tuple[list[str], float]:
    started = time.perf_counter()
    container = server.container()
    sku_codes = [f"S{i:06d}" for i in range(skus)]
    location_codes = [f"L{i:03d}" for i in range(locations)]
    with container.uow() as uow:
        for i, code in enumerate(location_codes):
            catalog.save_location(
                uow,
                LocationWrite(
                    code=code,
                    name=f"Store {i}",
                    kind=LocationKind.STORE,
                    latitude=50 + i / 20,
                    longitude=-3 + i / 20,
                ),
            )
        catalog.save_channel(
            uow,
            ChannelWrite(
                code=CHANNEL,
                name="Web shop",
                kind=ChannelKind.WEB,
                atp_buffer=2,
                location_codes=location_codes,
            ),
        )
    for start in range(0, skus, 1000):
        with container.uow() as uow:
            catalog.create_product(
                uow,
                ProductCreate(
                    code=f"P{start:06d}",
                    name=f"Product {start}",
                    skus=[SkuCreate(code=c, name=c) for c in sku_codes[start : start + 1000]],
                ),
            )
    rng = random.Random(7)
    now = datetime.now(UTC)
    for start in range(0, skus, 500):
        levels, movements = [], []
        for sku in sku_codes[start : start + 500]:
            for location in location_codes:
                units = rng.randint(1, 40)
                levels.append(
                    {
                        "sku_code": sku,
                        "location_code": location,
                        "on_hand": units,
                        "reserved": 0,
                        "allocated": 0,
                        "in_transit": 0,
                        "safety_stock": rng.choice((0, 0, 1, 2)),
                        "updated_at": now,
                    }
                )
                movements.append(
                    {
                        "sku_code": sku,
                        "location_code": location,
                        "kind": "receipt",
                        "on_hand_delta": units,
                        "reserved_delta": 0,
                        "allocated_delta": 0,
                        "in_transit_delta": 0,
                        "reason": "benchmark setup",
                        "actor": "benchmark",
                        "created_at": now,
                    }
                )
        with container.uow() as uow:
            uow.session.execute(insert(StockLevel), levels)
            uow.session.execute(insert(StockMovement), movements)
    container.dispose()
    return sku_codes, time.perf_counter() - started


async def look_up(
    server: RunningServer, skus: list[str], requests: int, clients: int, batch: int
) -> dict[str, list[float]]:
    rng = random.Random(11)
    host, port = server.base_url.removeprefix("http://").split(":")
    connections = [RawConnection(host, int(port)) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in connections))
    client_ms: list[float] = []
    server_ms: list[float] = []

    async def client(http: RawConnection, count: int) -> None:
        for _ in range(count):
            if batch == 1:
                path = f"{API}/inventory/availability?sku={rng.choice(skus)}&channel={CHANNEL}"
                began = time.perf_counter()
                status, headers, body = await http.request("GET", path)
            else:
                query = {"skus": rng.sample(skus, batch), "channel": CHANNEL}
                began = time.perf_counter()
                status, headers, body = await http.request(
                    "POST", f"{API}/inventory/availability/query", query
                )
            client_ms.append((time.perf_counter() - began) * 1000)
            if status != 200 or len(body) != batch:
                raise SystemExit(f"look-up failed: {status} {body}")
            server_ms.append(server_timing(headers)[0])

    await asyncio.gather(*(client(c, requests // clients) for c in connections))
    await asyncio.gather(*(c.close() for c in connections))
    return {"client": client_ms, "server": server_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--locations", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--relay",
        choices=["thread", "process"],
        default="thread",
        help="outbox relay inside the API process, or as its own process",
    )
    args = parser.parse_args()

    with running_server(args.db, workers=args.workers, relay=args.relay) as server:
        skus, setup_s = stock_network(server, args.skus, args.locations)
        warm = asyncio.run(look_up(server, skus, 200, args.clients, 1))  # caches, pool
        began = time.perf_counter()
        single = asyncio.run(look_up(server, skus, args.requests, args.clients, 1))
        elapsed = time.perf_counter() - began
        batched = asyncio.run(look_up(server, skus, args.requests // 10, args.clients, 50))
        with httpx.Client(base_url=server.base_url, headers=server.headers) as http:
            report = http.get(f"{API}/inventory/verify", timeout=600).json()
    del warm
    print(
        f"{args.db}: {args.skus} SKUs x {args.locations} locations stocked in {setup_s:.1f} s;"
        f" {len(single['server'])} one-SKU channel look-ups in {elapsed:.1f} s"
    )
    result: dict[str, Any] = {
        "benchmark": "atp",
        "db": args.db,
        "skus": args.skus,
        "locations": args.locations,
        "stock_rows": args.skus * args.locations,
        "clients": args.clients,
        "relay": args.relay,
        "requests": len(single["server"]),
        "throughput_per_s": round(len(single["server"]) / elapsed, 1),
        "p50_ms": round(percentile(single["server"], 50), 3),
        "p95_ms": round(percentile(single["server"], 95), 3),
        "client_p50_ms": round(percentile(single["client"], 50), 3),
        "client_p95_ms": round(percentile(single["client"], 95), 3),
        "batch50_p95_ms": round(percentile(batched["server"], 95), 3),
        "batch50_client_p95_ms": round(percentile(batched["client"], 95), 3),
        "p95_ms_measured_by": "Server-Timing app;dur (time inside the application)",
        "setup_s": round(setup_s, 1),
        "verify": "ok" if report["drift"] == [] else "drift",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
