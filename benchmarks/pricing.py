"""Pricing: a 30-line cart under 1,000 active promotions and 10,000 price-list entries, and a
coupon raced by many checkouts.

    python benchmarks/pricing.py --db {sqlite,postgres} [--promotions 1000] [--entries 10000]

Starts uvicorn in a subprocess over a fresh database (``_server.running_server``) and sets a
catalog up directly in the database (``--skus`` SKUs in products of ``--categories``
categories; price lists holding ``--entries`` entries between them: a base list, a web list of
higher priority, a gold-tier list and a list scheduled for next month) and ``--promotions``
promotions through the pricing service (the mix is ``promotion_mix``: most target a few SKUs
or a category, as a retailer's do; some are for other channels, some need a coupon, some are
scheduled, a few apply to every cart; about a third have a CEL condition).

Then, for one cart of ``--lines`` lines (a few of them targeted by promotions):

- ``engine``: ``pricing.service.price_cart`` in this process, with its database reads
  (``--repeat`` times, warm);
- ``quote``: ``POST /api/v1/pricing/quote`` with those lines, client side and (``server_``)
  inside the application from Server-Timing, with its SQL statements;
- ``cart``: ``GET /api/v1/carts/{token}`` of a cart holding those lines;
- ``change_seen``: a promotion of the cart's SKU is changed through the API and the next quote
  must show it (the server caches promotions; this checks the cache gives way at once);
- the coupon race: ``--race-clients`` carts each apply one code limited to ``--race-limit``
  uses and all check out at once (asyncio, one keep-alive connection each);
  ``race_redeemed`` must equal the limit and ``race_over`` (uses beyond it) must be 0.

The last line printed is one JSON object with those figures (milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server
from _server import RawConnection, RunningServer, percentile, running_server, server_timing

from omniretail.catalog.models import Product, Sku
from omniretail.pricing import promotions as promotion_service
from omniretail.pricing import service as pricing
from omniretail.pricing.models import PriceList, PriceListEntry
from omniretail.pricing.schemas import PromotionWrite

API = "/api/v1"
RACE_SKU = "RACE-1"


def _call(http: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    response = http.request(method, path, json=body)
    if response.status_code >= 300:
        raise SystemExit(f"setup failed: {method} {path}: {response.status_code} {response.text}")
    return response.json() if response.content else None


def set_up_shop(http: httpx.Client) -> None:
    _call(
        http,
        "PUT",
        f"{API}/locations/DC1",
        {
            "code": "DC1",
            "name": "Midlands DC",
            "kind": "warehouse",
            "latitude": 52.4862,
            "longitude": -1.8904,
            "capabilities": {"ships_to_home": True},
        },
    )
    for code in ("WEB", "APP"):
        _call(
            http,
            "PUT",
            f"{API}/channels/{code}",
            {"code": code, "name": code, "kind": "web", "location_codes": ["DC1"]},
        )


def set_up_catalog(
    server: RunningServer, skus: int, categories: int, entries: int
) -> tuple[list[str], dict[str, str]]:
    """Products and SKUs (ten SKUs a product) and the price lists, straight into the
    database; returns the SKU codes and each SKU's category."""
    container = server.container()
    now = container.clock.now()
    codes = [f"S{i:05d}" for i in range(skus)] + [RACE_SKU]
    category_of = {code: f"Cat{(i // 10) % categories:03d}" for i, code in enumerate(codes)}
    products = sorted({f"P{i // 10:05d}" for i in range(len(codes))})
    lists = [
        # code, priority, scope, window, share of the entries
        ("BASE", 0, {}, None, 0.5),
        ("WEB-PRICES", 10, {"channel_code": "WEB"}, None, 0.25),
        ("GOLD", 20, {"customer_tier": "gold"}, None, 0.15),
        ("NEXT-MONTH", 30, {}, (now + timedelta(days=30), now + timedelta(days=60)), 0.10),
    ]
    with container.uow() as uow:
        s = uow.session
        s.execute(
            insert(Product),
            [
                {
                    "code": p,
                    "name": f"Product {p}",
                    "category": f"Cat{int(p[1:]) % categories:03d}",
                    "attributes": {},
                    "created_at": now,
                }
                for p in products
            ],
        )
        s.execute(
            insert(Sku),
            [
                {
                    "code": c,
                    "product_code": f"P{i // 10:05d}",
                    "name": f"Item {c}",
                    "attributes": {},
                    "price": Decimal("20.00") + Decimal(i % 50),
                    "active": True,
                    "created_at": now,
                }
                for i, c in enumerate(codes)
            ],
        )
        rows = []
        for code, priority, scope, window, share in lists:
            s.execute(
                insert(PriceList).values(
                    code=code,
                    name=code.title(),
                    currency="GBP",
                    priority=priority,
                    valid_from=window[0] if window else None,
                    valid_to=window[1] if window else None,
                    active=True,
                    created_at=now,
                    updated_at=now,
                    **scope,
                )
            )
            count = int(entries * share)
            for i in range(count):
                sku = codes[(i * 7919) % skus]  # spread over the catalog
                rows.append(
                    {
                        "list_code": code,
                        "sku_code": sku,
                        "price": Decimal("15.00") + Decimal(i % 40),
                        "updated_at": now,
                    }
                )
        s.execute(insert(PriceListEntry), rows)
    container.dispose()
    return codes[:-1], category_of


def promotion_mix(
    n: int, skus: list[str], categories: int, rng: random.Random
) -> list[tuple[str, dict[str, Any]]]:
    """(code, PromotionWrite fields) of ``n`` promotions: 55 % on one to three SKUs, 20 % on a
    category, 15 % for another channel, 4 % behind a coupon, 2 % scheduled for next month,
    4 % on every cart (exclusive order discounts and tiers, points, free delivery on a first
    order); about a third have a condition."""
    out: list[tuple[str, dict[str, Any]]] = []
    conditions = [
        'channel == "WEB"',
        "units >= 3",
        "total >= 40.0",
        'tier == "gold" || "students" in segments',
        'lines.exists(l, l.quantity >= 2) && channel == "WEB"',
    ]
    for i in range(n):
        share = i / n
        code = f"PR{i:04d}"
        fields: dict[str, Any] = {"name": f"Promotion {i}", "priority": rng.randint(0, 50)}
        if share < 0.55:
            effect: dict[str, Any]
            kind = rng.choice(["percent_off", "amount_off", "buy_x_get_y"])
            targets = rng.sample(skus, rng.randint(1, 3))
            if kind == "percent_off":
                effect = {
                    "type": kind,
                    "percent": str(rng.choice([5, 10, 15, 20])),
                    "skus": targets,
                }
            elif kind == "amount_off":
                effect = {"type": kind, "amount": "1.50", "skus": targets}
                fields["currency"] = "GBP"
            else:
                effect = {"type": kind, "buy": 2, "get": 1, "skus": targets}
            fields["effect"] = effect
            if i % 3 == 0:
                fields["condition"] = conditions[i % len(conditions)]
        elif share < 0.75:
            category = f"Cat{rng.randrange(categories):03d}"
            fields["effect"] = {"type": "percent_off", "percent": "10", "categories": [category]}
            if i % 3 == 0:
                fields["condition"] = conditions[i % len(conditions)]
        elif share < 0.90:
            fields["effect"] = {"type": "order_percent_off", "percent": "5"}
            fields["condition"] = f'channel == "APP" && total >= {rng.randint(20, 200)}.0'
        elif share < 0.94:
            fields["effect"] = {"type": "order_percent_off", "percent": "15"}
            fields["requires_coupon"] = True
        elif share < 0.96:
            fields["effect"] = {"type": "order_percent_off", "percent": "25"}
            fields["valid_from"] = "2099-01-01T00:00:00Z"
        else:
            j = i % 4
            # spend-and-save offers do not stack with each other
            fields["exclusive"] = j in (0, 2)
            if j == 0:
                fields["effect"] = {
                    "type": "tiered",
                    "tiers": [
                        {"threshold": "500", "amount": "20"},
                        {"threshold": "1000", "amount": "50"},
                    ],
                }
                fields["currency"] = "GBP"
            elif j == 1:
                fields["effect"] = {"type": "points", "points": 50}
                fields["condition"] = "total >= 100.0"
            elif j == 2:
                fields["effect"] = {"type": "order_percent_off", "percent": "10"}
                fields["condition"] = f'lines.exists(l, l.category == "Cat{i % categories:03d}")'
            else:
                fields["effect"] = {"type": "free_delivery"}
                fields["condition"] = "first_order"
        out.append((code, fields))
    return out


def set_up_promotions(server: RunningServer, mix: list[tuple[str, dict[str, Any]]]) -> None:
    container = server.container()
    with container.uow() as uow:
        for code, fields in mix:
            promotion_service.save_promotion(
                uow, code, PromotionWrite.model_validate(fields), actor="benchmark"
            )
    container.dispose()


def timed(fn: Callable[[], Any], repeat: int, budget_s: float) -> list[float]:
    """Milliseconds of each call (stops early after ``budget_s`` seconds)."""
    fn()  # warm
    out = []
    started = time.perf_counter()
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1000)
        if time.perf_counter() - started > budget_s:
            break
    return out


def engine_times(
    server: RunningServer, lines: list[str], repeat: int, budget: float
) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of ``price_cart`` alone (its reads included; opening the
    unit of work and the channel's context, shared by every use case, are not). The CPU time
    (this thread's) is what the engine costs when the machine's cores are busy elsewhere."""
    container = server.container()
    requests = [pricing.LineRequest(str(i), sku, 1 + i % 3) for i, sku in enumerate(lines)]
    out: list[float] = []
    cpu: list[float] = []

    def once() -> None:
        with container.read_uow() as uow:
            context = pricing.context_for(uow, "WEB")
            began, began_cpu = time.perf_counter(), time.thread_time()
            priced = pricing.price_cart(uow, context, requests)
            out.append((time.perf_counter() - began) * 1000)
            cpu.append((time.thread_time() - began_cpu) * 1000)
            assert not priced.unpriced

    try:
        timed(once, repeat, budget)
        return out[1:], cpu[1:]
    finally:
        container.dispose()


def http_times(
    http: httpx.Client, method: str, path: str, body: Any, repeat: int, budget: float
) -> tuple[list[float], list[float], list[int]]:
    client_ms: list[float] = []
    server_ms: list[float] = []
    statements: list[int] = []

    def once() -> None:
        response = http.request(method, path, json=body)
        if response.status_code != 200:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
        app_ms, sql = server_timing(response.headers)
        server_ms.append(app_ms)
        statements.append(sql)

    client_ms = timed(once, repeat, budget)
    return client_ms, server_ms[1:], statements[1:]


def change_seen(http: httpx.Client, sku: str, quote: dict[str, Any]) -> bool:
    """A new exclusive promotion on the cart's SKU: the very next quote must carry it."""
    _call(
        http,
        "PUT",
        f"{API}/pricing/promotions/BENCH-NEW",
        {
            "name": "Just now",
            "effect": {"type": "percent_off", "percent": "50", "skus": [sku]},
            "priority": 1000,
            "exclusive": True,
        },
    )
    seen = http.post(f"{API}/pricing/quote", json=quote).json()
    names = {a["name"] for ln in seen["lines"] for a in ln["adjustments"]}
    _call(http, "DELETE", f"{API}/pricing/promotions/BENCH-NEW")
    gone = http.post(f"{API}/pricing/quote", json=quote).json()
    after = {a["name"] for ln in gone["lines"] for a in ln["adjustments"]}
    return "Just now" in names and "Just now" not in after


def race(server: RunningServer, http: httpx.Client, clients: int, limit: int) -> dict[str, Any]:
    _call(
        http,
        "POST",
        f"{API}/inventory/receipts",
        {"sku": RACE_SKU, "location": "DC1", "quantity": clients},
    )
    _call(
        http,
        "PUT",
        f"{API}/pricing/promotions/RACE",
        {
            "name": "Race day",
            "effect": {"type": "percent_off", "percent": "20"},
            "requires_coupon": True,
        },
    )
    _call(
        http,
        "POST",
        f"{API}/pricing/coupons",
        {"code": "RACE50", "promotion": "RACE", "max_uses": limit},
    )
    tokens = []
    for _ in range(clients):
        token = _call(http, "POST", f"{API}/carts", {"channel": "WEB"})["token"]
        _call(http, "POST", f"{API}/carts/{token}/lines", {"sku": RACE_SKU, "quantity": 1})
        _call(http, "POST", f"{API}/carts/{token}/coupons", {"code": "RACE50"})
        tokens.append(token)
    body = {
        "fulfilment": {"method": "ship_to_home", "latitude": 51.545, "longitude": -0.15},
        "payment": {"provider_token": "tok_visa"},
        "contact_email": "racer@example.com",
    }

    async def run() -> list[int]:
        host, port = server.base_url.removeprefix("http://").split(":")
        connections = [RawConnection(host, int(port)) for _ in range(clients)]
        await asyncio.gather(*(c.open() for c in connections))

        async def buy(c: RawConnection, token: str) -> int:
            status, _, _ = await c.request("POST", f"{API}/carts/{token}/checkout", body)
            return status

        try:
            return list(
                await asyncio.gather(*(buy(c, t) for c, t in zip(connections, tokens, strict=True)))
            )
        finally:
            await asyncio.gather(*(c.close() for c in connections))

    statuses = asyncio.run(run())
    container = server.container()
    with container.engine.connect() as conn:
        uses = conn.execute(text("SELECT uses FROM coupons WHERE code = 'RACE50'")).scalar_one()
        redeemed = conn.execute(
            text("SELECT count(*) FROM coupon_redemptions WHERE coupon_code = 'RACE50'")
        ).scalar_one()
    container.dispose()
    return {
        "race_clients": clients,
        "race_limit": limit,
        "race_orders": statuses.count(201),
        "race_refused": statuses.count(409),
        "race_errors": sum(1 for s in statuses if s not in (201, 409)),
        "race_redeemed": int(redeemed),
        "race_over": max(0, int(uses) - limit) + max(0, int(redeemed) - limit),
    }


def _ms(values: list[float], pct: float) -> float | None:
    return round(percentile(values, pct), 2) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--promotions", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--categories", type=int, default=100)
    parser.add_argument("--lines", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per measured phase")
    parser.add_argument("--race-clients", type=int, default=200)
    parser.add_argument("--race-limit", type=int, default=50)
    args = parser.parse_args()
    # The benchmark's own containers (bulk setup, the engine timings) share the server's key.
    os.environ["OMNIRETAIL_SECRET_KEY"] = _server.SECRET_KEY
    rng = random.Random(14)

    with (
        running_server(args.db) as server,
        httpx.Client(base_url=server.base_url, headers=server.headers, timeout=120) as http,
    ):
        set_up_shop(http)
        skus, _ = set_up_catalog(server, args.skus, args.categories, args.entries)
        mix = promotion_mix(args.promotions, skus, args.categories, rng)
        set_up_promotions(server, mix)
        targeted = [s for _, f in mix[:40] for s in f["effect"].get("skus", [])][:5]
        lines = targeted + [s for s in rng.sample(skus, args.lines) if s not in targeted]
        lines = lines[: args.lines]
        quote = {
            "channel": "WEB",
            "lines": [{"sku": s, "quantity": 1 + i % 3} for i, s in enumerate(lines)],
        }
        for sku in lines:
            _call(
                http,
                "POST",
                f"{API}/inventory/receipts",
                {"sku": sku, "location": "DC1", "quantity": 100},
            )
        token = _call(http, "POST", f"{API}/carts", {"channel": "WEB"})["token"]
        for i, sku in enumerate(lines):
            _call(http, "POST", f"{API}/carts/{token}/lines", {"sku": sku, "quantity": 1 + i % 3})
        priced = _call(http, "POST", f"{API}/pricing/quote", quote)
        adjusted = sum(1 for ln in priced["lines"] if ln["adjustments"])

        engine, engine_cpu = engine_times(server, lines, args.repeat, args.budget)
        quote_ms, quote_server, quote_sql = http_times(
            http, "POST", f"{API}/pricing/quote", quote, args.repeat, args.budget
        )
        cart_ms, cart_server, _ = http_times(
            http, "GET", f"{API}/carts/{token}", None, args.repeat, args.budget
        )
        seen = change_seen(http, lines[0], quote)
        raced = race(server, http, args.race_clients, args.race_limit) if args.race_clients else {}

    figures = {
        "db": args.db,
        "promotions": args.promotions,
        "entries": args.entries,
        "lines": len(lines),
        "lines_adjusted": adjusted,
        "samples": len(engine),
        "engine_p50_ms": _ms(engine, 50),
        "engine_p95_ms": _ms(engine, 95),
        "engine_cpu_p50_ms": _ms(engine_cpu, 50),
        "engine_cpu_p95_ms": _ms(engine_cpu, 95),
        "quote_p50_ms": _ms(quote_ms, 50),
        "quote_p95_ms": _ms(quote_ms, 95),
        "quote_server_p95_ms": _ms(quote_server, 95),
        "quote_sql": round(statistics.mean(quote_sql), 1) if quote_sql else None,
        "cart_p50_ms": _ms(cart_ms, 50),
        "cart_p95_ms": _ms(cart_ms, 95),
        "cart_server_p95_ms": _ms(cart_server, 95),
        "change_seen": seen,
        "load_average": round(os.getloadavg()[0], 1),
        **raced,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
