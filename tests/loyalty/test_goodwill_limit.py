"""Goodwill credits by hand are limited per person and UTC day (a stolen agent account
minting points for an accomplice, found by a black-box probe): counted by a conditional
upsert, so parallel credits cannot pass the limit either; debits and the journeys' own
points steps are not counted."""

from __future__ import annotations

import pytest

from omniretail.loyalty import service
from omniretail.loyalty.errors import GoodwillLimitReached
from omniretail.loyalty.schemas import AdjustmentCreate
from tests.concurrency.test_no_oversell import parallel
from tests.customers.helpers import make_customer

API = "/api/v1"


def _credit(client, customer_id: int, points: int, headers=None):
    return client.post(
        f"{API}/loyalty/customers/{customer_id}/adjustments",
        json={"points": points, "reason": "goodwill for a late parcel"},
        headers=headers or {},
    )


def _available(client, customer_id: int) -> int:
    return int(client.get(f"{API}/loyalty/customers/{customer_id}").json()["available"])


def test_a_persons_goodwill_credits_stop_at_the_daily_limit(container, client, clock):
    container.settings.loyalty_goodwill_points_per_day = 5000
    ann, ben = make_customer(container, "Ann"), make_customer(container, "Ben")
    assert _credit(client, ann, 3000).status_code == 200
    assert _credit(client, ben, 2000).status_code == 200  # all customers together
    before = _available(client, ann)
    over = _credit(client, ann, 1)
    assert over.status_code == 409, over.text
    assert over.headers["content-type"].startswith("application/problem+json")
    assert over.json()["type"].endswith("/goodwill-limit-reached")
    assert "limit of 5000" in over.json()["detail"]
    assert _available(client, ann) == before  # nothing written
    # A correction (a debit) is not goodwill.
    assert _credit(client, ann, -100).status_code == 200
    # The next UTC day starts again.
    clock.advance(days=1)
    assert _credit(client, ann, 5000).status_code == 200
    assert _credit(client, ann, 1).status_code == 409


def test_one_credit_over_the_limit_is_refused_whole(container, client):
    container.settings.loyalty_goodwill_points_per_day = 500
    ann = make_customer(container, "Ann")
    assert _credit(client, ann, 501).status_code == 409
    assert _credit(client, ann, 500).status_code == 200


def test_the_journeys_points_steps_are_not_counted(container):
    ann = make_customer(container, "Ann")
    with container.uow() as uow:
        big = AdjustmentCreate(points=9000, reason="journey: anniversary")
        service.adjust_points(uow, ann, big, actor="system:journeys")  # no daily limit
        with pytest.raises(GoodwillLimitReached):
            service.adjust_points(uow, ann, big, actor="agent:sam", daily_limit=5000)


@pytest.mark.parametrize("backend", ["postgres"])
def test_parallel_credits_never_pass_the_limit(container):
    """Twelve credits of 1,000 at once by one agent against a limit of 5,000: five land."""
    customers = [make_customer(container, f"C{i}") for i in range(12)]

    def credit(i: int) -> bool:
        try:
            with container.uow() as uow:
                service.adjust_points(
                    uow,
                    customers[i],
                    AdjustmentCreate(points=1000, reason="goodwill"),
                    actor="agent:sam",
                    daily_limit=5000,
                )
            return True
        except GoodwillLimitReached:
            return False

    landed = parallel(12, credit)
    assert landed.count(True) == 5
    with container.read_uow() as uow:
        balances = [service.account_status(uow, c).available for c in customers]
    assert sum(b >= 1000 for b in balances) == 5  # welcome points aside


def test_actions_awarded_by_hand_count_against_the_same_limit(container, client):
    """A referral with a new reference each time was another way to mint points."""
    container.settings.loyalty_goodwill_points_per_day = 500  # a referral is 200
    ann = make_customer(container, "Ann")
    url = f"{API}/loyalty/customers/{ann}/actions"
    answers = [
        client.post(url, json={"action": "referral", "reference": f"friend-{i}"}) for i in range(3)
    ]
    assert [r.status_code for r in answers] == [200, 200, 409]
    assert answers[2].json()["type"].endswith("/goodwill-limit-reached")
    # A repeat of an award already made adds nothing, so it counts nothing either.
    again = client.post(url, json={"action": "referral", "reference": "friend-0"})
    assert again.status_code == 200, again.text
    assert _credit(client, ann, 100).status_code == 200
    assert _credit(client, ann, 1).status_code == 409
