"""Journeys end to end: a mass entry rendered and queued, and triggered journeys under load.

    python benchmarks/journeys.py --db {postgres,sqlite} [--customers 100000] [--workers 1]
        [--delivery-processes 2] [--advance-in {processes,main}] [--relay-batch 100]
        [--relay-processes 0] [--rate 1000] [--seconds 10] [--segment-changes 100]
        [--skip {mass,triggered}] [--no-cpu]

On a fresh database (``_server.fresh_database``) makes ``--customers`` SYNTHETIC customers,
inserted in bulk but stored as the real code stores them: the name and the email identity
encrypted by the vault (blind index for the email), email marketing consent granted. One
message (subject and body personalised with the first name, a tracked link, the brand layout,
CSS inlined) and the policy without caps, quiet hours or control group, so every send renders.

Worker layout: ``--delivery-processes N`` (the ``marketing_delivery_processes`` setting) runs
marketing's worker processes, started and ready before the clock starts, as in a server. With
``--advance-in processes`` (the default, the production layout) they advance the due runs
(``advance_due``) and deliver the due sends (``deliver_due``), a batch of each in turn; with
``--advance-in main`` they only deliver and ``advance_due`` runs in this process (the layout
before the processes advanced). With 0 processes everything runs in ``--workers`` threads here.

(a) ``mass``: a live journey whose only step sends that message by email. Times
``enter_many`` (every customer, batches of 5,000, ``--workers`` threads), then the advancing
(queues the sends) and ``deliver_due`` (decision, render, the notification row and its outbox
event committed, ready for the relay; the relay's SMTP delivery is not part of it): in the
processes together (``advanced_per_min`` counts until the last run was advanced,
``delivered_per_min`` until the last send was decided, ``work_s`` both), or one after the
other (advance in threads here, then deliver in the processes or threads). Reports each rate
per minute and the end to end rate (sends / (enter + advance and deliver seconds)).

When both parts run, the mass run's queued notifications are marked published before (b)
(their SMTP delivery is part of neither measurement).

(b) ``triggered``: a journey triggered by ``marketing.segment_entered`` of one segment (its
first step a send). A producer commits those events into the outbox at ``--rate`` per second
(10 per transaction, every 10 ms) for ``--seconds``, while the relay (journeys' trigger
handler, in batches: enter, then the first step inline when it is not a wait; it claims
``--relay-batch`` deliveries a pass) runs in a loop, in this process or, with
``--relay-processes N``, in N processes of its own sharing the deliveries (as ``omniretail
events relay`` runs; they also send the queued notifications); the worker processes advance
and deliver (or, with none, a loop here every 100 ms). Latency = from the event's commit to
the commit that queued its send (``marketing_sends`` row; its key holds the event id): p50/p95.
Meanwhile ``--segment-changes`` consent grants (one each 100 ms) are timed from their commit
to the customer's row in ``marketing_segment_members`` of an "Email allowed" segment (live
evaluation by the relay, as benchmarks/segments.py), polled every 5 ms: p50/p95.

CPU (on Linux, unless ``--no-cpu``; read ``/proc`` as root to see PostgreSQL's backends):
``benchmarks/_cpu.py`` samples the user + system CPU seconds of this process, its child
processes and the PostgreSQL backends serving their connections. Each stage reports ``cpu``
(``cpu_s`` = ``client_cpu_s`` + ``database_cpu_s``); the mass run ``cpu_s_per_1000_sent``
(enter to the last send decided), the triggered run ``cpu_s_per_1000_events`` (first event to
the last send queued: producer, relays, workers, database). Unlike the rates, these hardly
depend on what else the machine runs. The worker processes' own start (imports, runtime, their
connections: a few CPU seconds whatever the number of customers) falls between the mass run's
marks too: ``cpu_workers_start`` reports it, ``cpu_s_per_1000_sent_running`` leaves it out.

The last line is one JSON object; its ``targets`` compare the figures with issue 15's
(at least 100,000 messages a minute end to end; send and segment p95 at most 1 s).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cpu import CpuMeter, Phases
from _server import SECRET_KEY, fresh_database, percentile
from sqlalchemy import func, insert, select, text, update

from omniretail.bootstrap import build_container
from omniretail.customers import service as customers
from omniretail.customers.models import Consent, Customer, Identity
from omniretail.customers.schemas import ConsentWrite
from omniretail.db.outbox import OutboxMessage
from omniretail.kernel.vault import vault_for
from omniretail.marketing import service as marketing
from omniretail.marketing.events import SegmentEntered
from omniretail.marketing.journeys_definition import JourneyDefinition
from omniretail.marketing.schemas import JourneyCreate, MessageCreate, SegmentCreate, SendPolicy
from omniretail.marketing.segments_models import SegmentMember
from omniretail.marketing.sending_models import MarketingSend
from omniretail.marketing.tasks import DeliveryWorkers
from omniretail.messaging.models import Delivery
from omniretail.messaging.repository import DUE_STATUSES
from omniretail.settings import Settings

MESSAGE = MessageCreate(
    code="season",
    name="Season",
    subject="{{ customer.first_name }}, a new season",
    body="Hi {{ customer.first_name }}, the new season is in.\n\nCome and see what is new.",
    link_url="https://shop.example.com/season",
)
CHUNK = 5000
RESCAN_IDS = 1000  # ids below the highest seen that may still commit (``watch_sends``)
METER = Phases()  # CPU seconds between named marks (``--cpu``)


def _customers(container: Any, count: int, start: int = 0) -> list[int]:
    """Synthetic customers in bulk, PII encrypted as the customers domain stores it."""
    vault = vault_for(container.keyring)
    ids: list[int] = []
    now = datetime.now(UTC)
    for lo in range(start, start + count, CHUNK):
        hi = min(lo + CHUNK, start + count)
        with container.uow() as uow:
            made = list(
                uow.session.execute(
                    insert(Customer).returning(Customer.id),
                    [
                        {
                            "created_at": now,
                            "status": "active",
                            "name_enc": vault.encrypt("name", f"Person{i} Bench"),
                        }
                        for i in range(lo, hi)
                    ],
                ).scalars()
            )
            uow.session.execute(
                insert(Identity),
                [
                    {
                        "customer_id": cid,
                        "kind": "email",
                        "scope": "",
                        "value_index": vault.blind_index("email", f"p{i}@example.com"),
                        "value_enc": vault.encrypt("identity", f"p{i}@example.com"),
                        "verified": False,
                        "created_at": now,
                    }
                    for i, cid in zip(range(lo, hi), made, strict=True)
                ],
            )
            uow.session.execute(
                insert(Consent),
                [
                    {
                        "customer_id": cid,
                        "purpose": "marketing",
                        "channel": "email",
                        "granted": True,
                        "updated_at": now,
                    }
                    for cid in made
                ],
            )
            ids.extend(made)
    return ids


def _journey(container: Any, code: str, trigger: dict[str, Any]) -> int:
    definition = JourneyDefinition.model_validate(
        {"trigger": trigger, "steps": [{"id": "send", "kind": "send", "message": "season"}]}
    )
    with container.uow() as uow:
        made = marketing.create_journey(
            uow, JourneyCreate(code=code, name=code, definition=definition), actor="bench"
        )
        marketing.publish(uow, code, actor="bench")
    return made.id


def _parallel(workers: int, work: Any) -> tuple[int, float]:
    done: list[int] = []
    started = time.perf_counter()
    threads = [threading.Thread(target=lambda: done.append(work())) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done), time.perf_counter() - started


def _in_processes(
    container: Any, processes: int, expected: int, advance: bool
) -> tuple[int, float, float, int]:
    """The worker processes (built before the clock starts) until they decided ``expected``
    sends: (decided, seconds, seconds until the last run was advanced, runs advanced). With
    ``advance`` they advance the due runs too (the production layout), else they only
    deliver (the runs were advanced before)."""
    pool = DeliveryWorkers(
        build_container, container.settings, processes, interval=0.05, advance=advance
    )
    pool.start(paused=True)
    try:
        if not pool.wait_ready():
            raise RuntimeError("a worker process did not start")
        METER.mark("ready")  # the processes' start (imports, runtime) is not the work's CPU
        started = time.perf_counter()
        advanced_s = 0.0
        pool.resume()
        while pool.delivered < expected:
            if advance and not advanced_s and pool.advanced >= expected:
                advanced_s = time.perf_counter() - started
            time.sleep(0.01)
        took = time.perf_counter() - started
        METER.mark("work")  # before the processes (and their connections) end
        return pool.delivered, took, advanced_s or took, pool.advanced
    finally:
        pool.stop()


def mass(
    container: Any, ids: list[int], workers: int, processes: int, advance_in: str
) -> dict[str, Any]:
    journey_id = _journey(container, "mass", {"kind": "segment_entered", "segment_id": 10**9})
    chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    lock = threading.Lock()

    def enter() -> int:
        n = 0
        while True:
            with lock:
                if not chunks:
                    return n
                chunk = chunks.pop()
            with container.uow() as uow:
                n += marketing.enter_many(uow, journey_id, [(c, "mass", {}) for c in chunk])

    METER.mark("start")
    entered, enter_s = _parallel(workers, enter)
    METER.mark("enter")
    profile = os.environ.get("BENCH_PROFILE")
    in_processes = bool(processes) and advance_in == "processes"
    stages: dict[str, Any] = {}
    if in_processes:  # advance and deliver in the worker processes, together
        delivered, work_s, advance_s, advanced = _in_processes(
            container, processes, entered, advance=True
        )
        deliver_s = work_s
        stages["work_s"] = round(work_s, 2)
        stages["cpu_work"] = METER.between("enter", "work")
        stages["cpu_workers_start"] = METER.between("enter", "ready")
    else:
        advanced, advance_s = _parallel(
            workers,
            lambda: marketing.advance_due(
                container.uow, limit=500, vault=vault_for(container.keyring)
            ),
        )
        METER.mark("advance")
        stages["cpu_advance"] = METER.between("enter", "advance")

        def deliver() -> int:
            if not profile:
                return marketing.deliver_due(container.uow, limit=500)
            import cProfile

            with cProfile.Profile() as prof:
                n = marketing.deliver_due(container.uow, limit=500)
            prof.dump_stats(profile)
            return n

        if processes:
            delivered, deliver_s, _, _ = _in_processes(
                container, processes, advanced, advance=False
            )
            stages["cpu_workers_start"] = METER.between("advance", "ready")
        else:
            delivered, deliver_s = _parallel(workers, deliver)
            METER.mark("work")
        stages["cpu_deliver"] = METER.between("advance", "work")
        work_s = advance_s + deliver_s
    with container.read_uow() as uow:
        sent = uow.session.scalar(
            select(func.count()).select_from(MarketingSend).where(MarketingSend.status == "sent")
        )
    total_s = enter_s + work_s
    cpu = METER.between("start", "work")
    start = stages.get("cpu_workers_start")
    running = (
        {k: round(cpu[k] - start[k], 2) for k in cpu} if cpu and start else cpu
    )  # less the worker processes' start
    return {
        "customers": len(ids),
        "advance_in": "processes" if in_processes else "main",
        "entered": entered,
        "advanced": advanced,
        "delivered": delivered,
        "sent": sent,
        "entered_per_min": round(entered / enter_s * 60),
        "advanced_per_min": round(advanced / advance_s * 60),
        "delivered_per_min": round(delivered / deliver_s * 60),
        "total_s": round(total_s, 2),
        "end_to_end_per_min": round(sent / total_s * 60),
        "cpu_enter": METER.between("start", "enter"),
        **stages,
        "cpu": cpu,
        "cpu_s_per_1000_sent": (round(cpu["cpu_s"] / sent * 1000, 3) if cpu and sent else None),
        "cpu_s_per_1000_sent_running": (
            round(running["cpu_s"] / sent * 1000, 3) if running and sent else None
        ),
    }


def _set_mass_mail_aside(container: Any) -> None:
    """The mass run's queued notifications (one outbox event each, for the relay to send by
    SMTP) are marked published, so the triggered run's relays do not first chew through them:
    the SMTP delivery is measured by neither part."""
    with container.uow() as uow:
        uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .values(published_at=func.now())
        )


def _relay_process(settings: Settings, stop: Any, ready: Any) -> None:
    """An outbox relay in its own process (the production layout, ``omniretail events
    relay``), passing every 5 ms when idle."""
    container = build_container(settings)
    relay = container.relay()
    with ready.get_lock():
        ready.value += 1
    try:
        while not stop.is_set():
            try:
                worked = relay.run_once().did_work
            except Exception:  # as ``Relay.run_forever``: logged, the pass is retried
                logging.getLogger("bench").exception("relay pass failed")
                worked = False
            if not worked:
                time.sleep(0.005)
    finally:
        container.dispose()


def _warm_up(
    container: Any,
    produce: Any,
    warmed: dict[str, float],
    queued: dict[str, float],
    errors: list[BaseException],
) -> None:
    """Run the chain at the rate for a while, let it drain, then ANALYZE (as pgbench vacuums
    and analyzes before its runs): a deployment's tables carry statistics, which autovacuum
    keeps (about once a minute). On a new schema's empty tables the planner has none and
    claims due deliveries by sorting every due row instead of reading the lane index."""
    produce()
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline and not errors:
        with container.read_uow() as uow:
            due = uow.session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status.in_(DUE_STATUSES))
            )
        if due == 0 and all(k in queued for k in warmed):
            break
        time.sleep(0.1)
    if container.backend == "postgresql":
        with container.uow() as uow:
            uow.session.execute(text("ANALYZE"))


def triggered(
    container: Any,
    ids: list[int],
    rate: int,
    seconds: float,
    changes: int,
    processes: int,
    relay_processes: int = 0,
    advance_in: str = "processes",
    warm_up: float = 0.0,
) -> dict[str, Any]:
    with container.uow() as uow:
        segment = marketing.create_segment(uow, SegmentCreate(name="Bench trigger", rule="false"))
        allowed = marketing.create_segment(
            uow, SegmentCreate(name="Email allowed", rule='"marketing:email" in consent')
        )
    _journey(container, "triggered", {"kind": "segment_entered", "segment_id": segment.id})
    relay = container.relay()
    relay.run_until_idle()
    stop = threading.Event()
    committed: dict[str, float] = {}
    queued: dict[str, float] = {}
    errors: list[BaseException] = []

    def guard(fn: Any) -> Any:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        return run

    def produce(duration: float = seconds, into: dict[str, float] = committed) -> None:
        per_tx, tick = 10, 10 / rate
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < duration:
            with container.uow() as uow:
                events = [
                    SegmentEntered(segment_id=segment.id, customer_id=ids[(n + k) % len(ids)])
                    for k in range(per_tx)
                ]
                for e in events:
                    uow.record(e)
                envelopes = list(uow._events)
            at = time.perf_counter()
            for env in envelopes:
                into[env.id] = at
            n += per_tx
            wait = started + (n / per_tx) * tick - time.perf_counter()
            if wait > 0:
                time.sleep(wait)

    def relaying() -> None:
        while not stop.is_set():
            if not relay.run_once().did_work:
                time.sleep(0.005)

    relays: list[Any] = []
    if relay_processes:
        context = multiprocessing.get_context("spawn")
        relay_stop = context.Event()
        ready = context.Value("i", 0)
        relays = [
            context.Process(target=_relay_process, args=(container.settings, relay_stop, ready))
            for _ in range(relay_processes)
        ]
        for process in relays:
            process.start()
        while ready.value < relay_processes:  # started before the clock, as in a deployment
            if not all(p.is_alive() for p in relays):
                raise RuntimeError("a relay process did not start")
            time.sleep(0.05)

    last = [0]

    def watch_sends() -> None:
        # Two relays commit out of id order: a trailing window of ids is read again, and a
        # send counts from its first sighting. In id order with a limit, so PostgreSQL reads
        # the primary key's index even before the new table has statistics (``id > n`` alone
        # was planned as a scan of every send, 3,000 times a run: the benchmark's own watcher
        # was a large share of the database's CPU).
        while not stop.is_set():
            with container.read_uow() as uow:
                rows = uow.session.execute(
                    select(MarketingSend.id, MarketingSend.key)
                    .where(MarketingSend.id > last[0] - RESCAN_IDS)
                    .order_by(MarketingSend.id)
                    .limit(RESCAN_IDS * 20)
                ).all()
            at = time.perf_counter()
            for sid, key in rows:
                queued.setdefault(key.rsplit(":", 1)[1], at)
                last[0] = max(last[0], sid)
            time.sleep(0.005)

    pool = None
    in_processes = bool(processes) and advance_in == "processes"
    if processes:
        pool = DeliveryWorkers(
            build_container, container.settings, processes, interval=0.1, advance=in_processes
        )
        pool.start()
        pool.wait_ready()

    def loop() -> None:
        while not stop.is_set():
            if not in_processes:
                marketing.advance_due(container.uow, limit=500, vault=vault_for(container.keyring))
            if pool is None:
                marketing.deliver_due(container.uow, limit=500)
            time.sleep(0.1)

    seg_latency: list[float] = []
    warmed: dict[str, float] = {}

    def consent_changes() -> None:
        for cid in ids[-changes:]:
            if stop.is_set():
                return
            with container.uow() as uow:
                customers.set_consent(
                    uow,
                    cid,
                    ConsentWrite(purpose="marketing", channel="email", granted=True),
                    actor="bench",
                )
            at = time.perf_counter()
            while not stop.is_set():
                with container.read_uow() as uow:
                    found = uow.session.scalar(
                        select(SegmentMember.customer_id).where(
                            SegmentMember.segment_id == allowed.id,
                            SegmentMember.customer_id == cid,
                        )
                    )
                if found is not None:
                    seg_latency.append((time.perf_counter() - at) * 1000)
                    break
                time.sleep(0.005)
            time.sleep(max(0.0, 0.1 - (time.perf_counter() - at)))

    jobs = (watch_sends, loop) if relay_processes else (relaying, watch_sends, loop)
    background = [threading.Thread(target=guard(f)) for f in jobs]
    for t in background:
        t.start()
    if warm_up:
        _warm_up(container, lambda: produce(warm_up, warmed), warmed, queued, errors)
    producer = threading.Thread(target=guard(produce))
    changer = threading.Thread(target=guard(consent_changes))
    METER.mark("triggered")
    producer.start()
    changer.start()
    producer.join()
    changer.join()
    deadline = time.perf_counter() + 30
    while len(queued) < len(committed) and time.perf_counter() < deadline and not errors:
        time.sleep(0.05)
    METER.mark("queued")
    stop.set()
    for t in background:
        t.join()
    if pool is not None:
        pool.stop()
    if relays:
        relay_stop.set()
        for process in relays:
            process.join(30)
    if errors:
        raise errors[0]
    latencies = [(queued[k] - at) * 1000 for k, at in committed.items() if k in queued]
    return {
        "events": len(committed),
        "events_per_s": round(len(committed) / seconds),
        "queued": len(latencies),
        "send_p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "send_p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "segment_changes": len(seg_latency),
        "segment_p50_ms": round(percentile(seg_latency, 50), 1) if seg_latency else None,
        "segment_p95_ms": round(percentile(seg_latency, 95), 1) if seg_latency else None,
        "advance_in": "processes" if in_processes else "main",
        # everything (producer, relays, workers, the database) from the first event until
        # the last send was queued
        "cpu": (cpu := METER.between("triggered", "queued")),
        "cpu_s_per_1000_events": (
            round(cpu["cpu_s"] / len(committed) * 1000, 3) if cpu and committed else None
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--delivery-processes", type=int, default=2)
    parser.add_argument("--relay-batch", type=int, default=100)
    parser.add_argument("--relay-processes", type=int, default=0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--warm-up",
        type=float,
        default=3.0,
        help="seconds of triggered events before the measured window, then drained and"
        " ANALYZEd (0: measure a new schema's first seconds, without statistics)",
    )
    parser.add_argument("--segment-changes", type=int, default=100)
    parser.add_argument("--skip", choices=["mass", "triggered"], default=None)
    parser.add_argument("--advance-in", choices=["processes", "main"], default="processes")
    parser.add_argument("--cpu", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    meter = CpuMeter().start() if args.cpu and os.path.isdir("/proc/self/fd") else None
    METER.meter = meter

    with fresh_database(args.db) as (url, schema):
        container = build_container(
            Settings(
                database_url=url,
                database_schema=schema,
                db_pool_size=max(8, args.workers + 6),
                relay_batch_size=args.relay_batch,
                secret_key=SECRET_KEY,  # type: ignore[arg-type]
            )
        )
        try:
            started = time.perf_counter()
            ids = _customers(container, args.customers)
            made_s = time.perf_counter() - started
            with container.uow() as uow:
                marketing.create_message(uow, MESSAGE)
                marketing.put_policy(
                    uow, SendPolicy(control_group_percent=0, quiet_hours=None, caps={}, total=None)
                )
            result: dict[str, Any] = {
                "benchmark": "journeys",
                "db": args.db,
                "workers": args.workers,
                "delivery_processes": args.delivery_processes,
                "relay_batch": args.relay_batch,
                "relay_processes": args.relay_processes,
                "advance_in": args.advance_in if args.delivery_processes else "main",
                "setup_s": round(made_s, 1),
            }
            if args.skip != "mass":
                result["mass"] = mass(
                    container, ids, args.workers, args.delivery_processes, args.advance_in
                )
            if args.skip != "triggered":
                if args.skip != "mass":
                    _set_mass_mail_aside(container)
                extra = _customers(container, args.segment_changes, start=args.customers)
                with container.uow() as uow:  # consent withdrawn: the grant is the change
                    for cid in extra:
                        customers.set_consent(
                            uow,
                            cid,
                            ConsentWrite(purpose="marketing", channel="email", granted=False),
                            actor="bench",
                        )
                result["triggered"] = triggered(
                    container,
                    ids + extra,
                    args.rate,
                    args.seconds,
                    args.segment_changes,
                    args.delivery_processes,
                    args.relay_processes,
                    args.advance_in,
                    args.warm_up,
                )
        finally:
            container.dispose()
    result["targets"] = _targets(result)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))


def _targets(result: dict[str, Any]) -> dict[str, Any]:
    """Issue 15's performance targets against this run's figures (None: not measured)."""

    def check(value: float | None, target: float, at_least: bool) -> dict[str, Any]:
        met = None if value is None else (value >= target if at_least else value <= target)
        return {"value": value, "target": target, "met": met}

    mass_run = result.get("mass", {})
    trig = result.get("triggered", {})
    return {
        "mass_messages_per_min": check(mass_run.get("end_to_end_per_min"), 100_000, True),
        "triggered_send_p95_ms": check(trig.get("send_p95_ms"), 1000, False),
        "segment_change_p95_ms": check(trig.get("segment_p95_ms"), 1000, False),
        "triggered_events_per_s": check(trig.get("events_per_s"), 1000, True),
    }


if __name__ == "__main__":
    main()
