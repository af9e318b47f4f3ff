"""Segments on the real imported data: a full refresh, and live membership changes.

    python benchmarks/segments.py --db {postgres,sqlite} [--live 200]

On a fresh database (``_server.fresh_database``) imports the shared transaction log and runs
the loyalty backfill (tiers and points for every real customer), saves three segments, then:

- times a full refresh of every segment over every customer (``customers_per_s``);
- ``--live`` times, one consent change after another, from the commit that records
  ``customers.consent_changed`` to the commit of the relay step that re-evaluated the customer
  (the in-process relay, one event at a time, nothing else queued): ``live_p50_ms`` and
  ``live_p95_ms``. Each is a big spender granting email marketing: they enter "Email
  allowed" (``live_entered`` counts the entry events).

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import SECRET_KEY, fresh_database, percentile

from omniretail.bootstrap import build_container
from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentWrite
from omniretail.history import service as history
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import SegmentCreate
from omniretail.settings import Settings

DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail_ii_2009_2010.parquet"
)
RULES = {
    "Big spenders": "orders >= 5 && spend > 1000.0",
    "Lapsed members": 'tier != "" && days_since_last_order > 90',
    "Email allowed": '"marketing:email" in consent',
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("OMNIRETAIL_DATA", DATA)))
    parser.add_argument("--live", type=int, default=200)
    args = parser.parse_args()

    with fresh_database(args.db) as (url, schema):
        container = build_container(
            Settings(
                database_url=url,
                database_schema=schema,
                db_pool_size=5,
                secret_key=SECRET_KEY,  # type: ignore[arg-type]
            )
        )
        vault = vault_for(container.keyring)
        try:
            with container.uow() as uow:
                history.import_history(uow, args.data, actor="bench")
            with container.uow() as uow:
                loyalty.backfill_history(uow, actor="bench")
            with container.uow() as uow:
                for name, rule in RULES.items():
                    marketing.create_segment(uow, SegmentCreate(name=name, rule=rule))
            container.relay().run_until_idle()  # the import's and backfill's events

            started = time.perf_counter()
            report = marketing.refresh(container.uow, vault=vault)
            refresh_s = time.perf_counter() - started
            with container.read_uow() as uow:
                counts = {s.name: s.member_count for s in marketing.list_segments(uow)}

            with container.read_uow() as uow:
                sample = [m.customer_id for m in marketing.members(uow, 1, limit=1000)]
            random.seed(7)
            chosen = random.sample(sample, min(args.live, len(sample)))
            relay = container.relay()
            latencies = []
            for customer_id in chosen:
                with container.uow() as uow:
                    customers.set_consent(
                        uow,
                        customer_id,
                        ConsentWrite(purpose="marketing", channel="email", granted=True),
                        actor="bench",
                    )
                committed = time.perf_counter()
                relay.run_until_idle()
                latencies.append((time.perf_counter() - committed) * 1000)
            with container.read_uow() as uow:
                entered = marketing.get_segment(uow, 3).member_count - counts["Email allowed"]
        finally:
            container.dispose()

    result = {
        "benchmark": "segments",
        "db": args.db,
        "customers": report.customers,
        "segments": report.segments,
        "members": counts,
        "refresh_s": round(refresh_s, 2),
        "customers_per_s": round(report.customers / refresh_s),
        "live_changes": len(latencies),
        "live_entered": entered,
        "live_p50_ms": round(percentile(latencies, 50), 1),
        "live_p95_ms": round(percentile(latencies, 95), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
