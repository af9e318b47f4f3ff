"""Journey results: a journey with a split and a holdout run end to end (sends decided and
delivered, a click through ``/r/<token>``, a web order and a till sale converting), then the
figures per journey and step, the API and the console page; lift and the A/B winner with
enough customers. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.marketing import service
from omniretail.marketing.journeys import stable_percent
from omniretail.marketing.journeys_models import Run
from omniretail.marketing.journeys_triggers import on_event
from omniretail.marketing.messages import links_for
from omniretail.marketing.messages_models import MessageClick
from omniretail.marketing.results_stats import Proportion, lift, split_winner
from omniretail.marketing.schemas import JourneyCreate, JourneyDefinition, MessageCreate, SendPolicy
from omniretail.marketing.sending_models import MarketingSend
from omniretail.messaging.handlers import EventMeta
from omniretail.messaging.mail import RecordingMailer
from omniretail.notifications import service as notifications
from omniretail.orders import service as orders
from omniretail.orders.events import OrderConfirmed
from omniretail.orders.schemas import FulfilmentChoice
from omniretail.web.hq.journey_results import lift_sentence
from omniretail.web.rendering import DASH
from tests.customers.helpers import make_customer
from tests.drain import drain
from tests.marketing.test_sending import consent
from tests.web.conftest import payments, post, seeded, sign_in, web  # noqa: F401
from tests.web.seed import ASSOCIATE, PASSWORD, place_web_order

HOLDOUT = 30


def message(code: str, link: str | None = None) -> MessageCreate:
    return MessageCreate(
        code=code, name=code, subject="Hello {{ customer.first_name }}", body="Hi.", link_url=link
    )


def definition(holdout: int = HOLDOUT, steps: list[dict[str, Any]] | None = None) -> Any:
    return JourneyDefinition.model_validate(
        {
            "trigger": {"kind": "event", "event": "customers.registered"},
            "holdout_percent": holdout,
            "steps": steps
            or [
                {"kind": "send", "id": "hello", "message": "hello", "channel": "email"},
                {"kind": "wait", "id": "later", "hours": 1},
                {
                    "kind": "split",
                    "id": "ab",
                    "branches": [
                        {"name": "A", "percent": 50, "next": "mail-a"},
                        {"name": "B", "percent": 50, "next": "card-b"},
                    ],
                },
                {"kind": "send", "id": "mail-a", "message": "nudge", "next": "end"},
                {"kind": "send", "id": "card-b", "message": "nudge", "channel": "inbox"},
                {"kind": "exit", "id": "end"},
            ],
        }
    )


def publish(container: Container, code: str, d: Any, *, live: bool = True) -> int:
    with container.uow() as uow:
        made = service.create_journey(
            uow, JourneyCreate(code=code, name=f"{code} journey", definition=d)
        )
        if live:
            service.publish(uow, code, actor="test")
    return made.id


def policy(container: Container, **changes: Any) -> None:
    values: dict[str, Any] = {"control_group_percent": 0, "quiet_hours": None, "caps": {}}
    with container.uow() as uow:
        service.put_policy(uow, SendPolicy(**{**values, "total": None, **changes}))


def till_sale(
    web: TestClient,  # noqa: F811
    email: str,
    sku: str,
) -> None:
    """An associate rings ``sku`` up at LON1 for the customer found by ``email``; cash."""
    sign_in(web, ASSOCIATE)
    url = "/store/till"
    form = re.search(
        r'<form method="post" action="([^"]+)"[^>]*aria-label="Scan"', web.get(url).text
    )
    assert form
    scanned = post(web, url, form.group(1), {"sku": sku, "customer": ""})
    url = str(scanned.headers["location"])  # type: ignore[attr-defined]
    token = url.split("?")[0].rsplit("/", 1)[-1]
    found = post(web, url, f"/store/till/{token}/customer", {"kind": "email", "value": email})
    assert found.status_code == 303  # type: ignore[attr-defined]
    url = str(found.headers["location"])  # type: ignore[attr-defined]
    customer = re.search(r"customer=([^&]+)", url)
    assert customer
    paid = post(
        web,
        url,
        f"/store/till/{token}/pay",
        {"customer": customer.group(1), "method": "cash", "tendered": "50"},
    )
    assert paid.status_code == 303, paid.text  # type: ignore[attr-defined]


def test_a_journey_measured_end_to_end(
    container: Container,
    clock: Any,
    web: TestClient,  # noqa: F811
    client: TestClient,
    seeded: Any,  # noqa: F811
    payments: Any,  # noqa: F811
) -> None:
    container.senders.mailer = RecordingMailer()
    drain(container)  # the seed's own orders convert nothing later
    with container.uow() as uow:
        service.create_message(uow, message("hello", "https://shop.example.com/spring"))
        service.create_message(uow, message("nudge"))
    policy(container)
    jid = publish(container, "spring", definition(), live=False)
    pool = [
        make_customer(container, f"Pat {i}", email=f"pat{i}@example.com", verified=True)
        for i in range(16)
    ]
    treated = [c for c in pool if stable_percent(jid, c) >= HOLDOUT][:4]
    held_out = [c for c in pool if stable_percent(jid, c) < HOLDOUT][:2]
    assert len(treated) == 4 and len(held_out) == 2
    no_consent = treated[3]
    for c in treated[:3] + held_out:
        consent(container, c, "email")
    drain(container)  # registrations (the journey is not live yet): entered directly below
    with container.uow() as uow:
        service.publish(uow, "spring", actor="test")
    with container.uow() as uow:
        runs = {c: service.enter(uow, jid, c, "e1", {}) for c in treated + held_out}

    service.advance_due(container.uow)
    service.deliver_due(container.uow)
    clock.advance(hours=1, seconds=1)
    service.advance_due(container.uow)
    # 10:00 in London is quiet now: the split's sends wait (held)
    policy(container, quiet_hours={"start": "09:30", "end": "11:00"})
    service.deliver_due(container.uow)

    with container.read_uow() as uow:
        branch = {c: uow.session.get(Run, runs[c]).branches["ab"] for c in runs}
        hello = uow.session.scalar(
            select(MarketingSend).where(
                MarketingSend.customer_id == treated[0], MarketingSend.step_id == "hello"
            )
        )
        assert hello is not None and hello.status == "sent"
        note = notifications.list_notifications(uow, customer_ref=str(treated[0]))
        body = next(n.body for n in note if n.id == hello.notification_id)
    link = re.search(r"/r/[A-Za-z0-9_.-]+", body)
    assert link
    for _ in range(2):  # one customer, two clicks
        assert web.get(link.group(0)).status_code == 302

    clock.advance(hours=1)
    buyer = treated[1]
    web_order = place_web_order(
        container,
        buyer,
        payments,
        "B2",
        1,
        FulfilmentChoice(method="pickup_in_store", pickup_location="LON1"),
        "LON1",
    )
    holdout_order = place_web_order(
        container,
        held_out[0],
        payments,
        "A1",
        1,
        FulfilmentChoice(method="pickup_in_store", pickup_location="LON1"),
        "LON1",
    )
    till_sale(web, f"pat{pool.index(treated[0])}@example.com", "A1")
    drain(container)
    with container.read_uow() as uow:
        totals = {n: orders.get_order(uow, n).total for n in (web_order, holdout_order)}
        till = uow.session.scalar(select(Run).where(Run.customer_id == treated[0]))
        assert till is not None and till.conversion_ref is not None
        till_total = orders.get_order(uow, till.conversion_ref).total
        assert orders.get_order(uow, till.conversion_ref).channel == "POS"

    with container.read_uow() as uow:
        r = service.journey_results(uow, "spring")

    assert (r.entered, r.treated.runs, r.holdout.runs) == (6, 4, 2)
    assert (r.treated.converted, r.holdout.converted) == (2, 1)
    assert r.states == {"exited": 6}
    assert [(x.currency, x.holdout, x.converted, x.revenue) for x in r.revenue] == [
        ("GBP", False, 2, Decimal(till_total + totals[web_order]).quantize(Decimal("0.01"))),
        ("GBP", True, 1, Decimal(totals[holdout_order]).quantize(Decimal("0.01"))),
    ]
    assert r.lift is None and "not enough customers in the holdout yet" in lift_sentence(r)
    assert (r.clicks.total, r.clicks.customers) == (2, 1)
    steps = {s.step_id: s for s in r.steps}
    assert [s.step_id for s in r.steps] == ["hello", "later", "ab", "mail-a", "card-b", "end"]
    assert steps["hello"].reached == 6 and steps["hello"].outcomes == {"queued": 6}
    assert steps["hello"].sends.by_channel == {"email": {"sent": 3, "suppressed": 3}}
    assert steps["hello"].sends.suppressed == {"consent": 1, "holdout": 2}
    assert (steps["hello"].clicks.total, steps["hello"].clicks.customers) == (2, 1)
    assert steps["hello"].converted == 3  # every conversion came after the first send
    counts = Counter(branch.values())
    assert steps["ab"].outcomes == {f"branch:{b}": n for b, n in counts.items()}
    split = steps["ab"].split
    assert split is not None and split.winner is None and split.p_value is None
    converted = {treated[0], treated[1]}
    expected = {
        b: (
            sum(1 for c in treated if branch[c] == b),
            sum(1 for c in treated if branch[c] == b and c in converted),
        )
        for b in ("A", "B")
    }
    assert {b.name: (b.runs, b.converted) for b in split.branches} == expected
    a_runs = [c for c in runs if branch[c] == "A"]
    b_runs = [c for c in runs if branch[c] == "B"]
    # A: email (held, or suppressed for the holdout and the customer without consent)
    held_a = sum(1 for c in a_runs if c not in held_out and c != no_consent)
    assert steps["mail-a"].reached == len(a_runs) == steps["mail-a"].sends.total
    assert steps["mail-a"].sends.held == held_a
    assert steps["card-b"].sends.held == sum(1 for c in b_runs if c not in held_out)
    assert steps["end"].reached == 6  # both branches end at the exit step
    assert (
        r.sends.sent == 3
        and r.sends.held == steps["mail-a"].sends.held + steps["card-b"].sends.held
    )
    assert r.sends.suppressed["holdout"] == 4

    # the API: the same figures; a version; unknown journeys and versions are problems
    got = client.get("/api/v1/marketing/journeys/spring/results")
    assert got.status_code == 200
    assert got.json()["clicks"] == {"customers": 1, "total": 2}
    assert got.json()["treated"] == {"runs": 4, "converted": 2, "rate": 0.5}
    assert client.get("/api/v1/marketing/journeys/spring/results?version=1").json()["entered"] == 6
    for url in ("nope/results", "spring/results?version=2"):
        missing = client.get(f"/api/v1/marketing/journeys/{url}")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

    # the console: a marketer sees the figures; a store associate is refused
    page = web.get("/hq/journeys/spring/results")
    assert page.status_code == 403  # still the associate who rang up the sale
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="marketer", role=Role.MARKETER, password=PASSWORD)
        )
    web.cookies.clear()
    sign_in(web, "marketer")
    page = web.get("/hq/journeys/spring/results")
    assert page.status_code == 200
    assert "not enough customers in the holdout yet (2 of the 30 needed)" in page.text
    assert '<svg class="journey"' in page.text and "6 in · 3 sent · 2 clicks" in page.text
    assert "Sends per channel by status" in page.text
    assert "Split ab:" in page.text and "<script" not in page.text.split("<main")[1]
    assert " style=" not in page.text
    assert web.get("/hq/journeys/nope/results").status_code == 404


def test_old_tokens_stay_valid_and_count_for_no_journey(
    container: Container, client: TestClient
) -> None:
    c = make_customer(container, "Old Token")
    with container.uow() as uow:
        made = service.create_message(uow, message("old", "https://shop.example.com/"))
        link = links_for(uow, made, c, "email").link
    assert link is not None
    assert client.get(link, follow_redirects=False).status_code == 302
    with container.read_uow() as uow:
        click = uow.session.scalar(select(MessageClick))
        assert click is not None and click.send_id is None


def test_lift_and_the_winner_with_enough_customers(container: Container, clock: Any) -> None:
    d = definition(
        holdout=50,
        steps=[
            {
                "kind": "split",
                "id": "ab",
                "branches": [{"name": "A", "percent": 50}, {"name": "B", "percent": 50}],
            },
        ],
    )
    jid = publish(container, "many", d)
    ids = [make_customer(container, f"M {i}") for i in range(160)]
    with container.uow() as uow:
        assert service.enter_many(uow, jid, [(c, "e1", {}) for c in ids]) == 160
    service.advance_due(container.uow)
    with container.read_uow() as uow:
        runs = list(uow.session.scalars(select(Run).where(Run.journey_id == jid)))
    # treated B converts, a third of treated A, a tenth of the holdout
    chosen = [
        r.customer_id
        for r in runs
        if (not r.holdout and (r.branches["ab"] == "B" or r.id % 3 == 0))
        or (r.holdout and r.id % 10 == 0)
    ]
    clock.advance(minutes=5)
    with container.uow() as uow:
        for i, c in enumerate(chosen):
            confirmed = OrderConfirmed(
                order=f"W-{i}",
                customer_id=c,
                channel="WEB",
                total="10",
                routing_version=1,
                fulfilments=[],
                lines=[],
            )
            on_event(uow, confirmed, EventMeta(f"o{i}", "s", clock.now()))
    before = container.counter.value
    with container.read_uow() as uow:
        r = service.journey_results(uow, "many")
    # GROUP BY in the database: the same handful of statements for 160 runs as for one
    assert 6 <= container.counter.value - before <= 10

    def group(holdout: bool, name: str | None = None) -> Proportion:
        members = [x for x in runs if x.holdout == holdout and name in (None, x.branches["ab"])]
        return Proportion(sum(1 for x in members if x.customer_id in chosen), len(members))

    treated, holdout = group(False), group(True)
    assert (r.treated.runs, r.treated.converted) == (treated.total, treated.converted)
    assert (r.holdout.runs, r.holdout.converted) == (holdout.total, holdout.converted)
    assert treated.total >= 30 and holdout.total >= 30
    expected = lift(treated, holdout)
    assert expected is not None and r.lift is not None
    assert (r.lift.low, r.lift.high, r.lift.p_value) == (
        expected.low,
        expected.high,
        expected.p_value,
    )
    assert r.lift.significant
    text = lift_sentence(r)
    assert text.startswith(
        f"Converted {treated.rate * 100:.1f} % vs {holdout.rate * 100:.1f} % in the holdout: "
        f"+{(treated.rate - holdout.rate) * 100:.1f} points (95 % CI +"
    )
    assert [(x.currency, x.holdout, x.converted, x.revenue) for x in r.revenue] == [
        (None, False, treated.converted, Decimal(10 * treated.converted).quantize(Decimal("0.01"))),
        (None, True, holdout.converted, Decimal(10 * holdout.converted).quantize(Decimal("0.01"))),
    ]
    split = next(s.split for s in r.steps if s.step_id == "ab")
    assert split is not None
    verdict = split_winner({"A": group(False, "A"), "B": group(False, "B")})
    assert (split.best, split.winner, split.p_value) == ("B", "B", verdict.p_value)
    assert verdict.winner == "B"


def test_a_journey_without_a_holdout_shows_no_holdout_rate(
    container: Container,
    web: TestClient,  # noqa: F811
    seeded: Any,  # noqa: F811
) -> None:
    with container.uow() as uow:
        service.create_message(uow, message("hello"))
        auth.create_principal(
            uow, PrincipalCreate(username="marketer", role=Role.MARKETER, password=PASSWORD)
        )
    jid = publish(container, "plain", definition(holdout=0))
    customer = make_customer(container, "Pat Plain", email="plain@example.com", verified=True)
    with container.uow() as uow:
        service.enter(uow, jid, customer, "e1", {})
    sign_in(web, "marketer")
    page = web.get("/hq/journeys/plain/results")
    assert page.status_code == 200
    rate = re.search(r"Conversion rate</th><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>", page.text)
    assert rate and rate.groups() == ("0.0 %", DASH)
