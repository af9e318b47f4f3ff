"""Scale-out: the checkout flow through nginx over 1, 2 and 4 API processes, with relay processes
sharing the outbox, on one PostgreSQL (optionally through PgBouncer); nothing lost or sent twice.

    python benchmarks/scale_out.py --nodes 1,2,4 --relays 2 --clients 20 --orders 400 [--pgbouncer]

For each node count, on a fresh role and schema (``tests/topology.py``): migrate, start
``--relays`` ``omniretail events relay`` processes and N ``omniretail serve`` processes (each
with its own data folder, all with the same secret key; their relay threads off), nginx from
the distribution in front of them (round robin, upstream keep-alive), and with ``--pgbouncer``
PgBouncer in transaction pooling between every process and PostgreSQL
(``OMNIRETAIL_DB_PGBOUNCER=true``, migrations direct). The shop and the shoppers are
``benchmarks/checkout.py``'s (``set_up`` and ``shop``, imported), sent to nginx. A webhook
subscription to ``omniretail.orders.*`` points at a receiver in this process (``--webhooks``:
each call costs the relay a new HTTPS-capable client, so it is off by default).

After the shoppers, the relays drain the outbox; then every order is checked: one
``order_confirmed`` event per order placed, delivered exactly once to each of its handlers
(``deliveries``: status delivered or skipped, one attempt), one confirmation notification per
order, and (``--webhooks``) each webhook event id received once. ``lost`` counts events,
deliveries, notifications or webhooks missing; ``duplicates`` counts notifications or webhook
ids recorded more than once; ``redelivered`` counts deliveries attempted more than once (a
handler possibly run twice).

CPU time (from /proc, load-insensitive) is split by API processes, relays, nginx, PgBouncer and
the PostgreSQL backends of the run's role: from the shoppers' start to their end for the API
and nginx, to the drained outbox for the others.
The last line printed is one JSON object with a ``runs`` entry per node count."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # tests/topology.py: nginx, PgBouncer, API nodes

import _server  # noqa: E402
import checkout  # noqa: E402
from _server import percentile  # noqa: E402
from tests.topology import api_nodes, nginx, pgbouncer, postgres_role  # noqa: E402

API = "/api/v1"
CONFIRMED = "omniretail.orders.order_confirmed"
TICKS = os.sysconf("SC_CLK_TCK")


# --- CPU time from /proc ---------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (nginx's workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            parents[int(entry.name)] = stat[0]
    found, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _backends(role: str) -> list[int]:
    """PostgreSQL backends of ``role``: process title ``postgres: [<cluster>: ]<role> <db> ...``
    (Debian names its clusters, e.g. ``15/main``)."""
    name = f" {role} ".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and name in title:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(groups: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    return {
        name: {pid: stat[1] for pid in pids if (stat := _stat(pid))}
        for name, pids in groups.items()
    }


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict:
    """CPU seconds per group between two readings (a process new since ``before`` counts in
    full; one gone by ``after`` is missing: PostgreSQL backends live as long as the pools)."""
    return {
        name: sum(cpu - before.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items())
        for name, pids in after.items()
    }


# --- a webhook receiver --------------------------------------------------------------------


class Receiver:
    """Counts the event ids of the webhook calls that arrive (answers 200 to each)."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()
        lock = threading.Lock()
        ids = self.ids

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    ids[self.headers.get("Omniretail-Event-Id", "")] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


# --- one run ---------------------------------------------------------------------------------


def run(nodes: int, args: argparse.Namespace) -> dict[str, Any]:
    admin_url = os.environ.get("OMNIRETAIL_TEST_PG_URL", _server.DEFAULT_PG_URL)
    with ExitStack() as stack:
        role = stack.enter_context(postgres_role(admin_url, prefix="bench_scaleout"))
        _server._migrate(role.direct_url, None)  # the run's admin API key, as the role
        processes = nodes + args.relays
        env = {
            "OMNIRETAIL_DATABASE_URL": role.direct_url,
            "OMNIRETAIL_SECRET_KEY": _server.SECRET_KEY,
            "OMNIRETAIL_DB_POOL_SIZE": str(args.pool_size),
            "OMNIRETAIL_DB_PROCESSES": str(processes),
            "OMNIRETAIL_JOBS_WORKER_ENABLED": "false",
        }
        bouncer = None
        if args.pgbouncer:
            bouncer = stack.enter_context(
                pgbouncer(
                    role.direct_url,
                    [role.name],
                    pool_size=args.pgbouncer_pool,
                    max_client_conn=processes * args.pool_size + 50,
                )
            )
            env |= {
                "OMNIRETAIL_DATABASE_URL": bouncer.url(role.name),
                "OMNIRETAIL_DATABASE_DIRECT_URL": role.direct_url,
                "OMNIRETAIL_DB_PGBOUNCER": "true",
                "OMNIRETAIL_DB_MAX_CONNECTIONS": str(args.pool_size),
            }
        running = stack.enter_context(api_nodes(nodes, env, relays=args.relays))
        balancer = stack.enter_context(nginx(running.addresses))
        receiver = stack.enter_context(Receiver().running()) if args.webhooks else None
        http = stack.enter_context(
            httpx.Client(
                base_url=balancer.url,
                headers={"X-API-Key": _server.API_KEY},
                timeout=120,
            )
        )
        received = checkout.set_up(http, args.skus, args.orders)
        if receiver is not None:
            hook = http.post(
                f"{API}/webhooks",
                json={"url": receiver.url, "event_types": ["omniretail.orders.*"]},
            )
            if hook.status_code != 201:
                raise SystemExit(f"webhook subscription failed: {hook.status_code} {hook.text}")
        engine = stack.enter_context(_engine(role.direct_url))
        drain(engine, args.drain_timeout)  # the set-up's events first

        groups = {
            "api": [p.pid for p in running.servers],
            "relay": [p.pid for p in running.relays],
            "nginx": _tree(balancer.process.pid),
            "pgbouncer": [bouncer.process.pid] if bouncer else [],
        }
        # What the topology burns while nobody shops (pollers, sweeps), per second of wall.
        quiet = cpu_seconds({**groups, "postgres": _backends(role.name)})
        time.sleep(args.idle_seconds)
        idle = cpu_delta(quiet, cpu_seconds({**groups, "postgres": _backends(role.name)}))
        before = cpu_seconds({**groups, "postgres": _backends(role.name)})
        per_node_before = cpu_seconds({"api": groups["api"]})["api"]
        shopped = asyncio.run(
            checkout.shop(balancer.url, args.clients, args.orders, sorted(received))
        )
        # The API's and nginx's work ends with the shoppers'; the relays' with the drain.
        shopped_cpu = cpu_seconds({"api": groups["api"], "nginx": groups["nginx"]})
        drained_in = drain(engine, args.drain_timeout)
        after = cpu_seconds({**groups, "postgres": _backends(role.name)}) | shopped_cpu
        per_node = {
            address: round(after["api"].get(pid, 0.0) - per_node_before.get(pid, 0.0), 2)
            for address, pid in zip(running.addresses, groups["api"], strict=True)
        }
        checks = verify(engine, receiver, shopped["results"], received)
    ordered = [r for r in shopped["results"] if r["outcome"] == "ordered"]
    cpu = cpu_delta(before, after)
    flows = max(1, len(ordered))
    total_cpu = sum(cpu.values())
    latencies = [r["ms"] for r in ordered]
    return {
        "api_nodes": nodes,
        "orders": len(ordered),
        "sold_out": sum(1 for r in shopped["results"] if r["outcome"] == "sold_out"),
        "errors": sum(1 for r in shopped["results"] if r["outcome"] == "error"),
        "elapsed_s": round(shopped["elapsed_s"], 2),
        "throughput_per_s": round(len(ordered) / shopped["elapsed_s"], 1),
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "drain_s": round(drained_in, 2),
        "cpu_ms_per_flow": {k: round(v * 1000 / flows, 1) for k, v in cpu.items()}
        | {"total": round(total_cpu * 1000 / flows, 1)},
        # load-insensitive: flows per CPU second of the whole topology
        "flows_per_cpu_s": round(len(ordered) / total_cpu, 1) if total_cpu else None,
        "api_cpu_s_by_node": per_node,
        "idle_cpu_ms_per_s": {k: round(v * 1000 / args.idle_seconds, 1) for k, v in idle.items()},
        **checks,
    }


@contextmanager
def _engine(url: str) -> Iterator[Any]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def drain(engine: Any, timeout: float) -> float:
    """Seconds until every outbox message is published and no delivery is due or claimed."""
    started = time.monotonic()
    while True:
        with engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL)"
                    " + (SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending'))"
                )
            ).scalar_one()
        if not waiting:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise SystemExit(f"the relays left {waiting} messages or deliveries after {timeout}s")
        time.sleep(0.2)


def verify(
    engine: Any, receiver: Receiver | None, results: Sequence[dict[str, Any]], stock: dict[str, int]
) -> dict[str, Any]:
    """Nothing lost, nothing sent twice, nothing oversold."""
    ordered = [r for r in results if r["outcome"] == "ordered"]
    units: Counter[str] = Counter()
    for r in ordered:
        units.update(r["lines"])
    with engine.connect() as conn:
        orders = conn.execute(text("SELECT count(*) FROM orders")).scalar_one()
        events = [
            row[0]
            for row in conn.execute(text("SELECT id FROM outbox WHERE type = :t"), {"t": CONFIRMED})
        ]
        handlers = conn.execute(
            text(
                "SELECT d.handler, d.status, d.attempts, count(*) FROM deliveries d"
                " JOIN outbox o ON o.id = d.message_id WHERE o.type = :t"
                " GROUP BY d.handler, d.status, d.attempts"
            ),
            {"t": CONFIRMED},
        ).all()
        dead = conn.execute(
            text("SELECT count(*) FROM deliveries WHERE status = 'dead'")
        ).scalar_one()
        notified = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT source_event_id) FROM notifications"
                " WHERE source_event_id IN (SELECT id FROM outbox WHERE type = :t)"
            ),
            {"t": CONFIRMED},
        ).one()
        all_order_events = [
            row[0]
            for row in conn.execute(
                text("SELECT id FROM outbox WHERE type LIKE 'omniretail.orders.%'")
            )
        ]
    per_handler: dict[str, int] = Counter()
    redelivered = 0
    for handler, status, attempts, count in handlers:
        if status in ("delivered", "skipped"):
            per_handler[handler] += count
        if attempts != 1:
            redelivered += count
    missing_deliveries = sum(len(events) - n for n in per_handler.values())
    received = receiver.ids if receiver is not None else Counter()
    missing_webhooks = (
        sum(1 for event_id in all_order_events if received[event_id] == 0) if receiver else 0
    )
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    return {
        "orders_in_db": orders,
        "confirmed_events": len(events),
        "handlers_per_order": len(per_handler),
        "notifications": notified[1],
        "webhooks_received": sum(received.values()) if receiver else None,
        "lost": abs(orders - len(ordered))
        + abs(len(events) - len(ordered))
        + missing_deliveries
        + missing_webhooks
        + abs(notified[1] - len(events))
        + dead,
        "duplicates": duplicates + (notified[0] - notified[1]),
        "redelivered": redelivered,
        "oversold": sum(max(0, n - stock.get(sku, 0)) for sku, n in units.items()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="1,2,4", help="API process counts, comma-separated")
    parser.add_argument("--relays", type=int, default=2, help="relay processes")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--orders", type=int, default=400, help="orders per node count")
    parser.add_argument("--skus", type=int, default=50)
    parser.add_argument("--pool-size", type=int, default=20, help="connections per process")
    parser.add_argument("--pgbouncer", action="store_true", help="through PgBouncer")
    parser.add_argument(
        "--pgbouncer-pool", type=int, default=20, help="PgBouncer's server connections"
    )
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="also subscribe a loopback receiver to omniretail.orders.* and count every id",
    )
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument(
        "--idle-seconds", type=float, default=5.0, help="quiet window to measure idle CPU"
    )
    args = parser.parse_args()
    if args.skus <= checkout.SCARCE:
        parser.error(f"--skus must be above {checkout.SCARCE}")
    runs = []
    for count in (int(n) for n in args.nodes.split(",")):
        figures = run(count, args)
        print(json.dumps(figures), flush=True)
        runs.append(figures)
    print(
        json.dumps(
            {
                "benchmark": "scale_out",
                "db": "postgres",
                "pgbouncer": args.pgbouncer,
                "relays": args.relays,
                "webhooks": args.webhooks,
                "clients": args.clients,
                "orders_per_run": args.orders,
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "cpus": os.cpu_count(),
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
