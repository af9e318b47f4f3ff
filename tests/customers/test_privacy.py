"""Consent gates, export and erasure (with a scan of every table), PII at rest."""

import json

from sqlalchemy import inspect, text

from omniretail.customers import service
from omniretail.customers.schemas import EventBatch, MarketingMessage
from omniretail.customers.service import activity
from omniretail.db.encrypted import ENCRYPTED_COLUMNS
from omniretail.db.outbox import list_events
from tests.customers.helpers import grant, make_customer, place_order, vault

NAME, EMAIL, PHONE = "Zebedee Quixotic", "zebedee.q@example.org", "07700 900123"
ADDRESS = {"line1": "42 Quince Lane", "city": "Wyvernshire", "postcode": "WY9 9ZZ"}


def make_person(container):
    from omniretail.customers.models import IdentityKind
    from omniretail.customers.schemas import IdentityCreate

    customer_id = make_customer(
        container, NAME, email=EMAIL, verified=True, address=ADDRESS, birth_date="1990-05-17"
    )
    with container.uow() as uow:
        service.add_identity(
            uow,
            customer_id,
            IdentityCreate(kind=IdentityKind.PHONE, value=PHONE),
            vault=vault(container),
            actor="t",
        )
    return customer_id


def scan(container, needles):
    """Every text-like value of every table: plaintext, blind indexes, or our ciphertext that
    decrypts to one of the needles."""
    v = vault(container)
    found = []
    indexes = {v.blind_index("email", EMAIL), v.blind_index("phone", PHONE)}
    with container.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    blob = str(value)
                    if any(n.lower() in blob.lower() for n in needles) or any(
                        i in blob for i in indexes
                    ):
                        found.append((table, blob[:80]))
                    for token in blob.replace('"', " ").replace("'", " ").split():
                        if token.startswith(("v1:", "v2:")):
                            for field in {c.field for c in ENCRYPTED_COLUMNS}:
                                plain = v.try_decrypt(field, token)
                                if plain and any(n.lower() in plain.lower() for n in needles):
                                    found.append((table, field))
    return found


def test_personal_data_is_encrypted_at_rest_and_found_by_blind_index(container, client):
    customer_id = make_person(container)
    with container.engine.connect() as conn:
        dump = " ".join(
            str(v)
            for t in inspect(conn).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{t}"'))
            for v in row
        )
    for plain in (NAME, EMAIL, "Quince Lane", "900123"):
        assert plain not in dump
    r = client.post(
        "/api/v1/customers/lookup", json={"kind": "email", "value": " Zebedee.Q@Example.org"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["name"]) == (customer_id, NAME)


def test_no_marketing_email_without_consent(container, client):
    customer_id = make_person(container)
    with container.uow() as uow:
        result = activity.send_marketing_message(
            uow, customer_id, MarketingMessage(channel="email", template="spring"), actor="t"
        )
    assert (result.sent, result.reason) == (False, "no marketing consent for email")
    with container.read_uow() as uow:
        assert [
            e for e in list_events(uow.session, type_prefix="omniretail.customers.message")
        ] == []
        assert [a.kind for a in activity.timeline(uow, customer_id)] == []
        assert service.consenting(uow, [customer_id], "marketing", "email") == set()
    r = client.post(
        f"/api/v1/customers/{customer_id}/messages", json={"channel": "email", "template": "x"}
    )
    assert r.json()["sent"] is False

    grant(container, customer_id, "marketing", "email")
    grant(container, customer_id, "marketing", "sms", False)
    r = client.post(
        f"/api/v1/customers/{customer_id}/messages", json={"channel": "email", "template": "x"}
    )
    assert r.json() == {"customer_id": customer_id, "sent": True, "reason": None}
    r = client.post(
        f"/api/v1/customers/{customer_id}/messages", json={"channel": "sms", "template": "x"}
    )
    assert r.json()["sent"] is False
    history = client.get(f"/api/v1/customers/{customer_id}/consents/history").json()
    assert [(h["channel"], h["granted"], h["actor"]) for h in history] == [
        ("sms", False, "test"),
        ("email", True, "test"),
    ]


def test_behaviour_is_only_linked_with_analytics_consent(container):
    customer_id = make_person(container)
    batch = EventBatch.model_validate(
        {
            "events": [
                {
                    "type": "page_view",
                    "occurred_at": "2026-11-01T10:00:00Z",
                    "customer_id": customer_id,
                }
            ]
        }
    )
    with container.uow() as uow:
        result = activity.ingest_events(uow, batch, actor="t")
    assert (result.accepted, result.identified, result.unlinked_without_consent) == (1, 0, 1)
    with container.read_uow() as uow:
        assert activity.timeline(uow, customer_id) == []


def checkout_as_the_person(container, client, clock, customer_id, idempotency_key="erase-1"):
    """A live order through the API, with the person's email and home address on it, its
    events delivered (timeline, points, the confirmation email)."""
    from tests.orders.network import add, make_orders_network, new_cart, ok, receive

    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    token = new_cart(client, customer_id=customer_id)
    ok(add(client, token, "A1", 2))
    order = client.post(
        f"/api/v1/carts/{token}/checkout",
        headers={"Idempotency-Key": idempotency_key} if idempotency_key else {},
        json={
            "fulfilment": {
                "method": "ship_to_home",
                "latitude": 51.545,
                "longitude": -0.150,
                "address": {"name": NAME, **ADDRESS},
            },
            "payment": {"provider_token": "tok_visa"},
            "contact_email": EMAIL,
        },
    )
    assert order.status_code == 201, order.text
    for _ in range(2):  # the order's handlers, then the email they queued
        clock.advance(seconds=1)
        container.relay().run_until_idle()
    return order.json()["number"]


def test_export_then_erase_leaves_nothing_personal_in_any_table(container, client, clock):
    customer_id = make_person(container)
    grant(container, customer_id, "analytics", "all")
    grant(container, customer_id, "marketing", "email")
    place_order(container, customer_id, "ERASE-1", "80.00")
    number = checkout_as_the_person(container, client, clock, customer_id)
    client.post(
        "/api/v1/events",
        json={
            "events": [
                {
                    "type": "product_view",
                    "occurred_at": "2026-11-01T10:00:00Z",
                    "anonymous_id": "anon-zq",
                    "data": {"sku": "10001"},
                },
            ]
        },
    )
    client.post(f"/api/v1/customers/{customer_id}/identify", json={"anonymous_id": "anon-zq"})
    client.post(
        f"/api/v1/customers/{customer_id}/contacts",
        json={"channel": "phone", "topic": "where is my parcel"},
    )
    assert scan(container, [NAME, EMAIL, "Quince Lane", "900123"]) != []

    export = client.get(f"/api/v1/customers/{customer_id}/export")
    assert export.status_code == 200, export.text
    document = export.json()
    assert document["customer"]["profile"]["name"] == NAME
    assert sorted(i["value"] for i in document["customer"]["identities"]) == [PHONE, EMAIL]
    assert {t["kind"] for t in document["customer"]["timeline"]} == {
        "order",
        "product_view",
        "support_contact",
    }
    assert document["customer"]["anonymous_ids"] == ["anon-zq"]
    assert document["loyalty"]["account"]["pending"] == 80 + 40
    assert [(o["number"], o["contact_email"]) for o in document["orders"]] == [(number, EMAIL)]

    erased = client.post(f"/api/v1/customers/{customer_id}/erase")
    assert erased.status_code == 200, erased.text

    assert (
        scan(container, [NAME, EMAIL, "Quince Lane", "900123", "anon-zq", "where is my parcel"])
        == []
    )
    with container.read_uow() as uow:
        rows = uow.session.execute(
            text("SELECT kind, amount FROM customer_activity ORDER BY amount")
        ).all()
        assert [(k, float(a)) for k, a in rows] == [("order", 40.0), ("order", 80.0)]
        # The order stays for the accounts, without who and where.
        order = uow.session.execute(
            text(
                "SELECT total, contact_email_enc, delivery_enc, payment_token_enc, delivery"
                " FROM orders"
            )
        ).one()
        assert (
            float(order.total),
            order.contact_email_enc,
            order.delivery_enc,
            order.payment_token_enc,
        ) == (40.0, None, None, None)
        delivery = (
            order.delivery if isinstance(order.delivery, dict) else json.loads(order.delivery)
        )
        assert delivery == {"method": "ship_to_home", "pickup_location": None}
        log = uow.session.execute(
            text("SELECT action, actor FROM privacy_requests ORDER BY id")
        ).all()
        assert [tuple(r) for r in log] == [
            ("export", "admin:test-admin"),
            ("erase", "admin:test-admin"),
        ]
    assert client.get(f"/api/v1/customers/{customer_id}").status_code == 410


def test_behaviour_naming_an_erased_customer_is_not_linked(container, client):
    customer_id = make_person(container)
    grant(container, customer_id, "analytics", "all")
    assert client.post(f"/api/v1/customers/{customer_id}/erase").status_code == 200
    r = client.post(
        "/api/v1/events",
        json={
            "events": [
                {
                    "type": "page_view",
                    "occurred_at": "2026-11-03T10:00:00Z",
                    "customer_id": customer_id,
                    "anonymous_id": "after-erasure",
                }
            ]
        },
    )
    assert r.status_code == 202, r.text
    assert (r.json()["identified"], r.json()["unlinked_without_consent"]) == (0, 1)
    with container.read_uow() as uow:
        rows = uow.session.execute(
            text("SELECT customer_id, anonymous_id FROM customer_activity")
        ).all()
    assert [tuple(r) for r in rows] == [(None, None)]


def dump(container) -> str:
    """Every value of every table, as a database dump would show it."""
    with container.engine.connect() as conn:
        return " ".join(
            str(v)
            for t in inspect(conn).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{t}"'))
            for v in row
        ).lower()


CLEAR = [NAME, EMAIL, PHONE, "900123", "Quince Lane", "Wyvernshire", "WY9 9ZZ", "51.545"]


def test_personal_data_outside_the_profile_is_never_in_clear_and_erasure_shreds_it(
    container, client, clock
):
    """The order's contact email and address, its events, the confirmation email recorded in
    notifications: a dump holds only ciphertext, and after erasure not even that."""
    customer_id = make_person(container)
    # With an Idempotency-Key: the stored reply (it names the contact email) is ciphertext too.
    number = checkout_as_the_person(container, client, clock, customer_id, idempotency_key="pii-1")
    with container.read_uow() as uow:
        notifications = uow.session.execute(text("SELECT recipient, body FROM notifications"))
        assert [r.recipient.startswith("v2:") for r in notifications] == [True]
        events = list_events(uow.session, type_prefix="omniretail.orders.order_confirmed")
        assert [e.data["order"] for e in events] == [number]
        # No bearer link either: the tracking page shows a pickup code while the order waits.
        assert "contact_email" not in events[0].data and "tracking_token" not in events[0].data
    everything = dump(container)
    assert [c for c in CLEAR if c.lower() in everything] == []
    assert scan(container, [NAME, EMAIL, "Quince Lane"]) != []  # it is there, encrypted
    order = client.get(f"/api/v1/orders/{number}").json()
    assert (order["contact_email"], order["delivery"]["address"]["line1"]) == (
        EMAIL,
        "42 Quince Lane",
    )

    assert client.post(f"/api/v1/customers/{customer_id}/erase").status_code == 200
    assert scan(container, CLEAR) == []
    assert [c for c in CLEAR if c.lower() in dump(container)] == []


def test_consents_of_several_channels_are_read_at_once_and_follow_a_merge(container):
    """``consenting_on`` (one look-up for every channel) answers as ``consenting`` per
    channel: a merged profile answers with its survivor's grants; "all" counts for a purpose
    that contacts nobody, never for marketing."""
    a, b, merged = (make_customer(container, n) for n in ("Ann One", "Ben Two", "Ann Dup"))
    grant(container, a, "marketing", "email")
    grant(container, a, "marketing", "sms", False)
    grant(container, b, "marketing", "sms")
    grant(container, b, "analytics", "all")
    with container.uow() as uow:
        service.merge_customers(uow, a, merged, rule="manual", reason="same", actor="t")
    ids = [a, b, merged]
    with container.read_uow() as uow:
        found = service.consenting_on(uow, ids, "marketing", ["email", "sms", "push"])
        assert found == {"email": {a, merged}, "sms": {b}, "push": set()}
        for channel, who in found.items():
            assert service.consenting(uow, ids, "marketing", channel) == who
        roots = service.profiles_of(uow, ids)
        assert roots == {a: a, b: b, merged: a}
        assert service.consenting_on(uow, [b], "analytics", ["email"], roots=roots) == {
            "email": {b}
        }
        assert service.consenting_on(uow, ids, "marketing", []) == {}
