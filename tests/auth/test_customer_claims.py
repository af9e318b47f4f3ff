"""What a signed-in customer's request says about others is not taken on trust: the email an
order's mails go to, the browsing sessions events are filed under, the channel whose stock
is shown. Found by a black-box probe of the demo (2026-12-07)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from omniretail.customers.repository.tables import activity
from omniretail.db.outbox import list_events
from omniretail.orders import contact
from omniretail.orders.models import Order
from tests.auth.test_scopes import refused
from tests.customers.helpers import grant
from tests.orders.network import add, new_cart, ok

API = "/api/v1"


def _checkout(client: Any, token: str, headers: dict[str, str], **extra: Any) -> Any:
    return client.post(
        f"{API}/carts/{token}/checkout",
        headers=headers,
        json={
            "fulfilment": {"method": "pickup_in_store", "pickup_location": "LON1"},
            "payment": {"provider_token": "tok_visa"},
            **extra,
        },
    )


def _mailed_to(container: Any, number: str) -> str | None:
    with container.read_uow() as uow:
        order = uow.session.scalars(select(Order).where(Order.number == number)).one()
        return contact.contact_email(uow.vault, order)


def test_a_customers_order_mails_go_only_to_an_email_they_verified(client, container, who):
    cart = ok(client.post(f"{API}/carts", headers=who["cara"], json={"channel": "WEB"}), 201)
    token = cart["token"]
    ok(
        client.post(
            f"{API}/carts/{token}/lines",
            headers=who["cara"],
            json={"sku": "A1", "quantity": 1, "location": "LON1"},
        )
    )
    for stranger in ("victim@example.org", "vic@example.com"):  # nobody's, and another's
        refused(_checkout(client, token, who["cara"], contact_email=stranger), "email", "verified")
    assert ok(client.get(f"{API}/carts/{token}", headers=who["cara"]))["status"] == "active"
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Order)) == 0

    # Left out, it is their own; named, it is one of theirs.
    first = ok(_checkout(client, token, who["cara"]), 201)
    assert _mailed_to(container, first["number"]) == "cara@example.com"
    again = ok(client.post(f"{API}/carts", headers=who["cara"], json={"channel": "WEB"}), 201)
    ok(
        client.post(
            f"{API}/carts/{again['token']}/lines",
            headers=who["cara"],
            json={"sku": "A1", "quantity": 1, "location": "LON1"},
        )
    )
    second = _checkout(client, again["token"], who["cara"], contact_email="cara@example.com")
    assert _mailed_to(container, ok(second, 201)["number"]) == "cara@example.com"


def test_staff_and_guests_still_name_the_contact_email(client, container, who):
    """An associate or the call centre orders for someone whose email they are told; a guest
    has no verified email to use."""
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))
    placed = ok(_checkout(client, token, who["asha"], contact_email="walk-in@example.org"), 201)
    assert _mailed_to(container, placed["number"]) == "walk-in@example.org"


def test_a_customers_events_name_only_their_own_or_new_browsing_sessions(client, container, who):
    cara, vic = who["ids"]["cara"], who["ids"]["vic"]
    for customer in (cara, vic):
        grant(container, customer, "analytics", "all")
    event = {"type": "add_to_cart", "occurred_at": "2026-11-01T10:00:00Z"}
    linked = client.post(
        f"{API}/events", json={"events": [{**event, "anonymous_id": "vics-phone"}]}
    )
    assert linked.status_code == 202, linked.text
    ok(client.post(f"{API}/customers/{vic}/identify", json={"anonymous_id": "vics-phone"}))
    with container.read_uow() as uow:
        before = uow.session.scalar(select(func.count()).select_from(activity))

    sent = {**event, "anonymous_id": "vics-phone"}  # it would be filed on Vic's timeline
    for padded in ("vics-phone", " vics-phone", "vics-phone\t"):  # the schema strips it
        r = client.post(
            f"{API}/events",
            headers=who["cara"],
            json={"events": [{**sent, "anonymous_id": padded}]},
        )
        refused(r, "browsing sessions")
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(activity)) == before
    assert [a["kind"] for a in ok(client.get(f"{API}/customers/{vic}/timeline"))] == ["add_to_cart"]
    # Naming herself from that device (a shared tablet), the event is hers, not Vic's.
    mine = {**sent, "customer_id": cara}
    r = client.post(f"{API}/events", headers=who["cara"], json={"events": [mine]})
    assert r.status_code == 202, r.text
    assert len(ok(client.get(f"{API}/customers/{vic}/timeline"))) == 1
    assert len(ok(client.get(f"{API}/customers/{cara}/timeline"))) == 1

    # Nor does staff identifying it for Cara move it: it stays linked to Vic.
    identify = {"anonymous_id": "vics-phone"}
    stitched = ok(client.post(f"{API}/customers/{cara}/identify", json=identify))
    assert stitched["events_stitched"] == 0
    with container.read_uow() as uow:
        stitches = list_events(uow.session, type_prefix="omniretail.customers.session_stitched")
    assert [e.data["customer_id"] for e in stitches] == [vic]

    # A session nobody holds yet becomes Cara's, and then it is hers to send.
    for _ in range(2):
        r = client.post(
            f"{API}/events",
            headers=who["cara"],
            json={"events": [{**event, "anonymous_id": "caras-laptop", "customer_id": cara}]},
        )
        assert r.status_code == 202, r.text
    r = client.post(
        f"{API}/events",
        headers=who["cara"],
        json={"events": [{**event, "anonymous_id": "caras-laptop"}]},
    )
    assert r.status_code == 202, r.text
    assert len(ok(client.get(f"{API}/customers/{cara}/timeline"))) == 4


def test_a_customer_queries_stock_only_on_a_self_service_channel(client, who):
    query = {"skus": ["A1"], "channel": "WEB"}
    r = client.post(f"{API}/inventory/availability/query", headers=who["cara"], json=query)
    assert r.status_code == 200, r.text
    for channel in ("POS", "pos "):
        r = client.post(
            f"{API}/inventory/availability/query",
            headers=who["cara"],
            json={**query, "channel": channel},
        )
        refused(r, "web shop or the app")
    staff = client.post(f"{API}/inventory/availability/query", json={**query, "channel": "POS"})
    assert staff.status_code == 200, staff.text


def test_a_customer_without_a_channel_sees_the_web_shops_figures(client, who):
    """The probe: a customer's stock query without a channel answered every location's on
    hand (the warehouse's too) and no channel buffer. It now answers as the web channel, the
    shop's figures: its total less the buffer, and no location's on hand; staff keep the
    full view."""
    web = {"code": "WEB", "name": "Web shop", "kind": "web", "atp_buffer": 1}
    ok(client.put(f"{API}/channels/WEB", json={**web, "location_codes": ["DC1", "LON1"]}))
    query = {"skus": ["A1", "B2"]}
    staff = ok(client.post(f"{API}/inventory/availability/query", json=query))
    assert {r["sku"]: r["available"] for r in staff} == {"A1": 10, "B2": 5}
    assert {loc["location"] for r in staff for loc in r["locations"]} == {"LON1", "MAN1", "DC1"}

    as_cara = {"headers": who["cara"]}
    answers = [
        ok(client.post(f"{API}/inventory/availability/query", json=query, **as_cara)),
        ok(client.get(f"{API}/inventory/availability", params={"sku": ["A1", "B2"]}, **as_cara)),
    ]
    web_shop = ok(
        client.post(f"{API}/inventory/availability/query", json={**query, "channel": "WEB"})
    )
    for mine in answers:
        assert [(r["sku"], r["channel"], r["available"]) for r in mine] == [
            ("A1", "WEB", 4),  # LON1's 5 less the buffer; MAN1 does not sell on the web
            ("B2", "WEB", 4),
        ]
        assert [r["available"] for r in mine] == [r["available"] for r in web_shop]
        assert all(r["locations"] == [] for r in mine)  # no location's on hand
    # a channel they name answers the same way
    named = client.post(
        f"{API}/inventory/availability/query", json={**query, "channel": "WEB"}, **as_cara
    )
    assert ok(named) == answers[0]


def test_a_home_store_is_one_of_the_stores(client, who):
    """A warehouse, a locker or an unknown code is no home store (birthday coupons and
    journeys go by it); the profile keeps what it had."""
    cara = who["ids"]["cara"]
    ok(client.patch(f"{API}/customers/{cara}", headers=who["cara"], json={"home_store": "LON1"}))
    for code in ("DC1", "NOPE", "lon1x"):
        r = client.patch(f"{API}/customers/{cara}", headers=who["cara"], json={"home_store": code})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "not one of our stores" in r.json()["detail"]
    assert ok(client.get(f"{API}/customers/{cara}"))["home_store"] == "LON1"
    made = client.post(f"{API}/customers", json={"name": "Wendy", "home_store": "DC1"})
    assert made.status_code == 422, made.text
    cleared = client.patch(
        f"{API}/customers/{cara}", headers=who["cara"], json={"home_store": None}
    )
    assert ok(cleared)["home_store"] is None


def test_a_profile_change_naming_a_field_it_cannot_change_is_refused(client, who):
    """``points``, ``role`` or ``tier`` in a profile change were ignored without a word."""
    cara = who["ids"]["cara"]
    for extra in ({"role": "admin"}, {"points": 99_999}, {"tier": "Gold"}):
        body = {"name": "Cara Customer", **extra}
        r = client.patch(f"{API}/customers/{cara}", headers=who["cara"], json=body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert next(iter(extra)) in r.text
    assert ok(client.get(f"{API}/customers/{cara}"))["name"] == "Cara Customer"
