"""Goodwill credits by hand are limited per person and UTC day (a stolen agent account
minting points for an accomplice, found by a black-box probe) and per receiving customer
from all staff together (colluding agents piling points on one accomplice, a later probe):
counted by conditional upserts, so parallel credits cannot pass a limit either; debits and
the journeys' own points steps are not counted. A person is whoever is behind the
credential: a sign-in's own principal, or the person who created an API key."""

from __future__ import annotations

import pytest

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.loyalty import service
from omniretail.loyalty.errors import CustomerGoodwillLimitReached, GoodwillLimitReached
from omniretail.loyalty.schemas import AdjustmentCreate
from tests.auth.test_role_matrix import PASSWORD, sign_in
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
    container.settings.loyalty_goodwill_points_per_customer_per_day = 100_000
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
    container.settings.loyalty_goodwill_points_per_customer_per_day = 100_000
    ann = make_customer(container, "Ann")
    assert _credit(client, ann, 501).status_code == 409
    assert _credit(client, ann, 500).status_code == 200


def test_the_journeys_points_steps_are_not_counted(container):
    ann = make_customer(container, "Ann")
    with container.uow() as uow:
        big = AdjustmentCreate(points=9000, reason="journey: anniversary")
        service.adjust_points(uow, ann, big, actor="system:journeys")  # no daily limit
        with pytest.raises(GoodwillLimitReached):
            sam = service.Goodwill("agent:sam", per_person=5000, per_customer=100_000)
            service.adjust_points(uow, ann, big, actor="agent:sam", goodwill=sam)


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
                    goodwill=service.Goodwill("agent:sam", per_person=5000, per_customer=5000),
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


def _staff(container, client, name, role=Role.SERVICE_AGENT):
    with container.uow() as uow:
        auth.create_principal(uow, PrincipalCreate(username=name, role=role, password=PASSWORD))
    return sign_in(client, name)


def test_an_api_key_counts_against_the_person_who_created_it(container, client):
    """The probe: an admin's sign-in and a key the admin made (for a system principal of
    their own) each had a day's allowance. The key's credits are now the admin's."""
    container.settings.loyalty_goodwill_points_per_day = 1000
    ann, ben = make_customer(container, "Ann"), make_customer(container, "Ben")
    alice = _staff(container, client, "alice", Role.ADMIN)
    robot = client.post(
        f"{API}/auth/principals", json={"username": "robot", "role": "admin", "kind": "system"}
    )
    assert robot.status_code == 201, robot.text
    made = client.post(
        f"{API}/auth/principals/{robot.json()['id']}/api-keys", json={"label": "m"}, headers=alice
    )
    assert made.status_code == 201, made.text
    key = {"X-API-Key": made.json()["key"]}
    # a key made with that key is still alice's
    again = client.post(
        f"{API}/auth/principals/{robot.json()['id']}/api-keys", json={"label": "n"}, headers=key
    )
    second = {"X-API-Key": again.json()["key"]}

    assert _credit(client, ann, 600, alice).status_code == 200
    over = _credit(client, ben, 600, key)
    assert over.status_code == 409, over.text
    assert over.json()["type"].endswith("/goodwill-limit-reached")
    assert "admin:alice" in over.json()["detail"]
    assert _credit(client, ben, 400, second).status_code == 200
    assert _credit(client, ben, 1, key).status_code == 409
    # the ledger names the key's own principal, as before
    ledger = client.get(f"{API}/loyalty/customers/{ben}/ledger").json()
    assert {e["actor"] for e in ledger if e["kind"] == "adjust"} == {"admin:robot"}
    # a key made at the shell (no creator) counts against its own principal
    assert _credit(client, ben, 1000).status_code == 200


def test_a_customer_receives_at_most_the_daily_limit_from_all_staff(container, client, clock):
    """Two agents (each under their own limit) cannot pile more than the customer's day on
    one accomplice, whichever of their profiles they name."""
    container.settings.loyalty_goodwill_points_per_day = 3000
    container.settings.loyalty_goodwill_points_per_customer_per_day = 3000
    ann, ben = make_customer(container, "Ann"), make_customer(container, "Ann Again")
    merged = client.post(
        f"{API}/customers/merges",
        json={"survivor_id": ann, "merged_id": ben, "reason": "the same person"},
    )
    assert merged.status_code == 201, merged.text
    carl = make_customer(container, "Carl")
    sam, sue = _staff(container, client, "sam"), _staff(container, client, "sue")
    desk = f"{API}/support/desk/customers"

    assert _credit(client, ann, 2900, sam).status_code == 200
    before = _available(client, ann)
    refused = [
        _credit(client, ben, 101, sue),  # the merged profile is the same person
        client.post(
            f"{desk}/{ann}/goodwill-points",
            json={"points": 101, "reason": "late parcel"},
            headers=sue,
        ),
        client.post(
            f"{API}/loyalty/customers/{ann}/actions",
            json={"action": "referral", "reference": "friend-1"},  # 200 points
            headers=sue,
        ),
    ]
    for r in refused:
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/customer-goodwill-limit-reached")
        assert "limit of 3000" in r.json()["detail"]
    assert _available(client, ann) == before  # nothing written
    # the refusals spent none of sue's own day
    assert _credit(client, carl, 3000, sue).status_code == 200
    assert _credit(client, ann, 1, sue).json()["type"].endswith("/goodwill-limit-reached")
    assert _credit(client, ann, 100, sam).status_code == 200  # the customer's 3000
    assert _credit(client, ann, 1, sam).status_code == 409
    clock.advance(days=1)
    assert _credit(client, ann, 3000, sign_in(client, "sue")).status_code == 200


@pytest.mark.parametrize("backend", ["postgres"])
def test_parallel_credits_by_many_people_never_pass_the_customers_limit(container):
    """Twelve agents credit 1,000 each to one customer at once, against a customer's limit
    of 5,000: exactly five land."""
    ann = make_customer(container, "Ann")
    with container.uow() as uow:
        start = service.enrol(uow, ann, actor="test").available  # the welcome points

    def credit(i: int) -> bool:
        goodwill = service.Goodwill(f"service_agent:agent-{i}", per_person=5000, per_customer=5000)
        try:
            with container.uow() as uow:
                service.adjust_points(
                    uow,
                    ann,
                    AdjustmentCreate(points=1000, reason="goodwill"),
                    actor=f"service_agent:agent-{i}",
                    goodwill=goodwill,
                )
            return True
        except CustomerGoodwillLimitReached:
            return False

    landed = parallel(12, credit)
    assert landed.count(True) == 5
    with container.read_uow() as uow:
        assert service.account_status(uow, ann).available - start == 5000
