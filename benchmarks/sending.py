"""Sending throughput: queue_sends and deliver_due (decide, render, store the notification) for
email sends on a fresh database.

    python benchmarks/sending.py --db {postgres,sqlite} [--customers 5000] [--per-customer 4]
        [--workers 1]

Makes ``--customers`` customers with an email address and email marketing consent, queues
``--per-customer`` sends each (caps, quiet hours and the control group off, so every send is
rendered and delivered), then times ``deliver_due`` (batches of 500) over them, from
``--workers`` threads. The relay's SMTP sends are not part of it. The last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import SECRET_KEY, fresh_database

from omniretail.bootstrap import build_container
from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentWrite, CustomerCreate, IdentityCreate
from omniretail.kernel.vault import vault_for
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import MessageCreate, SendPolicy
from omniretail.marketing.sending import SendRequest
from omniretail.settings import Settings

MESSAGE = MessageCreate(
    code="bench",
    name="Bench",
    subject="{{ customer.first_name }}, a new season",
    body="Hi {{ customer.first_name }}, you have {{ customer.points }} points.\n\nCome and see.",
    link_url="https://shop.example.com/season",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--per-customer", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    with fresh_database(args.db) as (url, schema):
        container = build_container(
            Settings(
                database_url=url,
                database_schema=schema,
                db_pool_size=max(5, args.workers + 2),
                secret_key=SECRET_KEY,  # type: ignore[arg-type]
            )
        )
        vault = vault_for(container.keyring)
        try:
            ids: list[int] = []
            for start in range(0, args.customers, 500):
                with container.uow() as uow:
                    for i in range(start, min(start + 500, args.customers)):
                        made = customers.create_customer(
                            uow,
                            CustomerCreate(
                                name=f"Person{i} Bench",
                                identities=[
                                    IdentityCreate(kind="email", value=f"p{i}@example.com")
                                ],
                            ),
                            vault=vault,
                            actor="bench",
                        )
                        customers.set_consent(
                            uow,
                            made.customer.id,
                            ConsentWrite(purpose="marketing", channel="email", granted=True),
                            actor="bench",
                        )
                        ids.append(made.customer.id)
            with container.uow() as uow:
                marketing.create_message(uow, MESSAGE)
                marketing.put_policy(
                    uow, SendPolicy(control_group_percent=0, quiet_hours=None, caps={}, total=None)
                )
            requests = [
                SendRequest(key=f"b{n}:c{cid}", customer_id=cid, message="bench", channel="email")
                for n in range(args.per_customer)
                for cid in ids
            ]
            started = time.perf_counter()
            with container.uow() as uow:
                queued = marketing.queue_sends(uow, requests)
            queue_s = time.perf_counter() - started

            done: list[int] = []
            started = time.perf_counter()

            def work() -> None:
                if os.environ.get("BENCH_PROFILE"):
                    import cProfile

                    with cProfile.Profile() as prof:
                        done.append(marketing.deliver_due(container.uow, limit=500))
                    prof.dump_stats(os.environ["BENCH_PROFILE"])
                    return
                done.append(marketing.deliver_due(container.uow, limit=500))

            threads = [threading.Thread(target=work) for _ in range(args.workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            deliver_s = time.perf_counter() - started
            with container.read_uow() as uow:
                sent = len(marketing.list_sends(uow, status="sent", limit=10**7))
            print(
                json.dumps(
                    {
                        "db": args.db,
                        "workers": args.workers,
                        "queued": queued,
                        "queue_per_min": round(queued / queue_s * 60),
                        "delivered": sum(done),
                        "sent": sent,
                        "deliver_s": round(deliver_s, 2),
                        "deliver_per_min": round(sum(done) / deliver_s * 60),
                    }
                )
            )
        finally:
            container.dispose()


if __name__ == "__main__":
    main()
