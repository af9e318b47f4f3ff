import pytest
from sqlalchemy import event

from omniretail.customers import service
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.customers.models import IdentityKind
from omniretail.customers.schemas import IdentityCreate, UndoMerge
from omniretail.customers.service import merges, profile
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import RedemptionCreate
from omniretail.processes.merges import undo_merge_and_settle
from tests.customers.helpers import grant, make_customer, place_order, vault


def add_email(container, customer_id, email, *, verified):
    data = IdentityCreate(kind=IdentityKind.EMAIL, value=email)
    with container.uow() as uow:
        if verified:  # as a login provider's system attestation would
            return service.add_verified_identity(
                uow,
                customer_id,
                data,
                via="login",
                reference="test",
                vault=vault(container),
                actor="system:test",
            )
        return service.add_identity(uow, customer_id, data, vault=vault(container), actor="test")


def view(container, customer_id):
    with container.read_uow() as uow:
        return profile.customer_360(uow, customer_id, vault=vault(container))


def balance(container, customer_id):
    with container.read_uow() as uow:
        return loyalty.account_status(uow, customer_id)


def release(container, clock):
    clock.advance(days=31)
    with container.uow() as uow:
        loyalty.release_matured_points(uow, actor="test")


def test_a_verified_email_on_two_profiles_merges_them_with_orders_and_points(container, clock):
    web = make_customer(container, email="ada@example.com", verified=True)
    store = make_customer(container, "Ada L")
    place_order(container, web, "W1", "100.00")
    place_order(container, store, "S1", "50.00", channel="POS")
    release(container, clock)

    resolution = add_email(container, store, "ADA@example.com ", verified=True)

    assert resolution.outcome == "merged"
    assert resolution.customer_id == web
    assert resolution.rule == "verified email"
    merged = view(container, store)
    assert merged.customer.id == web
    assert merged.customer.resolved_from == store
    assert merged.customer.aliases == [store]
    assert sorted(o.reference for o in merged.last_orders) == ["S1", "W1"]
    assert {s.channel: str(s.spend) for s in merged.spend_by_channel} == {
        "POS": "50.000",
        "WEB": "100.000",
    }
    account = balance(container, store)
    assert (account.customer_id, account.available, account.accounts) == (web, 350, [web, store])


def test_a_claimed_match_goes_to_review_and_merges_nothing(container):
    one = make_customer(container, email="family@example.com", verified=True)
    other = make_customer(container, "Bob")

    resolution = add_email(container, other, "family@example.com", verified=False)

    assert resolution.outcome == "queued"
    assert resolution.matched_customer_ids == [one]
    with container.read_uow() as uow:
        reviews = merges.list_reviews(uow)
        assert [(r.customer_a, r.customer_b, r.rule) for r in reviews] == [
            (one, other, "claimed email")
        ]
        assert service.resolve_id(uow, other) == other


def test_same_name_and_postcode_is_queued_for_review(container):
    address = {"line1": "1 High St", "city": "Leeds", "postcode": "LS1 1AA"}
    first = make_customer(container, "Jo Smith", address=address)
    second = make_customer(container, "jo smith", address={**address, "postcode": "ls11aa"})
    with container.read_uow() as uow:
        reviews = merges.list_reviews(uow)
    assert [(r.customer_a, r.customer_b, r.rule) for r in reviews] == [
        (first, second, "same name and postcode")
    ]


def test_merging_a_pair_by_hand_settles_its_pending_review(container):
    """An HQ merge of two profiles waiting in the review queue (or of their aliases) takes
    them off the queue: the review is settled by that merge, others are left open."""
    address = {"line1": "1 High St", "city": "Leeds", "postcode": "LS1 1AA"}
    first = make_customer(container, "Jo Smith", address=address)
    second = make_customer(container, "jo smith", address=address)
    third = make_customer(container, "Sam Lee", email="sam@example.com", verified=True)
    fourth = make_customer(container, "Sam")
    add_email(container, fourth, "sam@example.com", verified=False)
    with container.read_uow() as uow:
        assert len(merges.list_reviews(uow)) == 2
    with container.uow() as uow:
        made = merges.merge_customers(
            uow, first, second, rule="manual", reason="same person", actor="hq:test"
        )
    with container.read_uow() as uow:
        still_open = merges.list_reviews(uow)
        settled = merges.list_reviews(uow, status="merged")
    assert [(r.customer_a, r.customer_b) for r in still_open] == [(third, fourth)]
    assert [(r.customer_a, r.customer_b, r.merge_id) for r in settled] == [(first, second, made.id)]


def test_undo_restores_each_profile_exactly_even_after_new_activity(container, clock):
    web = make_customer(container, email="ada@example.com", verified=True)
    store = make_customer(container, "Ada L")
    place_order(container, web, "W1", "100.00")
    place_order(container, store, "S1", "50.00", channel="POS")
    release(container, clock)
    grant(container, web, "marketing", "email", True)
    grant(container, store, "marketing", "email", False)
    merge_id = add_email(container, store, "ada@example.com", verified=True).merge_id
    with container.read_uow() as uow:
        consents = service.list_consents(uow, web)
    assert [(c.purpose, c.channel, c.granted) for c in consents] == [("marketing", "email", False)]

    # new activity while merged: an order, and a redemption that spends both profiles' points
    clock.advance(hours=1)
    place_order(container, web, "W2", "20.00")
    with container.uow() as uow:
        loyalty.redeem_points(uow, web, RedemptionCreate(points=150, channel="POS"), actor="t")
    assert balance(container, web).available == 200

    clock.advance(hours=1)
    with container.uow() as uow:
        undone = undo_merge_and_settle(uow, merge_id, UndoMerge(reason="two people"), actor="t")

    assert undone.status == "undone"
    web_view, store_view = view(container, web), view(container, store)
    assert store_view.customer.id == store
    assert web_view.customer.aliases == []
    assert sorted(o.reference for o in web_view.last_orders) == ["W1", "W2"]
    assert [o.reference for o in store_view.last_orders] == ["S1"]
    # the store profile's points spent by the web profile while merged come back to it
    assert balance(container, store).available == 150
    assert balance(container, web).available == 50
    assert balance(container, web).pending == 20
    with container.read_uow() as uow:
        assert [(c.channel, c.granted) for c in service.list_consents(uow, web)] == [
            ("email", True)
        ]
        assert [(c.channel, c.granted) for c in service.list_consents(uow, store)] == [
            ("email", False)
        ]


def test_a_merge_through_the_api_records_who_when_and_why(container, client):
    first = make_customer(container, "A")
    second = make_customer(container, "B")
    r = client.post(
        "/api/v1/customers/merges",
        json={"survivor_id": first, "merged_id": second, "reason": "same person, checked by phone"},
    )
    assert r.status_code == 201, r.text
    merge = r.json()
    assert (merge["survivor_id"], merge["merged_id"], merge["rule"]) == (first, second, "manual")
    assert merge["actor"] == "admin:test-admin"
    assert merge["reason"] == "same person, checked by phone"

    again = client.post(
        "/api/v1/customers/merges",
        json={"survivor_id": first, "merged_id": second, "reason": "again"},
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("/already-merged")

    r = client.post(f"/api/v1/customers/merges/{merge['id']}/undo", json={"reason": "mistake"})
    assert r.status_code == 200, r.text
    assert r.json()["undone_by"] == "admin:test-admin"
    assert client.get(f"/api/v1/customers/{second}").json()["id"] == second


def test_resolve_id_answers_as_require_root_without_loading_the_profile(container):
    """``resolve_id`` (every handler's check that a customer is live): an alias leads to its
    survivor, an unknown or erased id raises as ``require_root`` does, and the one statement
    it sends reads the root's id and status, not the profile's columns."""
    kept = make_customer(container, "Rae Root", email="rae@example.com")
    alias = make_customer(container, "Rae Alias", email="rae.alias@example.com")
    gone = make_customer(container, "Gus Gone", email="gus@example.com")
    with container.uow() as uow:
        merges.merge_customers(uow, kept, alias, rule="manual", reason="same", actor="t")
        service.erase_customer(uow, gone, actor="t")
    sent: list[str] = []

    def remember(_conn, _cursor, sql, *_rest) -> None:
        sent.append(sql)

    with container.read_uow() as uow:
        event.listen(container.read_engine, "before_cursor_execute", remember)
        try:
            assert service.resolve_id(uow, alias) == kept
        finally:
            event.remove(container.read_engine, "before_cursor_execute", remember)
        assert service.resolve_id(uow, kept) == service.require_root(uow, alias).id
        with pytest.raises(UnknownCustomer):
            service.resolve_id(uow, 999_999)
        with pytest.raises(CustomerErased):
            service.resolve_id(uow, gone)
    [read] = [sql for sql in sent if "FROM customers" in sql]
    assert read.split("FROM")[0].count(",") == 1, read  # SELECT id, status FROM ...
