"""Crash safety: the journeys loop (``omniretail marketing journeys run``) and the outbox relay
(``omniretail events relay``) run as subprocesses on the test's PostgreSQL schema and are
killed with SIGKILL mid-journey, twice, then restarted. Every send happens exactly once in the
database and every mail reaches the real SMTP server. PostgreSQL only (SQLite has one writer
and no SKIP LOCKED; the multi-process claim is what is tested)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from omniretail.bootstrap import Container, build_container
from omniretail.customers import service as customers
from omniretail.customers.models import IdentityKind
from omniretail.customers.schemas import ConsentWrite, CustomerCreate, IdentityCreate
from omniretail.kernel.vault import vault_for
from omniretail.marketing import service as marketing
from omniretail.marketing.journeys_definition import JourneyDefinition
from omniretail.marketing.journeys_models import Run
from omniretail.marketing.schemas import JourneyCreate, MessageCreate, SendPolicy
from omniretail.marketing.sending_models import MarketingSend
from omniretail.notifications.models import Notification
from omniretail.settings import Settings
from tests.conftest import TEST_SECRET_KEY, _truncate_all

CUSTOMERS = 100  # two sends each; the single relay does ~15 deliveries/s here
RELAYS = 1  # more relays on two cores only contend
KILLS = 2
DEADLINE_SECONDS = 90  # a guard against hanging, not a timing assert


@pytest.fixture
def pg(pg_schema: tuple[str, str], tmp_path: Path) -> Iterator[Container]:
    url, schema = pg_schema
    built = build_container(
        Settings(
            database_url=url,
            database_schema=schema,
            data_dir=tmp_path,
            secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        )
    )  # the real clock: the subprocesses have no other
    _truncate_all(built)
    yield built
    built.dispose()


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-c", "from omniretail.commands.main import app; app()", *args],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def setup_journey(container: Container) -> None:
    with container.uow() as uow:
        marketing.put_policy(
            uow, SendPolicy(control_group_percent=0, quiet_hours=None, caps={}, total=None)
        )
        for step in ("one", "two"):
            marketing.create_message(
                uow,
                MessageCreate(
                    code=f"crash-{step}",
                    name=step,
                    subject=f"Step {step} for {{{{ customer.first_name }}}}",
                    body="Hi {{ customer.first_name }}.",
                ),
            )
        definition = JourneyDefinition.model_validate(
            {
                "trigger": {"kind": "event", "event": "customers.registered"},
                "steps": [
                    {"kind": "send", "id": "one", "message": "crash-one", "channel": "email"},
                    {"kind": "wait", "id": "pause", "minutes": 1},
                    {"kind": "send", "id": "two", "message": "crash-two", "channel": "email"},
                ],
            }
        )
        marketing.create_journey(
            uow, JourneyCreate(code="crash", name="crash", definition=definition)
        )
        marketing.publish(uow, "crash", actor="test")


def register(container: Container, n: int) -> None:
    vault = vault_for(container.keyring)
    with container.uow() as uow:
        for i in range(n):
            created = customers.create_customer(
                uow,
                CustomerCreate(name=f"Crash Person{i}"),
                vault=vault,
                actor="test",
            )
            cid = created.customer.id
            customers.add_verified_identity(
                uow,
                cid,
                IdentityCreate(kind=IdentityKind.EMAIL, value=f"c{i}@example.com"),
                via="code",
                reference="test",
                vault=vault,
                actor="system:test",
            )
            customers.set_consent(
                uow,
                cid,
                ConsentWrite.model_validate(
                    {"purpose": "marketing", "channel": "email", "granted": True}
                ),
                actor="test",
            )


def fast_forward(container: Container) -> None:
    """Time passes for the waiting runs: the one-minute wait is made due now."""
    with container.uow() as uow:
        uow.session.execute(
            update(Run)
            .where(Run.state == "active", Run.due_at > datetime.now(UTC))
            .values(due_at=datetime.now(UTC))
        )


def counts(container: Container) -> dict[str, Any]:
    with container.read_uow() as uow:
        s = uow.session
        return {
            "sent": s.scalar(
                select(func.count())
                .select_from(MarketingSend)
                .where(MarketingSend.status == "sent")
            ),
            "completed": s.scalar(
                select(func.count()).select_from(Run).where(Run.state == "completed")
            ),
        }


def test_kill_9_of_the_loop_and_the_relay_loses_nothing_and_sends_nothing_twice(
    pg: Container, pg_schema: tuple[str, str], smtp_server: Any, tmp_path: Path
) -> None:
    url, schema = pg_schema
    setup_journey(pg)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
        "OMNIRETAIL_DATABASE_SCHEMA": schema,
        "OMNIRETAIL_DATA_DIR": str(tmp_path),
        "OMNIRETAIL_SMTP_HOST": smtp_server.host,
        "OMNIRETAIL_SMTP_PORT": str(smtp_server.port),
        # A killed relay's claims come back after the lease: short, to keep the test short.
        "OMNIRETAIL_RELAY_LEASE_SECONDS": "6",
        "OMNIRETAIL_RELAY_INTERVAL_SECONDS": "0.2",
    }
    loop_args = ["marketing", "journeys", "run", "--db", url]
    relay_args = ["events", "relay", "--db", url, "--interval", "0.2"]
    log = tmp_path / "processes.log"
    register(pg, CUSTOMERS)
    started = time.monotonic()
    relay_kills = 0
    for kill_no in range(KILLS):
        loop, relays = (
            start(loop_args, env, log),
            [start(relay_args, env, log) for _ in range(RELAYS)],
        )
        # Let each get going, then kill both in the middle of the work.
        target = (kill_no + 1) * 2 * CUSTOMERS // 3
        while counts(pg)["sent"] < target and time.monotonic() - started < DEADLINE_SECONDS:
            fast_forward(pg)
            time.sleep(0.2)
        kill(loop)
        for relay in relays:
            kill(relay)
        relay_kills += RELAYS
    loop, relays = start(loop_args, env, log), [start(relay_args, env, log) for _ in range(RELAYS)]
    expected = {
        (f"c{i}@example.com", f"Step {s} for Crash")
        for i in range(CUSTOMERS)
        for s in ("one", "two")
    }
    try:
        while time.monotonic() - started < DEADLINE_SECONDS:
            fast_forward(pg)
            got = {(rcpt[0], str(m["Subject"])) for _f, rcpt, m in smtp_server.received}
            if counts(pg)["completed"] == CUSTOMERS and expected <= got:
                break
            time.sleep(0.3)
    finally:
        for process in (loop, *relays):
            kill(process)
    got = {(rcpt[0], str(m["Subject"])) for _f, rcpt, m in smtp_server.received}
    assert time.monotonic() - started < DEADLINE_SECONDS, (
        counts(pg),
        len(expected - got),
        sorted(expected - got)[:3],
        sorted(got - expected)[:3],
        [
            ln
            for ln in log.read_text().splitlines()
            if "ERROR" in ln or "WARN" in ln or "rror" in ln
        ][:8],
    )

    with pg.read_uow() as uow:
        s = uow.session
        keys = Counter(s.scalars(select(MarketingSend.key)))
        statuses = Counter(s.scalars(select(MarketingSend.status)))
        notified = list(s.scalars(select(MarketingSend.notification_id)))
        notifications = s.scalar(select(func.count(Notification.id)))
        runs = Counter(s.scalars(select(Run.state)))
    expected_keys = {
        f"j1v1:{step}:c{c}:" for c in range(1, CUSTOMERS + 1) for step in ("one", "two")
    }
    assert len(keys) == 2 * CUSTOMERS and max(keys.values()) == 1
    assert {k[: k.rindex(":") + 1] for k in keys} == expected_keys
    assert statuses == {"sent": 2 * CUSTOMERS}
    assert None not in notified and len(set(notified)) == 2 * CUSTOMERS == notifications
    assert runs == {"completed": CUSTOMERS}

    mails = Counter((rcpt[0], str(m["Subject"])) for _f, rcpt, m in smtp_server.received)
    assert set(mails) == expected
    # The relay is at-least-once towards SMTP: a relay killed after the server accepted a mail
    # and before it committed "delivered" sends that one mail again after its lease. It sends
    # one delivery at a time and commits each right after the SMTP accept, so each kill can
    # repeat at most the one mail in flight.
    duplicates = sum(n - 1 for n in mails.values())
    assert duplicates <= relay_kills, mails.most_common(3)
