"""Checkout: many shoppers run the full flow through the real HTTP server.

    python benchmarks/checkout.py --db {sqlite,postgres} --clients 100 --orders 2000

Starts uvicorn in a subprocess over a fresh database (``_server.running_server``), sets a
shop up through the API (a warehouse and two stores, a web channel, ``--skus`` SKUs with
prices and stock; a few SKUs are scarce, so shoppers race for their last units), then lets
``--clients`` concurrent shoppers (asyncio, one keep-alive HTTP/1.1 connection each:
``--client raw``, lean, on asyncio streams, or ``--client httpx``, an ``httpx.AsyncClient``;
on ``--loop uvloop`` or ``asyncio``) place ``--orders`` orders between them. Each order is:
create a cart, add one or two lines, ask for fulfilment options, check out (with an
Idempotency-Key and a test payment token). Every shopper is a guest unless ``--signed-in F``:
then that share of the flows (the first F x 100 of every hundred) open a cart for one of
``--customers`` profiles made at setup, so their events reach the segments, journeys, loyalty
and the timeline too (the relay's work of a signed-in shop).

``--workers N`` (> 1) serves the API from N processes, each accepting on a listening socket
of its own (``--listen reuseport``, the default: ``SO_REUSEPORT``, what ``omniretail serve
--workers N`` runs; the kernel spreads connections by a hash of their addresses and ports) or
all accepting from one shared socket (``--listen shared``: uvicorn's ``--workers``, where a
burst of new connections mostly lands on one worker). ``--connect-pause-ms P`` opens the
shoppers' connections one by one, P ms apart, instead of all at once.

Closed or open loop. By default ``--clients`` shoppers each start their next flow when the
last ends (a closed loop: when each flow takes longer, e.g. ``--payment-latency-ms 300``,
fewer start: 20 clients cannot exceed 20 / (0.3 s + the rest of the flow) flows a second).
``--arrival-rate R`` runs an open loop instead (``benchmarks/_arrivals.py``): ``--orders``
flows arrive R a second (``--arrivals poisson``, seeded, or ``even``), each on a free
connection of a pool that opens more up to ``--clients``; at the cap a flow waits for one,
and is dropped if it still has none ``--max-wait-ms`` after its time.

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

How the API's workers shared the load: ``api_cpu_s_per_worker`` (each worker process's CPU
seconds in the window, busiest first) and ``api_connections_per_worker`` (the established
connections each held once the shoppers had connected, the setup client's idle one
included; open loop: at the end).

With ``--arrival-rate``, also: ``offered_rate_per_s`` (R), ``offered_measured_per_s`` (the
schedule's own rate), ``achieved_rate_per_s`` (flows completed, ordered or sold out, per
second from the first arrival to the last flow's end), ``dropped``, ``late`` (flows that
started over 10 ms after their time: they waited for a connection), ``connections_opened``,
``flow_p50_ms`` / ``flow_p95_ms`` (a completed flow, from its scheduled time: waiting
included) and ``start_delay_p95_ms``; ``throughput_per_s`` still counts orders placed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _arrivals import ConnectionPool, arrival_times, open_loop, summary
from _server import (
    CLIENTS,
    LISTEN,
    Connection,
    CpuMeter,
    add_client_arguments,
    connections_per_worker,
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


def _call(http: httpx.Client, method: str, path: str, body: dict[str, Any]) -> Any:
    response = http.request(method, path, json=body)
    if response.status_code >= 300:
        raise SystemExit(f"setup failed: {method} {path}: {response.status_code} {response.text}")
    return response.json()


def make_customers(http: httpx.Client, count: int) -> list[int]:
    """``count`` customer profiles (``--signed-in``: their carts are theirs)."""
    return [
        _call(
            http,
            "POST",
            f"{API}/customers",
            {
                "name": f"Shopper {i}",
                "identities": [{"kind": "email", "value": f"shopper{i}@example.com"}],
            },
        )["customer"]["id"]
        for i in range(count)
    ]


async def one_flow(
    shopper: Connection,
    n: int,
    skus: list[str],
    rng: random.Random,
    shopper_of: Callable[[int], int | None] = lambda _n: None,
) -> dict[str, Any]:
    """One shopper's order: a cart (``shopper_of(n)``'s, a guest's for None), one or two
    lines, fulfilment options, the checkout."""
    customer = shopper_of(n)
    opening = (
        {"channel": "WEB"} if customer is None else {"channel": "WEB", "customer_id": customer}
    )
    status, headers, cart = await shopper.request("POST", f"{API}/carts", opening)
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


async def shop(
    base_url: str,
    clients: int,
    orders: int,
    skus: list[str],
    client: str = "raw",
    connect_pause_s: float = 0.0,
    on_open: Callable[[], Any] | None = None,
    shopper_of: Callable[[int], int | None] = lambda _n: None,
) -> dict[str, Any]:
    """The closed loop: ``clients`` shoppers, each starting its next flow when the last ends."""
    host, port = base_url.removeprefix("http://").split(":")
    shoppers = [CLIENTS[client](host, int(port)) for _ in range(clients)]
    if connect_pause_s:
        for shopper in shoppers:  # one by one, each accepted before the next
            await shopper.open()
            await shopper.request("GET", f"{API}/health")
            await asyncio.sleep(connect_pause_s)
    else:
        await asyncio.gather(*(s.open() for s in shoppers))
        await asyncio.gather(*(s.request("GET", f"{API}/health") for s in shoppers))
    opened = on_open() if on_open is not None else None
    remaining = [orders]
    results: list[dict[str, Any]] = []
    rng = random.Random(7)

    async def run(shopper: Connection) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            try:
                results.append(await one_flow(shopper, remaining[0], skus, rng, shopper_of))
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
        "opened": opened,
    }


async def shop_open_loop(
    base_url: str,
    rate: float,
    orders: int,
    skus: list[str],
    client: str,
    cap: int,
    arrivals: str,
    max_wait_s: float,
    on_open: Callable[[], Any] | None = None,
    shopper_of: Callable[[int], int | None] = lambda _n: None,
) -> dict[str, Any]:
    """The open loop (``--arrival-rate``): ``orders`` flows arriving ``rate`` a second."""
    host, port = base_url.removeprefix("http://").split(":")
    pool = ConnectionPool(lambda: CLIENTS[client](host, int(port)), cap)
    rng = random.Random(7)
    times = arrival_times(rate, orders, arrivals)
    cpu_began = time.process_time()
    run = await open_loop(
        pool, lambda conn, n: one_flow(conn, n, skus, rng, shopper_of), times, max_wait_s
    )
    run["client_cpu_ms"] = (time.process_time() - cpu_began) * 1000
    run["requests"] = sum(c.sent for c in pool.connections)
    run["opened"] = on_open() if on_open is not None else None
    run["open_loop"] = summary(rate, run, len(pool.connections))
    await pool.close()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--skus", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--listen",
        choices=list(LISTEN),
        default="reuseport",
        help="with --workers > 1: a listening socket per worker (SO_REUSEPORT) or one shared",
    )
    parser.add_argument(
        "--connect-pause-ms",
        type=float,
        default=0,
        help="open the shoppers' connections one by one, this long apart (default: all at once)",
    )
    parser.add_argument(
        "--arrival-rate",
        type=float,
        default=None,
        help="open loop: flows start at this rate a second, each on a free connection of a"
        " pool of at most --clients (default: a closed loop of --clients shoppers)",
    )
    parser.add_argument("--arrivals", choices=["poisson", "even"], default="poisson")
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=1000,
        help="open loop: a flow still without a free connection this long after its time is"
        " dropped",
    )
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
    parser.add_argument(
        "--signed-in",
        type=float,
        default=0.0,
        help="the share of flows (0-1) whose cart belongs to one of --customers profiles made"
        " at setup (default 0: every shopper a guest)",
    )
    parser.add_argument("--customers", type=int, default=200)
    args = parser.parse_args()
    if args.skus <= SCARCE:
        parser.error(f"--skus must be above {SCARCE}")
    if not 0 <= args.signed_in <= 1 or args.customers < 1:
        parser.error("--signed-in is a share from 0 to 1, --customers at least 1")

    with (
        running_server(
            args.db,
            workers=args.workers,
            relay=args.relay,
            listen=args.listen,
            extra_env={"OMNIRETAIL_PAYMENT_TEST_LATENCY_MS": str(args.payment_latency_ms)},
        ) as server,
        httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60) as http,
    ):
        received = set_up(http, args.skus, args.orders)
        profiles = make_customers(http, args.customers) if args.signed_in else []

        def shopper_of(n: int) -> int | None:
            """Flow n's customer: the first ``--signed-in`` share of every hundred flows."""
            return profiles[n % len(profiles)] if n % 100 < args.signed_in * 100 else None

        # The measured window starts once the relay has delivered the setup's events ...
        if wait_until_drained(server) is None:
            raise SystemExit("the relay did not deliver the setup's events")
        meter = CpuMeter(server)
        relay_before = relay_counts(server)
        meter.start()

        def opened() -> list[int]:
            return sorted(connections_per_worker(server).values(), reverse=True)

        if args.arrival_rate:
            flows = shop_open_loop(
                server.base_url,
                args.arrival_rate,
                args.orders,
                sorted(received),
                args.client,
                args.clients,
                args.arrivals,
                args.max_wait_ms / 1000,
                opened,
                shopper_of,
            )
        else:
            flows = shop(
                server.base_url,
                args.clients,
                args.orders,
                sorted(received),
                args.client,
                args.connect_pause_ms / 1000,
                opened,
                shopper_of,
            )
        run = run_client(flows, args.loop)
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
        "listen": args.listen if args.workers > 1 else None,
        "relay": args.relay,
        "client": args.client,
        "loop": args.loop,
        "payment_latency_ms": args.payment_latency_ms,
        "signed_in": args.signed_in,
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
        # how evenly the API's workers shared the load: CPU s each, busiest first, and the
        # connections each held (after the shoppers connected; open loop: at the end)
        "api_cpu_s_per_worker": sorted(
            (round(ms / 1000, 2) for ms in cpu["workers"].values()), reverse=True
        ),
        "api_connections_per_worker": run["opened"],
        **({"arrivals": args.arrivals, **run["open_loop"]} if args.arrival_rate else {}),
        # the client's CPU (this process) per HTTP request: it runs on the server's cores
        "client_cpu_ms_per_request": round(run["client_cpu_ms"] / max(1, run["requests"]), 3),
    }
    print(json.dumps(figures))


def per_flow_figures(
    cpu: dict[str, Any],
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
