"""Webhooks: signing, delivery to a real HTTP receiver with retries, and the API."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text

from omniretail.kernel.events import DomainEvent
from omniretail.messaging.relay import Relay, RetryPolicy
from omniretail.notifications import service
from omniretail.notifications.schemas import SubscriptionCreate
from omniretail.notifications.webhooks import sign, verify_signature
from tests.messaging.conftest import deliveries, outbox, record

SECRET = "whsec_test_0123456789abcdef"


def subscribe(container, url: str, *patterns: str, secret: str = SECRET) -> int:
    with container.uow() as uow:
        created = service.create_subscription(
            uow,
            SubscriptionCreate.model_validate(
                {"url": url, "event_types": list(patterns), "secret": secret}
            ),
            actor="test",
            allow_private_networks=True,
        )
    return created.id


def received(container) -> DomainEvent:
    # A stock event no domain handler takes (only the webhook delivers it).
    return DomainEvent("inventory.written_off", "stock/10001@LON1", {"sku": "10001", "quantity": 3})


# --- signatures ----------------------------------------------------------------------------


def test_a_signature_verifies_only_for_the_same_secret_body_and_a_recent_time():
    body = b'{"id":"e1"}'
    header = sign(SECRET, body, 1_800_000_000)

    assert header.startswith("t=1800000000,v1=")
    assert verify_signature(SECRET, header, body, 300, now=1_800_000_100) is True
    assert verify_signature(SECRET, header, body + b" ", 300, now=1_800_000_100) is False
    assert verify_signature("whsec_other_secret_000", header, body, 300, now=1_800_000_100) is False
    assert verify_signature(SECRET, header, body, 300, now=1_800_000_301) is False
    assert verify_signature(SECRET, "v1=" + header.split("v1=")[1], body, 300) is False
    assert verify_signature(SECRET, "garbage", body, 300) is False
    # A receiver rotating secrets may be sent several v1 values; any match counts.
    rotated = f"{header},v1={'0' * 64}"
    assert verify_signature(SECRET, rotated, body, 300, now=1_800_000_000) is True


# --- delivery to a real receiver -----------------------------------------------------------


def test_webhook_is_signed_retried_on_500_and_then_delivered(container, clock, receiver):
    subscription_id = subscribe(container, receiver.url, "omniretail.inventory.*")
    receiver.statuses.extend([500])
    (event_id,) = record(container, received(container))
    relay = container.relay()

    report = relay.run_once()

    assert (report.retried, report.delivered) == (1, 0)
    (delivery,) = deliveries(container)
    assert (delivery.handler, delivery.status, delivery.attempts) == (
        f"webhook:{subscription_id}",
        "pending",
        1,
    )
    assert delivery.last_error == f"WebhookRejected: {receiver.url} answered HTTP 500"
    assert outbox(container)[0].published_at is None

    clock.advance(seconds=container.settings.relay_backoff_base_seconds)
    report = relay.run_once()

    assert report.delivered == 1
    assert [(d.status, d.attempts) for d in deliveries(container)] == [("delivered", 2)]
    assert outbox(container)[0].published_at == clock.now()
    first, second = receiver.requests
    assert first.body == second.body
    for request in (first, second):
        assert request.path == "/hooks/omniretail"
        assert request.headers["Content-Type"] == "application/cloudevents+json"
        assert request.headers["Omniretail-Event-Id"] == event_id
    assert verify_signature(
        SECRET,
        first.headers["Omniretail-Signature"],
        first.body,
        300,
        now=(clock.now() - timedelta(seconds=10)).timestamp(),
    )
    assert verify_signature(
        SECRET,
        second.headers["Omniretail-Signature"],
        second.body,
        300,
        now=clock.now().timestamp(),
    )
    event = json.loads(second.body)
    assert event == {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:omniretail",
        "type": "omniretail.inventory.written_off",
        "subject": "stock/10001@LON1",
        "time": "2026-11-02T09:00:00Z",
        "datacontenttype": "application/json",
        "data": {"sku": "10001", "quantity": 3},
    }


def test_deliveries_share_one_connection_until_the_sender_is_closed(container, receiver):
    subscribe(container, receiver.url, "omniretail.inventory.*")
    record(container, received(container), received(container))
    container.relay().run_until_idle()

    container.handlers.close()  # what the container's dispose does
    record(container, received(container))
    container.relay().run_until_idle()

    first, second, after_close = (r.peer_port for r in receiver.requests)
    assert first == second  # the second call reused the first one's connection
    assert after_close != first  # closing ended it; the next call opened another


def test_each_subscription_gets_only_matching_events_and_fails_on_its_own(
    container, clock, receiver
):
    inventory = subscribe(container, receiver.url + "?who=inventory", "omniretail.inventory.*")
    everything = subscribe(container, receiver.url + "?who=all", "*")
    subscribe(container, receiver.url + "?who=orders", "omniretail.orders.*")
    receiver.statuses.extend([200, 503])  # the second subscription's first try fails
    record(container, received(container))

    container.relay().run_once()
    clock.advance(seconds=container.settings.relay_backoff_base_seconds)
    container.relay().run_once()

    assert [r.path for r in receiver.requests] == [
        "/hooks/omniretail?who=inventory",
        "/hooks/omniretail?who=all",
        "/hooks/omniretail?who=all",
    ]
    assert [(d.handler, d.status, d.attempts) for d in deliveries(container)] == [
        (f"webhook:{inventory}", "delivered", 1),
        (f"webhook:{everything}", "delivered", 2),
    ]


def test_deleting_a_subscription_skips_its_pending_deliveries(container, clock, receiver):
    subscription_id = subscribe(container, receiver.url, "*")
    receiver.statuses.extend([500])
    record(container, received(container))
    container.relay().run_once()  # failed once, waits for its retry
    with container.uow() as uow:
        service.delete_subscription(uow, subscription_id, actor="test")
    clock.advance(seconds=container.settings.relay_backoff_base_seconds)

    report = container.relay().run_until_idle()

    assert (report.skipped, report.published) == (1, 1)
    (delivery,) = deliveries(container)
    assert (delivery.status, delivery.attempts) == ("skipped", 2)
    assert delivery.last_error == f"webhook subscription {subscription_id} was deleted"
    assert len(receiver.requests) == 1
    assert outbox(container)[0].published_at == clock.now()


def test_internal_messaging_events_are_not_sent_to_webhooks(container, receiver):
    subscribe(container, receiver.url, "*")
    record(
        container,
        DomainEvent(
            "messaging.notification_queued",
            "notifications/1",
            {"notification_id": 1, "channel": "sms", "kind": "shipped"},
        ),
    )

    report = container.relay().run_until_idle()

    assert receiver.requests == []
    assert [d.handler for d in deliveries(container)] == ["messaging.send_notification"]
    assert report.skipped == 1  # notification 1 does not exist


# --- API -----------------------------------------------------------------------------------


def test_subscriptions_are_created_listed_paused_and_deleted_through_the_api(client, container):
    r = client.post(
        "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/hooks", "event_types": ["omniretail.inventory.*"]},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["event_types"] == ["omniretail.inventory.*"]
    assert created["active"] is True
    subscription_id = created["id"]

    listed = client.get("/api/v1/webhooks").json()
    assert [s["id"] for s in listed] == [subscription_id]
    assert "secret" not in listed[0]
    # It signs every delivery: at rest only as ciphertext (the relay decrypts it to sign).
    with container.read_uow() as uow:
        stored = uow.session.execute(text("SELECT secret_enc FROM webhook_subscriptions")).one()
    assert stored.secret_enc.startswith("v2:") and created["secret"] not in stored.secret_enc

    r = client.patch(f"/api/v1/webhooks/{subscription_id}", json={"active": False})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False

    assert client.delete(f"/api/v1/webhooks/{subscription_id}").status_code == 204
    r = client.get(f"/api/v1/webhooks/{subscription_id}")
    assert r.status_code == 404
    assert r.json()["type"] == "https://omniretail.dev/problems/unknown-webhook-subscription"
    assert client.delete(f"/api/v1/webhooks/{subscription_id}").status_code == 404


def test_a_bad_subscription_is_refused_and_nothing_is_written(client):
    for body in (
        {"url": "ftp://erp.example/hooks", "event_types": ["*"]},
        {"url": "https://93.184.215.14/hooks", "event_types": []},
        {"url": "https://93.184.215.14/hooks", "event_types": ["Orders Placed"]},
        {"url": "https://93.184.215.14/hooks", "event_types": ["*"], "secret": "short"},
    ):
        r = client.post("/api/v1/webhooks", json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/webhooks").json() == []


def test_dead_webhook_deliveries_are_listed_and_replayed_through_the_api(
    container, client, receiver
):
    receiver.statuses.extend([500])
    r = client.post("/api/v1/webhooks", json={"url": receiver.url, "event_types": ["omniretail.*"]})
    subscription_id = r.json()["id"]
    (event_id,) = record(container, received(container))
    relay = Relay(container.uow, container.handlers, policy=RetryPolicy(max_attempts=1))

    assert relay.run_once().dead == 1

    letters = client.get("/api/v1/webhooks/dead-letters").json()
    assert [(d["message_id"], d["handler"], d["status"], d["attempts"]) for d in letters] == [
        (event_id, f"webhook:{subscription_id}", "dead", 1)
    ]
    assert letters[0]["event_type"] == "omniretail.inventory.written_off"
    history = client.get(f"/api/v1/webhooks/{subscription_id}/deliveries").json()
    assert [d["id"] for d in history] == [letters[0]["id"]]

    r = client.post(f"/api/v1/webhooks/deliveries/{letters[0]['id']}/replay")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
    r = client.post(f"/api/v1/webhooks/deliveries/{letters[0]['id']}/replay")
    assert r.status_code == 409
    assert relay.run_once().delivered == 1

    assert client.get("/api/v1/webhooks/dead-letters").json() == []
    delivered = client.get(
        f"/api/v1/webhooks/{subscription_id}/deliveries", params={"status": "delivered"}
    ).json()
    assert [(d["status"], d["attempts"]) for d in delivered] == [("delivered", 1)]
    assert len(receiver.requests) == 2
