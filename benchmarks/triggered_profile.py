"""The triggered journey's chain, stage by stage, without concurrency: CPU seconds and SQL
statements per event of each stage (load-insensitive figures, unlike journeys.py's latency).

    python benchmarks/triggered_profile.py [--customers 5000] [--events 2000] [--batch 100]
        [--profile DIR]

On a fresh PostgreSQL schema (``_server.fresh_database``): customers as journeys.py makes
them, its message, a policy without caps, a journey triggered by ``marketing.segment_entered``
whose only step sends that message, and an "Email allowed" segment (live evaluation). Then,
one stage after the other, each timed alone:

- ``produce``: the events committed into the outbox, 10 per transaction (journeys.py's
  producer);
- ``trigger``: one relay, ``run_until_idle`` with ``--batch`` deliveries a pass: plans the
  events, enters the runs and queues their first sends (``marketing_sends``);
- ``deliver``: ``deliver_due`` (decision, render, notification and its outbox events);
- ``notify``: the relay again: plans ``notification_queued`` and ``message_sent``, sends the
  notifications (logging mailer);
- ``consent``: ``--events / 20`` consent grants, one per transaction, and the relay's live
  segment evaluation of them.

Each stage reports ``cpu`` (this process and the PostgreSQL backend serving it, as
``_cpu.CpuMeter`` sees them; read /proc as root), ``statements`` (BEGIN excluded) and
``transactions`` (commits), per 1,000 events. ``--profile DIR`` writes a cProfile of each
stage (``DIR/<stage>.prof``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cpu import CpuMeter
from _server import SECRET_KEY, fresh_database
from journeys import MESSAGE, _customers, _journey
from sqlalchemy import event, func, select

from omniretail.bootstrap import build_container
from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentWrite
from omniretail.marketing import service as marketing
from omniretail.marketing.events import SegmentEntered
from omniretail.marketing.schemas import SegmentCreate, SendPolicy
from omniretail.marketing.sending_models import MarketingSend
from omniretail.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    logging.getLogger("omniretail").setLevel(logging.WARNING)
    meter = CpuMeter()
    with fresh_database("postgres") as (url, schema):
        container = build_container(
            Settings(
                database_url=url,
                database_schema=schema,
                relay_batch_size=args.batch,
                secret_key=SECRET_KEY,  # type: ignore[arg-type]
            )
        )
        commits = [0]

        def count_commit(_conn: Any) -> None:
            commits[0] += 1

        event.listen(container.engine, "commit", count_commit)
        try:
            ids = _customers(container, args.customers)
            with container.uow() as uow:
                marketing.create_message(uow, MESSAGE)
                marketing.put_policy(
                    uow, SendPolicy(control_group_percent=0, quiet_hours=None, caps={}, total=None)
                )
                segment = marketing.create_segment(
                    uow, SegmentCreate(name="Bench trigger", rule="false")
                )
                marketing.create_segment(
                    uow, SegmentCreate(name="Email allowed", rule='"marketing:email" in consent')
                )
            _journey(container, "triggered", {"kind": "segment_entered", "segment_id": segment.id})
            relay = container.relay()
            relay.run_until_idle()
            results: dict[str, Any] = {"events": args.events, "batch": args.batch}
            meter.mark()  # learns the backend serving this process

            def stage(name: str, work: Callable[[], object], count: int = args.events) -> None:
                profiler = cProfile.Profile(time.thread_time) if args.profile else None
                statements, transactions = container.counter.value, commits[0]
                before = meter.mark()
                if profiler is not None:
                    profiler.enable()
                work()
                if profiler is not None:
                    profiler.disable()
                    args.profile.mkdir(parents=True, exist_ok=True)
                    profiler.dump_stats(str(args.profile / f"{name}.prof"))
                cpu = meter.mark() - before
                per = 1000 / count
                results[name] = {
                    "cpu_s_per_1000": round(cpu.total_s * per, 3),
                    "client_cpu_s_per_1000": round(cpu.client_s * per, 3),
                    "database_cpu_s_per_1000": round(cpu.database_s * per, 3),
                    "statements_per_event": round(
                        (container.counter.value - statements) / count, 2
                    ),
                    "transactions_per_event": round((commits[0] - transactions) / count, 2),
                }

            def produce() -> None:
                for lo in range(0, args.events, 10):
                    with container.uow() as uow:
                        for k in range(lo, min(lo + 10, args.events)):
                            uow.record(
                                SegmentEntered(segment_id=segment.id, customer_id=ids[k % len(ids)])
                            )

            changes = max(1, args.events // 20)

            def consent() -> None:
                for cid in ids[:changes]:
                    with container.uow() as uow:
                        customers.set_consent(
                            uow,
                            cid,
                            ConsentWrite(purpose="marketing", channel="email", granted=False),
                            actor="bench",
                        )
                relay.run_until_idle()

            stage("produce", produce)
            stage("trigger", relay.run_until_idle)
            stage("deliver", lambda: marketing.deliver_due(container.uow, limit=500))
            stage("notify", relay.run_until_idle)
            stage("consent", consent, changes)  # per consent change
            with container.read_uow() as uow:
                results["sends"] = uow.session.scalar(
                    select(func.count()).select_from(MarketingSend)
                )
        finally:
            container.dispose()
    results["chain_cpu_s_per_1000"] = round(
        sum(results[s]["cpu_s_per_1000"] for s in ("produce", "trigger", "deliver", "notify")), 3
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
