"""Checkout: many shoppers run the full flow through the real HTTP server.

    python benchmarks/checkout.py --db {sqlite,postgres} --clients 100 --orders 2000

Starts uvicorn in a subprocess over a fresh database (``_server.running_server``), sets a
shop up through the API (a warehouse and two stores, a web channel, ``--skus`` SKUs with
prices and stock; a few SKUs are scarce, so shoppers race for their last units), then lets
``--clients`` concurrent shoppers (asyncio, one keep-alive HTTP/1.1 connection each:
``--client raw``, lean, on asyncio streams, or ``--client httpx``, an ``httpx.AsyncClient``;
on ``--loop uvloop`` or ``asyncio``) place ``--orders`` orders between them. Each order is:
create a cart, add one or two lines, ask for fulfilment options, check out (with an
Idempotency-Key and a test payment token).

The last line printed is one JSON object: ``orders`` (placed), ``throughput_per_s`` (orders
placed per second, whole flow), ``p50_ms`` / ``p95_ms`` (checkout requests, client side),
``server_p50_ms`` / ``server_p95_ms`` (inside the application, from Server-Timing),
``sql_per_checkout`` (mean statements per successful checkout request, from Server-Timing),
``sql_per_flow`` (mean statements of a completed flow's requests together, from their
Server-Timing), ``oversold`` (units ordered beyond the units received, summed over SKUs; must
be 0), ``sold_out`` (flows refused for lack of stock), ``errors`` (flows refused otherwise) and
``drift`` (inventory verify findings).

CPU and the relay, per completed flow, over the measured window only: it starts once the relay
has delivered the setup's events and ends once the outbox is drained after the last flow
(every message published), so the relay's work for the flows is inside it.
``cpu_ms_per_flow``: user + system CPU milliseconds (``/proc/<pid>/stat``) of ``api`` (the
uvicorn master and its workers; with ``--relay thread`` the relay's work too), ``relay`` (the
relay process, ``--relay process``; else None), ``db`` (the PostgreSQL backends serving the
server's connections, found by their ``application_name``), ``total`` (the three), and
``db_all`` (every process named ``postgres`` on the machine alive at the end: all PostgreSQL
did in the window, background writers, autovacuum and other clients' work included).
``relay_drain_s``: seconds from the last flow's end until the outbox was drained.
``relay_sql_per_flow`` and ``relay_transactions_per_flow`` (``--relay process``): statements
(BEGIN excluded) and commits the relay process sent in the window. The client itself and the
drain polling are in none of these; ``client_cpu_ms_per_request`` is the client's CPU (this
process, ``time.process_time``) per HTTP request over the flows: on this machine it runs on
the server's cores, so a dearer client lowers every rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (
    CLIENTS,
    Connection,
    CpuMeter,
    add_client_arguments,
    percentile,
    relay_counts,
    run_client,
    running_server,
    server_timing,
    wait_until_drained,
)

API = "/api/v1"
SCARCE = 5  # SKUs with few units
SCARCE_UNITS = 30


def set_up(http: httpx.Client, skus: int, orders: int) -> dict[str, int]:
    """The shop through the API; returns the units received per SKU."""
    stores = [
        ("DC1", "Midlands DC", "warehouse", 52.4862, -1.8904, 0),
        ("LON1", "London Oxford St", "store", 51.5154, -0.1410, 0),
        ("LON2", "London Camden", "store", 51.5390, -0.1426, 0),
    ]
    for code, name, kind, lat, lon, capacity in stores:
        _call(
            http,
            "PUT",
            f"{API}/locations/{code}",
            {
                "code": code,
                "name": name,
                "kind": kind,
                "latitude": lat,
                "longitude": lon,
                "capabilities": {
                    "ships_to_home": True,
                    "pickup": kind == "store",
                    "ship_to_store_target": kind == "store",
                },
                "daily_capacity": capacity,
            },
        )
    _call(
        http,
        "PUT",
        f"{API}/channels/WEB",
        {
            "code": "WEB",
            "name": "Web shop",
            "kind": "web",
            "location_codes": ["DC1", "LON1", "LON2"],
        },
    )
    codes = [f"B{i:04d}" for i in range(skus)]
    _call(
        http,
        "POST",
        f"{API}/products",
        {
            "code": "BENCH",
            "name": "Benchmark range",
            "skus": [{"code": c, "name": f"Item {c}", "price": "12.50"} for c in codes],
        },
    )
    received: dict[str, int] = {}
    plenty = orders * 2  # every plentiful SKU could serve every order twice over
    for i, code in enumerate(codes):
        units = SCARCE_UNITS if i < SCARCE else plenty
        _call(
            http,
            "POST",
            f"{API}/inventory/receipts",
            {"sku": code, "location": "DC1", "quantity": units},
        )
        received[code] = units
    return received


def _call(http: httpx.Client, method: str, path: str, body: dict[str, Any]) -> None:
    response = http.request(method, path, json=body)
    if response.status_code >= 300:
        raise SystemExit(f"setup failed: {method} {path}: {response.status_code} {response.text}")


async def shop(
    base_url: str, clients: int, orders: int, skus: list[str], client: str = "raw"
) -> dict[str, Any]:
    host, port = base_url.removeprefix("http://").split(":")
    shoppers = [CLIENTS[client](host, int(port)) for _ in range(clients)]
    await asyncio.gather(*(s.open() for s in shoppers))
    await asyncio.gather(*(s.request("GET", f"{API}/health") for s in shoppers))
    remaining = [orders]
    results: list[dict[str, Any]] = []
    rng = random.Random(7)

    async def one_flow(shopper: Connection, n: int) -> dict[str, Any]:
        status, headers, cart = await shopper.request("POST", f"{API}/carts", {"channel": "WEB"})
        flow_sql = server_timing(headers)[1]
        if status != 201:
            return {"outcome": "error", "status": status, "step": "cart"}
        token = cart["token"]
        picks = rng.sample(skus, 2 if n % 3 == 0 else 1)
        # one order in four asks for a scarce SKU, so the last units are raced for
        if n % 4 == 0:
            picks[0] = skus[n % SCARCE]
        lines: dict[str, int] = {}
        for sku in picks:
            status, headers, body = await shopper.request(
                "POST", f"{API}/carts/{token}/lines", {"sku": sku, "quantity": 1}
            )
            flow_sql += server_timing(headers)[1]
            if status == 409:
                return {"outcome": "sold_out"}
            if status != 200:
                return {"outcome": "error", "status": status, "step": "line"}
            lines[sku] = 1
        status, headers, body = await shopper.request(
            "GET", f"{API}/carts/{token}/fulfilment-options?lat=51.545&lon=-0.15"
        )
        flow_sql += server_timing(headers)[1]
        if status != 200:
            return {"outcome": "error", "status": status, "step": "options"}
        began = time.perf_counter()
        status, headers, body = await shopper.request(
            "POST",
            f"{API}/carts/{token}/checkout",
            {
                "fulfilment": {"method": "ship_to_home", "latitude": 51.545, "longitude": -0.15},
                "payment": {"provider_token": "tok_visa"},
                "contact_email": "shopper@example.com",
            },
            {"Idempotency-Key": f"bench-{token}"},
        )
        elapsed = (time.perf_counter() - began) * 1000
        if status == 409:
            return {"outcome": "sold_out"}
        if status != 201:
            return {"outcome": "error", "status": status, "step": "checkout"}
        app_ms, statements = server_timing(headers)
        return {
            "outcome": "ordered",
            "ms": elapsed,
            "server_ms": app_ms,
            "sql": statements,
            "flow_sql": flow_sql + statements,
            "lines": {ln["sku"]: ln["quantity"] for ln in body["lines"]},
        }

    async def run(shopper: Connection) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            try:
                results.append(await one_flow(shopper, remaining[0]))
            except (OSError, asyncio.IncompleteReadError) as exc:
                # the server dropped the connection (e.g. after an unhandled error): count it
                # and carry on with a new one
                results.append({"outcome": "error", "status": type(exc).__name__})
                await shopper.close()
                await shopper.open()

    sent_before = sum(s.sent for s in shoppers)
    started, cpu_began = time.perf_counter(), time.process_time()
    await asyncio.gather(*(run(s) for s in shoppers))
    elapsed = time.perf_counter() - started
    client_cpu_ms = (time.process_time() - cpu_began) * 1000
    requests = sum(s.sent for s in shoppers) - sent_before
    await asyncio.gather(*(s.close() for s in shoppers))
    return {
        "elapsed_s": elapsed,
        "results": results,
        "client_cpu_ms": client_cpu_ms,
        "requests": requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--skus", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--relay",
        choices=["thread", "process"],
        default="thread",
        help="outbox relay inside the API process, or as its own process",
    )
    add_client_arguments(parser, "shoppers")
    parser.add_argument(
        "--payment-latency-ms",
        type=int,
        default=0,
        help="the test payment provider's time per authorisation (a real one: 200-1,500 ms)",
    )
    args = parser.parse_args()
    if args.skus <= SCARCE:
        parser.error(f"--skus must be above {SCARCE}")

    with (
        running_server(
            args.db,
            workers=args.workers,
            relay=args.relay,
            extra_env={"OMNIRETAIL_PAYMENT_TEST_LATENCY_MS": str(args.payment_latency_ms)},
        ) as server,
        httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60) as http,
    ):
        received = set_up(http, args.skus, args.orders)
        # The measured window starts once the relay has delivered the setup's events ...
        if wait_until_drained(server) is None:
            raise SystemExit("the relay did not deliver the setup's events")
        meter = CpuMeter(server)
        relay_before = relay_counts(server)
        meter.start()
        run = run_client(
            shop(server.base_url, args.clients, args.orders, sorted(received), args.client),
            args.loop,
        )
        # ... and ends once it has delivered every event of the flows.
        drain_s = wait_until_drained(server)
        cpu = meter.stop()
        relay_after = relay_counts(server)
        meter.close()
        drift = http.get(f"{API}/inventory/verify").json()["drift"]

    ordered = [r for r in run["results"] if r["outcome"] == "ordered"]
    units: dict[str, int] = {}
    for r in ordered:
        for sku, qty in r["lines"].items():
            units[sku] = units.get(sku, 0) + qty
    oversold = sum(max(0, qty - received.get(sku, 0)) for sku, qty in units.items())
    latencies = [r["ms"] for r in ordered]
    server_ms = [r["server_ms"] for r in ordered]
    figures = {
        "db": args.db,
        "clients": args.clients,
        "workers": args.workers,
        "relay": args.relay,
        "client": args.client,
        "loop": args.loop,
        "payment_latency_ms": args.payment_latency_ms,
        "orders": len(ordered),
        "sold_out": sum(1 for r in run["results"] if r["outcome"] == "sold_out"),
        # requests refused for another reason (e.g. 503 when SQLite's write lock times out)
        "errors": sum(1 for r in run["results"] if r["outcome"] == "error"),
        "elapsed_s": round(run["elapsed_s"], 2),
        "throughput_per_s": round(len(ordered) / run["elapsed_s"], 1),
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "server_p50_ms": round(percentile(server_ms, 50), 1) if server_ms else None,
        "server_p95_ms": round(percentile(server_ms, 95), 1) if server_ms else None,
        "sql_per_checkout": round(statistics.mean(r["sql"] for r in ordered), 2)
        if ordered
        else None,
        "sql_per_flow": round(statistics.mean(r["flow_sql"] for r in ordered), 2)
        if ordered
        else None,
        "oversold": oversold,
        "drift": len(drift),
        **per_flow_figures(cpu, relay_before, relay_after, drain_s, len(ordered)),
        # the client's CPU (this process) per HTTP request: it runs on the server's cores
        "client_cpu_ms_per_request": round(run["client_cpu_ms"] / max(1, run["requests"]), 3),
    }
    print(json.dumps(figures))


def per_flow_figures(
    cpu: dict[str, float | None],
    relay_before: dict[str, int] | None,
    relay_after: dict[str, int] | None,
    drain_s: float | None,
    flows: int,
) -> dict[str, Any]:
    """CPU ms and relay statements per completed flow over the measured window."""

    def per_flow(value: float | None) -> float | None:
        return None if value is None or not flows else round(value / flows, 2)

    split = {key: per_flow(cpu[key]) for key in ("api", "relay", "db")}
    parts = [v for v in split.values() if v is not None]
    figures: dict[str, Any] = {
        "cpu_ms_per_flow": {
            **split,
            "total": round(sum(parts), 2) if parts else None,
            "db_all": per_flow(cpu["db_all"]),
        },
        "relay_drain_s": None if drain_s is None else round(drain_s, 2),
    }
    if relay_before is not None and relay_after is not None:
        figures["relay_sql_per_flow"] = per_flow(
            relay_after["statements"] - relay_before["statements"]
        )
        figures["relay_transactions_per_flow"] = per_flow(
            relay_after["transactions"] - relay_before["transactions"]
        )
    return figures


if __name__ == "__main__":
    main()
