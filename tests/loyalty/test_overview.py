"""The HQ overview of the programme (``loyalty.service.programme_overview``): members by
tier, the points outstanding and their value, points expiring within 30 days, points earned
and redeemed within the last 30 days. The figures must reconcile with the members' own
balances and with what was earned and redeemed. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from omniretail.loyalty import service
from omniretail.loyalty.models import Entry, EntryKind
from omniretail.loyalty.repository.overview import movements
from omniretail.loyalty.schemas import ProgrammeRules, RedemptionCreate
from tests.customers.helpers import make_customer, place_order
from tests.plans import plan_of


def overview(container):
    with container.read_uow() as uow:
        return service.programme_overview(uow)


def balances(container, ids):
    with container.read_uow() as uow:
        return [service.account_status(uow, i) for i in ids]


def three_members(container):
    ada = make_customer(container, "Ada A")
    bo = make_customer(container, "Bo B")
    cy = make_customer(container, "Cy C")
    place_order(container, ada, "O1", "120.00")
    place_order(container, bo, "O2", "2500.00")  # past Gold's spend threshold
    with container.uow() as uow:
        service.enrol(uow, cy, actor="test")
    return [ada, bo, cy]


def test_the_overview_adds_up_to_the_members_balances_and_what_was_earned(container):
    ids = three_members(container)
    with container.uow() as uow:
        service.redeem_points(uow, ids[0], RedemptionCreate(points=70, channel="WEB"), actor="t")
    seen = overview(container)
    statuses = balances(container, ids)

    assert seen.members == len(ids)
    by_tier = {t.tier: t.members for t in seen.tiers}
    assert sum(by_tier.values()) == len(ids)
    assert by_tier == {
        name: sum(1 for s in statuses if s.tier.tier == name)
        for name in ("Bronze", "Silver", "Gold")
    }
    assert by_tier["Gold"] == 1  # the 2,500.00 order
    assert seen.available == sum(s.available for s in statuses)
    assert seen.pending == sum(s.pending for s in statuses) > 0
    assert seen.outstanding == seen.available + seen.pending
    assert seen.redeemed == 70
    assert seen.outstanding == seen.earned - seen.redeemed
    assert seen.outstanding_value == (seen.outstanding * seen.point_value).quantize(Decimal("0.01"))
    assert seen.expiring == 0  # lots last 730 days


def test_a_reversed_redemption_is_not_counted_as_redeemed(container):
    ids = three_members(container)
    with container.uow() as uow:
        spent = service.redeem_points(
            uow, ids[2], RedemptionCreate(points=40, channel="WEB"), actor="t"
        )
    assert overview(container).redeemed == 40
    with container.uow() as uow:
        service.reverse_redemption(uow, spent.id, actor="t")
    seen = overview(container)
    assert seen.redeemed == 0
    assert seen.outstanding == seen.earned


def test_points_expiring_within_30_days_and_the_window_moving_on(container, clock):
    """With lots lasting 20 days the welcome points expire within 30 days; purchase points
    are pending for the 30-day return window first, so theirs expire on day 50."""
    with container.uow() as uow:
        service.save_programme(uow, ProgrammeRules(expiry_days=20), actor="t")
    three_members(container)
    seen = overview(container)
    assert seen.expiring == seen.available > 0
    assert seen.pending > 0
    assert seen.expiring_by - seen.as_of == seen.as_of - seen.since

    clock.advance(days=31)
    later = overview(container)
    assert (later.earned, later.redeemed) == (0, 0)  # all of it is older than 30 days
    assert later.outstanding == seen.outstanding  # nothing swept by a job yet
    assert later.expiring == later.outstanding  # overdue welcome lots and the day-50 ones
    with container.uow() as uow:
        service.expire_points(uow, actor="t")
    swept = overview(container)
    assert swept.available == 0
    assert swept.expiring == swept.outstanding == seen.pending


def test_the_api_gives_staff_the_overview_and_customers_a_problem(container, client):
    from omniretail.auth import service as auth
    from omniretail.auth.models import Role
    from omniretail.auth.schemas import PrincipalCreate
    from tests.auth.test_role_matrix import PASSWORD, sign_in

    ids = three_members(container)
    cara = make_customer(container, "Cara C", email="cara@example.com", verified=True)
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=cara, password=PASSWORD)
        )
        auth.create_principal(
            uow, PrincipalCreate(username="moira", role=Role.MARKETER, password=PASSWORD)
        )
    got = client.get("/api/v1/loyalty/overview", headers=sign_in(client, "moira"))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["members"] == len(ids)
    assert body["outstanding"] == overview(container).outstanding > 0
    assert Decimal(body["outstanding_value"]) == overview(container).outstanding_value

    refused = client.get("/api/v1/loyalty/overview", headers=sign_in(client, "cara@example.com"))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (
        client.get(
            f"/api/v1/loyalty/customers/{cara}", headers=sign_in(client, "cara@example.com")
        ).status_code
        == 200
    )  # while their own account stays theirs to read


def _ledger_of_every_kind(container, clock, customer_id: int) -> None:
    """Entries of each kind at times around the 30-day window's start, straight into the
    ledger (the overview only sums it)."""
    now = clock.now()
    ages = [timedelta(days=45), timedelta(days=30), timedelta(days=30, seconds=-1)]
    ages += [timedelta(days=3), timedelta(0)]
    with container.uow() as uow:
        for n, (kind, age) in enumerate((k, a) for k in EntryKind for a in ages):
            at = now - age
            uow.session.add(
                Entry(
                    customer_id=customer_id,
                    kind=kind.value,
                    points=(-1 if kind in (EntryKind.REDEEM, EntryKind.EXPIRE) else 1) * (n + 7),
                    pending_delta=n % 4,
                    source_key=f"seeded:{n}",
                    actor="t",
                    created_at=at,
                    effective_at=at,
                )
            )


def test_the_last_30_days_are_the_whole_ledgers_figures(container, clock):
    """What a read of every entry makes of the window is what the overview reports."""
    ids = three_members(container)
    _ledger_of_every_kind(container, clock, ids[0])
    seen = overview(container)
    with container.read_uow() as uow:
        ledger = uow.session.scalars(select(Entry)).all()
    recent = [e for e in ledger if e.effective_at > seen.since]
    earning, redeeming = {EntryKind.EARN, EntryKind.REWARD}, {EntryKind.REDEEM, EntryKind.REVERSE}
    earned = sum(e.points + e.pending_delta for e in recent if e.kind in earning)
    redeemed = -sum(e.points for e in recent if e.kind in redeeming)
    assert (seen.earned, seen.redeemed) == (earned, redeemed)
    assert len(recent) < len(ledger) and redeemed != 0


def test_the_recent_sums_read_a_range_of_the_ledgers_kind_and_date_index(container, backend):
    """Not the whole ledger. PostgreSQL's choice follows its statistics (on a large ledger it
    takes the index: docs/performance.md), so there the index must be the plan once scanning
    the table is ruled out; SQLite's planner takes it as it is."""
    ids = three_members(container)

    def read(uow: Any) -> None:
        movements(uow.session, expiring_by=uow.now, since=uow.now - timedelta(days=30))

    plan = plan_of(container, backend, "loyalty_entries", read)
    assert ids
    on_ledger = [step.strip() for step in plan if "loyalty_entries" in step]
    index = "ix_loyalty_entries_kind_effective"
    assert len([step for step in on_ledger if index in step]) == 2, plan
    assert not [step for step in on_ledger if "Seq Scan" in step or "SCAN loyalty" in step], plan
    # the points expiring soon: open lots by status and date, not every lot ever earned
    on_lots = [step.strip() for step in plan if "loyalty_lots" in step]
    assert [step for step in on_lots if "ix_loyalty_lots_status_expires" in step], plan
    assert not [step for step in on_lots if "Seq Scan" in step or "SCAN loyalty" in step], plan
