"""Behavioural event ingestion and the customer 360 read on the real imported data.

    python benchmarks/events_ingest.py --db {postgres,sqlite} [--batches 40] [--reads 500]

Starts the real server (uvicorn in a subprocess, ``_server.running_server``) on a fresh
database, imports the shared transaction log into it and runs the loyalty backfill (timeline,
points, tiers for every real customer) directly on the database, then, over HTTP on loopback:

- posts ``--batches`` batches of 1,000 events (page/product views, add to cart, store visits;
  half for known customers with analytics consent, half anonymous) to ``POST /api/v1/events``
  from ``--clients`` threads, and reports events per second (bodies are JSON-encoded before
  the clock starts);
- reads ``GET /api/v1/customers/{id}/360`` for ``--reads`` random real customers, one after
  another on a keep-alive connection, and reports the latency percentiles measured by the
  client (``p50_ms``, ``p95_ms``) and inside the app (``server_p95_ms``, Server-Timing).

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import percentile, running_server, server_timing

from omniretail.customers import repository as customer_repo
from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentWrite
from omniretail.history import service as history
from omniretail.loyalty import service as backfill

DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail_ii_2009_2010.parquet"
)
KINDS = ["page_view", "product_view", "add_to_cart", "store_visit"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("OMNIRETAIL_DATA", DATA)))
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--relay",
        choices=["thread", "process"],
        default="thread",
        help="outbox relay inside the API process, or as its own process",
    )
    args = parser.parse_args()

    with running_server(args.db, workers=args.workers, relay=args.relay) as server:
        container = server.container(pool_size=5)
        try:
            started = time.perf_counter()
            with container.uow() as uow:
                history.import_history(uow, args.data, actor="bench")
            import_s = time.perf_counter() - started
            started = time.perf_counter()
            with container.uow() as uow:
                report = backfill.backfill_history(uow, actor="bench")
            backfill_s = time.perf_counter() - started
            with container.uow() as uow:
                ids = customer_repo.list_customer_ids(uow.session, limit=100_000)
            consenting = ids[: len(ids) // 2]
            with container.uow() as uow:
                for cid in consenting:
                    customers.set_consent(
                        uow,
                        cid,
                        ConsentWrite(purpose="analytics", channel="all", granted=True),
                        actor="bench",
                    )
        finally:
            container.dispose()
        measured = measure(server.base_url, server.headers, ids, consenting, args)
    result = {
        "db": args.db,
        "workers": args.workers,
        "relay": args.relay,
        "customers": len(ids),
        "import_s": round(import_s, 1),
        "backfill_s": round(backfill_s, 1),
        "points_earned": report.points_earned,
        "tiers": report.tiers,
        **measured,
    }
    print(json.dumps(result))


def measure(
    base_url: str,
    headers: dict[str, str],
    ids: list[int],
    consenting: list[int],
    args: argparse.Namespace,
) -> dict[str, object]:
    rng = random.Random(7)
    now = datetime.now(UTC)

    def batch(n: int) -> dict[str, object]:
        events = []
        for i in range(1000):
            event: dict[str, object] = {
                "type": KINDS[i % 4],
                "occurred_at": (now - timedelta(seconds=i)).isoformat(),
                "channel": "WEB",
                "data": {"sku": str(10000 + i % 500)},
            }
            if i % 2:
                event["customer_id"] = rng.choice(consenting)
            else:
                event["anonymous_id"] = f"anon-{n}-{i % 50}"
            events.append(event)
        return {"events": events}

    payloads = [json.dumps(batch(n)).encode() for n in range(args.batches)]
    json_body = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=args.clients + 1)
    with httpx.Client(base_url=base_url, headers=headers, timeout=120, limits=limits) as client:
        warm = client.post("/api/v1/events", json=batch(-1))
        assert warm.status_code == 202, warm.text

        def send(payload: bytes) -> int:
            r = client.post("/api/v1/events", content=payload, headers=json_body)
            assert r.status_code == 202, r.text
            return int(r.json()["accepted"])

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            accepted = sum(pool.map(send, payloads))
        ingest_s = time.perf_counter() - started

        sample = rng.sample(ids, min(args.reads, len(ids)))
        for cid in sample[:20]:
            client.get(f"/api/v1/customers/{cid}/360")
        latencies, server_ms, statements = [], [], []
        for cid in sample:
            t0 = time.perf_counter()
            r = client.get(f"/api/v1/customers/{cid}/360")
            latencies.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            app_ms, sql = server_timing(r.headers)
            server_ms.append(app_ms)
            statements.append(sql)
    return {
        "events": accepted,
        "events_per_s": round(accepted / ingest_s),
        "reads": len(latencies),
        "sql_per_360": round(statistics.mean(statements), 2),
        "server_p95_ms": round(percentile(server_ms, 95), 2),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
    }


if __name__ == "__main__":
    main()
