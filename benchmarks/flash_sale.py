"""Flash sale: many buyers race for a few units through the real HTTP server.

    python benchmarks/flash_sale.py --db {sqlite,postgres} --buyers 200 --units 50

Starts uvicorn in a subprocess over a fresh database, sets one SKU up with ``--units`` units
through the API, then lets ``--buyers`` concurrent clients (asyncio, one keep-alive
HTTP/1.1 connection each, opened and warmed before the sale starts; ``--client raw``, lean, on
asyncio streams, or ``httpx``, an ``httpx.AsyncClient``; on ``--loop uvloop`` or ``asyncio``)
each reserve one unit
and buy it: ``--flow reserve`` sells the reservation at the till's endpoint,
``--flow checkout`` (the default) puts it in a cart and checks out with a card, the test
provider taking ``--payment-latency-ms`` per authorisation. Exactly ``--units`` must
succeed; the others must get a 409 out-of-stock (``lines-unavailable`` for a cart line)
problem. Before the sale, a sequential batch of reservations on another SKU measures SQL
statements per reservation (GET /metrics before and after, with one server process; and the
per-request Server-Timing count).

``--per-buyer N`` makes each buyer buy N times in a row, and ``--units large`` stocks one
unit for every attempt (buyers x per-buyer), so the sale measures the hot SKU's rate rather
than a sell-out; ``--no-sell`` (with ``--flow reserve``) leaves each hold unsold, so every
request is a reservation. On PostgreSQL the run first measures pgbench on the same server:
``pgbench -n -f`` of one ``UPDATE hot SET qty = qty - 1 WHERE id = 1`` on a scratch table (its
own schema, dropped afterwards) with ``--pgbench-clients`` connections (default: the buyers,
at most 50) for ``--pgbench-seconds`` (5), committing as the server is configured.

    python benchmarks/flash_sale.py --db postgres --workers 2 --relay process --flow reserve \
        --no-sell --buyers 20 --per-buyer 50 --units large

The last line printed is one JSON object (see the keys in ``main``); latencies are of the
reservation requests, client side (``p50_ms``, ``p95_ms``) and server side (``server_*``,
from the Server-Timing header: time inside the application). ``reserved``: reservations
granted; ``reservations_per_s``: those per second of the sale (with the sells in between
unless ``--no-sell``); ``pgbench_update_tps``: pgbench's single-row UPDATEs per second
(``pgbench_clients`` connections); ``ratio_vs_pgbench``: ``reservations_per_s`` over it (None
on SQLite). ``cpu_ms_per_success``: CPU ms per granted reservation (or sale) in the sale's
window of ``api``, ``db``, ``relay`` (``--relay process``: the relay process, whose delivery of
the sale's events competes for the same cores; with ``--relay thread`` it is in ``api``) and
``client``; ``relay_cpu_ms_per_success_drained``: the relay's from the sale's start until every
event was published, ``relay_drain_s`` after the sale. ``client_cpu_ms_per_request`` is
the client's CPU (this process) per HTTP request: it shares the server's cores, so the rate and
the ratio depend on it. Exit status 1 when units were oversold, fewer than ``min(units, attempts)``
succeeded, a refusal was not a 409 out-of-stock, or the inventory does not verify.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (
    CLIENTS,
    Connection,
    CpuMeter,
    RunningServer,
    add_client_arguments,
    percentile,
    run_client,
    running_server,
    server_timing,
    wait_until_drained,
)

API = "/api/v1"
SKU, WARM_SKU, LOCATION, CHANNEL = "FLASH1", "WARM1", "WEB1", "WEB"
SQL_BATCH = 100


def set_up(http: httpx.Client, units: int) -> None:
    """The shop, through the API: a location, a channel, a product with two SKUs, stock."""
    calls: list[tuple[str, str, dict[str, Any]]] = [
        (
            "PUT",
            f"{API}/locations/{LOCATION}",
            {
                "code": LOCATION,
                "name": "Web fulfilment centre",
                "kind": "warehouse",
                "latitude": 51.5,
                "longitude": -0.12,
                "capabilities": {"ships_to_home": True, "pickup": False},
            },
        ),
        (
            "PUT",
            f"{API}/channels/{CHANNEL}",
            {"code": CHANNEL, "name": "Web shop", "kind": "web", "location_codes": [LOCATION]},
        ),
        (
            "POST",
            f"{API}/products",
            {
                "code": "FLASH",
                "name": "Limited sneaker",
                "skus": [
                    {"code": SKU, "name": "Size 42", "price": "120.00"},
                    {"code": WARM_SKU, "name": "Size 43", "price": "120.00"},
                ],
            },
        ),
        (
            "POST",
            f"{API}/inventory/receipts",
            {"sku": SKU, "location": LOCATION, "quantity": units},
        ),
        (
            "POST",
            f"{API}/inventory/receipts",
            {"sku": WARM_SKU, "location": LOCATION, "quantity": SQL_BATCH + 10},
        ),
    ]
    for method, path, body in calls:
        response = http.request(method, path, json=body)
        if response.status_code >= 300:
            raise SystemExit(
                f"setup failed: {method} {path}: {response.status_code} {response.text}"
            )


def measure_sql(http: httpx.Client, workers: int) -> dict[str, Any]:
    """Statements per successful reservation over a sequential batch (channel cache warm)."""
    body = {"sku": WARM_SKU, "location": LOCATION, "channel": CHANNEL, "quantity": 1}
    for _ in range(5 * workers):  # every process caches the channel settings
        http.post(f"{API}/inventory/reservations", json=body).raise_for_status()
    before = http.get(f"{API}/metrics").json()["sql_statements"]
    per_request = []
    for _ in range(SQL_BATCH):
        response = http.post(f"{API}/inventory/reservations", json=body)
        response.raise_for_status()
        per_request.append(server_timing(response.headers)[1])
    after = http.get(f"{API}/metrics").json()["sql_statements"]
    result: dict[str, Any] = {"sql_per_reservation": statistics.mean(per_request)}
    if workers == 1:  # /metrics counts per process; the GET /metrics itself sends none
        result["sql_per_reservation_metrics"] = (after - before) / SQL_BATCH
    return result


async def checkout_buyer(http: Connection) -> dict[str, Any]:
    """A cart, the unit in it (the reservation: 409 out-of-stock when none is left), then
    checkout with a card."""
    _status, _headers, cart = await http.request("POST", f"{API}/carts", {"channel": CHANNEL})
    token = cart["token"]
    began = time.perf_counter()
    status, headers, added = await http.request(
        "POST", f"{API}/carts/{token}/lines", {"sku": SKU, "quantity": 1, "location": LOCATION}
    )
    outcome: dict[str, Any] = {
        "reserve_ms": (time.perf_counter() - began) * 1000,
        "reserve_server_ms": server_timing(headers)[0],
        "reserve_status": 201 if status == 200 else status,
        "reserve_body": added,
    }
    if status != 200:
        return outcome
    began = time.perf_counter()
    sold_status, _, sold_body = await http.request(
        "POST",
        f"{API}/carts/{token}/checkout",
        {
            "fulfilment": {"method": "ship_to_home", "latitude": 51.5, "longitude": -0.12},
            "payment": {"provider_token": "tok_visa"},
            "contact_email": "buyer@example.com",
        },
    )
    outcome["checkout_ms"] = (time.perf_counter() - began) * 1000
    outcome["sell_status"] = 200 if sold_status == 201 else sold_status
    if sold_status != 201:
        outcome["sell_problem"] = sold_body
    return outcome


async def flash_sale(
    base_url: str,
    buyers: int,
    flow: str = "reserve",
    per_buyer: int = 1,
    sell: bool = True,
    client: str = "raw",
) -> dict[str, Any]:
    host, port = base_url.removeprefix("http://").split(":")
    connections = [CLIENTS[client](host, int(port)) for _ in range(buyers)]
    # Open every buyer's connection first: the sale measures the server, not TCP setup.
    await asyncio.gather(*(c.open() for c in connections))
    # ... and warm the server's database pool with as many concurrent reads as buyers.
    await asyncio.gather(
        *(c.request("GET", f"{API}/inventory/stock/{SKU}/{LOCATION}") for c in connections)
    )
    start = asyncio.Event()
    body = {"sku": SKU, "location": LOCATION, "channel": CHANNEL, "quantity": 1}

    async def buyer(http: Connection) -> list[dict[str, Any]]:
        await start.wait()
        return [await one_purchase(http) for _ in range(per_buyer)]

    async def one_purchase(http: Connection) -> dict[str, Any]:
        if flow == "checkout":
            return await checkout_buyer(http)
        began = time.perf_counter()
        status, headers, reserved = await http.request(
            "POST", f"{API}/inventory/reservations", body
        )
        outcome: dict[str, Any] = {
            "reserve_ms": (time.perf_counter() - began) * 1000,
            "reserve_server_ms": server_timing(headers)[0],
            "reserve_status": status,
            "reserve_body": reserved,
        }
        if status == 201 and sell:
            sold_status, _, sold_body = await http.request(
                "POST", f"{API}/inventory/reservations/{reserved['id']}/sell"
            )
            outcome["sell_status"] = sold_status
            if sold_status != 200:
                outcome["sell_problem"] = sold_body
        return outcome

    tasks = [asyncio.create_task(buyer(c)) for c in connections]
    await asyncio.sleep(0.2)
    began, cpu_began = time.perf_counter(), time.process_time()
    start.set()
    outcomes = [o for per in await asyncio.gather(*tasks) for o in per]
    elapsed = time.perf_counter() - began
    client_cpu_ms = (time.process_time() - cpu_began) * 1000
    await asyncio.gather(*(c.close() for c in connections))
    return {"outcomes": outcomes, "elapsed": elapsed, "client_cpu_ms": client_cpu_ms}


def run_pgbench(database_url: str, clients: int, seconds: int) -> dict[str, Any]:
    """pgbench's rate of single-row UPDATEs of one hot row (``qty = qty - 1``) on a scratch
    table in its own schema, dropped afterwards: what the hot SKU's reservations are compared
    with. ``pgbench -n -f`` with ``clients`` connections for ``seconds``; commits as the server
    is configured (synchronous_commit on by default)."""
    url = make_url(database_url)
    schema = f"bench_pgbench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'CREATE TABLE "{schema}".hot (id integer PRIMARY KEY, qty bigint)'))
        conn.execute(text(f'INSERT INTO "{schema}".hot VALUES (1, 1000000000000)'))
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
            script.write(f'UPDATE "{schema}".hot SET qty = qty - 1 WHERE id = 1;\n')
        command = [
            shutil.which("pgbench") or "pgbench",
            "-n",
            "-f",
            script.name,
            "-c",
            str(clients),
            "-j",
            str(min(clients, os.cpu_count() or 1)),
            "-T",
            str(seconds),
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "postgres",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        Path(script.name).unlink(missing_ok=True)
        found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"pgbench failed ({done.returncode}): {done.stderr or done.stdout}")
        return {"pgbench_update_tps": round(float(found.group(1)), 1), "pgbench_clients": clients}
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument(
        "--units",
        default="50",
        help="units of the hot SKU; 'large': one for every attempt (buyers x per-buyer), so the"
        " sale measures a rate, not a sell-out",
    )
    parser.add_argument(
        "--per-buyer", type=int, default=1, help="purchases each buyer makes, one after another"
    )
    parser.add_argument(
        "--no-sell",
        dest="sell",
        action="store_false",
        help="--flow reserve: reserve only (the hold is not sold), so every request is a"
        " reservation",
    )
    parser.add_argument(
        "--pgbench-seconds",
        type=int,
        default=5,
        help="PostgreSQL: run pgbench's single-row UPDATE this long first (0: not at all)",
    )
    parser.add_argument(
        "--pgbench-clients",
        type=int,
        default=0,
        help="pgbench connections (default: the buyers, at most 50)",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--relay",
        choices=["thread", "process"],
        default="thread",
        help="outbox relay inside the API process, or as its own process",
    )
    parser.add_argument("--pool-size", type=int, default=40, help="DB pool per process")
    parser.add_argument("--flow", choices=["checkout", "reserve"], default="checkout")
    add_client_arguments(parser, "buyers")
    parser.add_argument(
        "--payment-latency-ms",
        type=int,
        default=0,
        help="the test payment provider's time per authorisation (--flow checkout)",
    )
    args = parser.parse_args()
    attempts = args.buyers * args.per_buyer
    if args.units == "large":
        args.units = attempts
    elif args.units.isdigit():
        args.units = int(args.units)
    else:
        parser.error("--units is a number or 'large'")
    if not args.sell and args.flow != "reserve":
        parser.error("--no-sell applies to --flow reserve")

    with running_server(
        args.db,
        workers=args.workers,
        pool_size=args.pool_size,
        relay=args.relay,
        extra_env={"OMNIRETAIL_PAYMENT_TEST_LATENCY_MS": str(args.payment_latency_ms)},
    ) as server:
        with httpx.Client(base_url=server.base_url, timeout=60, headers=server.headers) as http:
            set_up(http, args.units)
            sql = measure_sql(http, args.workers)
        pgbench = (
            run_pgbench(
                server.database_url,
                args.pgbench_clients or min(args.buyers, 50),
                args.pgbench_seconds,
            )
            if args.db == "postgres" and args.pgbench_seconds > 0
            else {}
        )
        meter = CpuMeter(server)
        meter.start()
        sale = run_client(
            flash_sale(
                server.base_url, args.buyers, args.flow, args.per_buyer, args.sell, args.client
            ),
            args.loop,
        )
        cpu = meter.stop()  # the relay's share is the events' delivery as far as it got
        drain_s = wait_until_drained(server) if server.relay_pid is not None else None
        relay_drained = meter.stop()["relay"]  # from the sale's start until the outbox drained
        meter.close()
        final = verify_and_stock(server)

    outcomes = sale["outcomes"]
    sold = sum(1 for o in outcomes if o.get("sell_status") == 200)
    granted = sum(1 for o in outcomes if o["reserve_status"] == 201)
    expected = min(args.units, attempts)
    reservations_per_s = granted / sale["elapsed"]
    refused = [o for o in outcomes if o["reserve_status"] != 201]
    clear_refusals = all(
        o["reserve_status"] == 409
        and o["reserve_body"].get("type")
        in (
            "https://omniretail.dev/problems/out-of-stock",
            "https://omniretail.dev/problems/lines-unavailable",  # a cart line (--flow checkout)
        )
        for o in refused
    )
    reserve_ms = [o["reserve_ms"] for o in outcomes]
    checkout_ms = [o["checkout_ms"] for o in outcomes if "checkout_ms" in o]
    server_ms = [o["reserve_server_ms"] for o in outcomes]
    requests = len(outcomes) + sum(1 for o in outcomes if "sell_status" in o)
    # a hold that was granted but could not be sold (should be none)
    sell_failures = [o["sell_problem"] for o in outcomes if "sell_problem" in o]
    for problem in sell_failures:
        print(f"sell refused: {problem}", file=sys.stderr)
    print(
        f"{args.db}: {granted} reserved, {sold}/{args.units} units sold to {args.buyers} buyers in"
        f" {sale['elapsed'] * 1000:.0f} ms; {len(refused)} refused"
        f" ({'all 409 out-of-stock' if clear_refusals else 'NOT all 409 out-of-stock'});"
        f" final on hand {final['on_hand']}, verify {'ok' if final['verify_ok'] else 'DRIFT'}"
    )
    result = {
        "benchmark": "flash_sale",
        "flow": args.flow,
        "payment_latency_ms": args.payment_latency_ms,
        "db": args.db,
        "workers": args.workers,
        "relay": args.relay,
        "client": args.client,
        "loop": args.loop,
        "buyers": args.buyers,
        "units": args.units,
        "per_buyer": args.per_buyer,
        "sell": args.sell,
        "oversold": max(0, granted - args.units) + max(0, -final["on_hand"]),
        "reserved": granted,
        "sold": sold,
        "sell_failed": len(sell_failures),
        "refused_409_out_of_stock": len(refused) if clear_refusals else None,
        "requests": requests,
        "elapsed_s": round(sale["elapsed"], 3),
        "throughput_per_s": round(requests / sale["elapsed"], 1),
        "p50_ms": round(percentile(reserve_ms, 50), 2),
        "p95_ms": round(percentile(reserve_ms, 95), 2),
        "max_ms": round(max(reserve_ms), 2),
        "checkout_p50_ms": round(percentile(checkout_ms, 50), 1) if checkout_ms else None,
        "checkout_p95_ms": round(percentile(checkout_ms, 95), 1) if checkout_ms else None,
        "orders_per_s": round(sold / sale["elapsed"], 1),
        "reservations_per_s": round(reservations_per_s, 1),
        **pgbench,
        "ratio_vs_pgbench": round(reservations_per_s / pgbench["pgbench_update_tps"], 3)
        if pgbench
        else None,
        "server_p50_ms": round(percentile(server_ms, 50), 2),
        "server_p95_ms": round(percentile(server_ms, 95), 2),
        **{k: round(v, 2) for k, v in sql.items()},
        # CPU ms per granted reservation (or sale) in the window: API processes / PostgreSQL
        "cpu_ms_per_success": {
            key: round(value / max(1, sold if args.sell else granted), 2)
            for key, value in cpu.items()
            if value is not None and key in ("api", "db", "relay")
        }
        | {"client": round(sale["client_cpu_ms"] / max(1, sold if args.sell else granted), 2)},
        # --relay process: the relay's CPU from the sale's start until every event was
        # published (its work for the sale's events, whether or not it kept up in the window)
        "relay_cpu_ms_per_success_drained": None
        if relay_drained is None
        else round(relay_drained / max(1, sold if args.sell else granted), 2),
        "relay_drain_s": None if drain_s is None else round(drain_s, 2),
        # the client's CPU (this process) per HTTP request: it runs on the server's cores
        "client_cpu_ms_per_request": round(sale["client_cpu_ms"] / max(1, requests), 3),
        "final_on_hand": final["on_hand"],
        "verify": "ok" if final["verify_ok"] else "drift",
    }
    print(json.dumps(result))
    succeeded = sold if args.sell else granted
    if result["oversold"] or succeeded != expected or not clear_refusals or not final["verify_ok"]:
        sys.exit(1)


def verify_and_stock(server: RunningServer) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, timeout=60, headers=server.headers) as http:
        report = http.get(f"{API}/inventory/verify").json()
        level = http.get(f"{API}/inventory/stock/{SKU}/{LOCATION}").json()
    return {"verify_ok": report["drift"] == [], "on_hand": level["on_hand"]}


if __name__ == "__main__":
    main()
