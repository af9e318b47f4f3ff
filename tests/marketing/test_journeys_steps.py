"""Journeys: waits in the customer's zone, coupons and points (never for the holdout), a
failing step ending only its run, entry from a relayed event (once), the birthday sweep and
the CLI. Sending is replaced by a recorder (``journeys_ports``). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from typer.testing import CliRunner

from omniretail.catalog.models import Location
from omniretail.commands.main import app as cli
from omniretail.loyalty import service as loyalty
from omniretail.marketing import service
from omniretail.marketing.journeys_definition import JourneyDefinition
from omniretail.marketing.journeys_models import Run, RunStep
from omniretail.marketing.journeys_triggers import Definitions
from omniretail.pricing import service as pricing
from tests.conftest import admin_api_key
from tests.customers.helpers import make_customer
from tests.factories import make_network
from tests.marketing.test_journeys import (  # noqa: F401
    ADMIN,
    definition,
    enter,
    live,
    run_of,
    sent,
)


def test_wait_until_a_time_of_day_in_the_customers_zone(container, clock, sent):  # noqa: F811
    make_network(container)
    with container.uow() as uow:
        uow.session.execute(
            update(Location).where(Location.code == "MAN1").values(timezone="Asia/Tokyo")
        )
    tokyo = make_customer(container, "T", home_store="MAN1")
    london = make_customer(container, "L", home_store="LON1")
    d = definition(
        steps=[
            {"kind": "wait", "id": "w", "until": "09:00"},
            {"kind": "send", "id": "s", "message": "m"},
        ]
    )
    jid = live(container, "morning", d)
    # 09:00 UTC on 2 Nov: 18:00 in Tokyo, 09:00 in London.
    runs = [enter(container, jid, c) for c in (tokyo, london)]
    assert service.advance_due(container.uow) == 2
    assert run_of(container, runs[0]).due_at == datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
    assert run_of(container, runs[1]).due_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert service.advance_due(container.uow) == 1  # London's is due now
    assert [s["customer_id"] for s in sent.sends] == [london]


def test_coupon_and_points_never_for_the_holdout(container, client, clock, sent):  # noqa: F811
    key = {"X-API-Key": admin_api_key(container)}
    promotion = {
        "name": "Ten off",
        "effect": {"type": "percent_off", "percent": "10"},
        "requires_coupon": True,
    }
    assert client.put("/api/v1/pricing/promotions/TEN", json=promotion, headers=key).is_success
    d = definition(
        steps=[
            {"kind": "coupon", "id": "c", "promotion": "TEN", "valid_days": 10},
            {"kind": "points", "id": "p", "points": 50, "reason": "journey gift"},
            {"kind": "send", "id": "s", "message": "m"},
        ],
        holdout_percent=50,
    )
    jid = live(container, "gift", d)
    ids = [make_customer(container, f"C {i}") for i in range(8)]
    for cid in ids:
        with container.uow() as uow:
            loyalty.enrol(uow, cid, actor="t")
        enter(container, jid, cid)
    assert service.advance_due(container.uow) == 8
    with container.read_uow() as uow:
        runs = list(uow.session.scalars(select(Run).order_by(Run.id)))
        held = [r for r in runs if r.holdout]
        assert held and len(held) < len(runs)  # the stable hash splits these ids
        for run in runs:
            points = loyalty.account_status(uow, run.customer_id).available
            steps = dict(
                uow.session.execute(
                    select(RunStep.step_id, RunStep.outcome).where(RunStep.run_id == run.id)
                ).all()
            )
            if run.holdout:
                assert "coupon_code" not in run.context
                assert steps == {"c": "holdout", "p": "holdout", "s": "queued"}
            else:
                coupon = pricing.get_coupon(uow, run.context["coupon_code"])
                assert (coupon.promotion, coupon.customer_id) == ("TEN", run.customer_id)
                assert steps == {"c": "coupon", "p": "points", "s": "queued"}
            welcome = loyalty.rules(uow).welcome_points
            assert points == welcome + (0 if run.holdout else 50)
    by_customer = {s["customer_id"]: s for s in sent.sends}
    assert all(by_customer[r.customer_id]["holdout"] == r.holdout for r in runs)
    assert all(
        by_customer[r.customer_id]["context"].get("coupon_code") == r.context.get("coupon_code")
        for r in runs
    )


def test_a_failing_step_ends_its_run_only(container, clock, sent):  # noqa: F811
    d = definition(
        steps=[
            {"kind": "condition", "id": "k", "rule": 'country == "UK"', "otherwise": "c"},
            {"kind": "send", "id": "s", "message": "m", "next": "end"},
            {"kind": "coupon", "id": "c", "promotion": "NOPE"},
            {"kind": "exit", "id": "end"},
        ]
    )
    jid = live(container, "fails", d)
    uk = make_customer(container, "U", country="UK")
    other = make_customer(container, "O", country="FR")
    a, b = enter(container, jid, uk), enter(container, jid, other)
    assert service.advance_due(container.uow) == 2
    assert (run_of(container, a).state, run_of(container, a).exit_reason) == ("exited", "exit step")
    assert run_of(container, b).exit_reason == "failed:c"
    assert [s["customer_id"] for s in sent.sends] == [uk]


def test_a_relayed_event_enters_once(container, clock, sent):  # noqa: F811
    jid = live(
        container, "welcome", definition(steps=[{"kind": "send", "id": "s", "message": "m"}])
    )
    customer = make_customer(container, "New Comer")
    clock.advance(seconds=1)
    container.relay().run_until_idle()
    container.relay().run_until_idle()
    with container.read_uow() as uow:
        runs = list(uow.session.scalars(select(Run).where(Run.journey_id == jid)))
    assert [r.customer_id for r in runs] == [customer]
    assert runs[0].context["customer_id"] == customer and len(runs[0].occurrence) > 8


def test_birthday_sweep_in_the_customers_zone(container, clock, sent):  # noqa: F811
    make_network(container)
    soon = make_customer(container, "B", birth_date="1990-11-03", home_store="LON1")
    make_customer(container, "N", birth_date="1990-11-05", home_store="LON1")
    d = definition(
        trigger={"kind": "date", "days_before": 1, "at": "10:00"},
        steps=[{"kind": "send", "id": "s", "message": "m"}],
    )
    jid = live(container, "bday", d)
    with container.uow() as uow:
        assert service.journeys_sweep(uow) == 0  # 09:00 in London: not yet 10:00
    clock.advance(hours=1)
    with container.uow() as uow:
        assert service.journeys_sweep(uow) == 1
        assert service.journeys_sweep(uow) == 0
    with container.read_uow() as uow:
        run = uow.session.scalar(select(Run).where(Run.journey_id == jid))
    assert (run.customer_id, run.occurrence) == (soon, "2026")


def test_a_sweep_loop_parses_a_live_version_once_and_a_new_one_after_a_publish(
    container,
    clock,
    monkeypatch,
    sent,  # noqa: F811
):
    make_network(container)
    make_customer(container, "B", birth_date="1990-11-03", home_store="LON1")
    trigger = {"kind": "date", "days_before": 1, "at": "10:00"}
    d = definition(trigger=trigger, steps=[{"kind": "send", "id": "s", "message": "m"}])
    jid = live(container, "bday", d)
    at_eight = definition(
        trigger={**trigger, "at": "08:00"}, steps=[{"kind": "send", "id": "s", "message": "m"}]
    )
    parsed: list[dict] = []
    validate = JourneyDefinition.model_validate
    monkeypatch.setattr(
        JourneyDefinition,
        "model_validate",
        lambda data, **kw: parsed.append(data) or validate(data, **kw),
    )
    definitions = Definitions()
    with container.uow() as uow:
        assert service.journeys_sweep(uow, definitions=definitions) == 0  # 09:00 in London
        assert service.journeys_sweep(uow, definitions=definitions) == 0
    assert len(parsed) == 1

    with container.uow() as uow:
        service.save_draft(uow, "bday", at_eight, actor=ADMIN)
        service.publish(uow, "bday", actor=ADMIN)
        parsed.clear()
        assert service.journeys_sweep(uow, definitions=definitions) == 1  # the new version's 08:00
        assert service.journeys_sweep(uow, definitions=definitions) == 0
    assert len(parsed) == 1
    with container.read_uow() as uow:
        run = uow.session.scalar(select(Run).where(Run.journey_id == jid))
    assert run.version == 2


def test_cli_lists_and_runs_once(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIRETAIL_DATA_DIR", str(tmp_path))
    db = ["--db", f"sqlite:///{tmp_path / 'journeys.db'}"]
    result = CliRunner().invoke(cli, ["marketing", "journeys", "run", "--once", *db])
    assert result.exit_code == 0, result.output
    assert "advanced 0" in result.output
    result = CliRunner().invoke(cli, ["marketing", "journeys", "list", *db])
    assert result.exit_code == 0, result.output


def test_segment_entry_enters_and_an_order_converts_ended_runs(container, clock, sent):  # noqa: F811
    from omniretail.marketing.events import SegmentEntered
    from omniretail.marketing.journeys_triggers import on_event
    from omniretail.messaging.handlers import EventMeta
    from omniretail.orders.events import OrderConfirmed

    d = definition(
        trigger={"kind": "segment_entered", "segment_id": 7},
        steps=[{"kind": "send", "id": "s", "message": "m"}],
    )
    jid = live(container, "seg", d)
    c = make_customer(container, "S")
    with container.uow() as uow:
        assert (
            on_event(
                uow, SegmentEntered(segment_id=8, customer_id=c), EventMeta("e0", "s", clock.now())
            )
            == 0
        )
        assert (
            on_event(
                uow, SegmentEntered(segment_id=7, customer_id=c), EventMeta("e1", "s", clock.now())
            )
            == 1
        )
    # the first step (a send) ran in the trigger's transaction: nothing left for the loop
    assert service.advance_due(container.uow) == 0
    clock.advance(days=8)  # past the default 7-day goal window
    order = OrderConfirmed(
        order="T-9",
        customer_id=c,
        channel="POS",
        total="12.5",
        routing_version=1,
        fulfilments=[],
        lines=[],
    )
    with container.uow() as uow:
        on_event(uow, order, EventMeta("e2", "s", clock.now()))
    with container.read_uow() as uow:
        run = uow.session.scalar(select(Run).where(Run.journey_id == jid))
    assert (run.state, run.converted_at) == ("completed", None)
    clock.advance(days=-2)
    with container.uow() as uow:
        on_event(uow, order, EventMeta("e3", "s", clock.now()))
    with container.read_uow() as uow:
        run = uow.session.scalar(select(Run).where(Run.journey_id == jid))
    assert (run.conversion_ref, str(run.revenue), run.occurrence) == ("T-9", "12.50", "e1")
