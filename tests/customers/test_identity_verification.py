"""Nobody declares an identity verified (pen-test finding: account takeover through a
self-declared "verified" email). The platform verifies with a one-time code sent by email or
SMS: hashed at rest, short-lived, single use, a few tries, sends limited in the database;
merges happen only between platform-verified identities."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from omniretail.app import create_app
from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import build_container
from omniretail.customers.models import Identity, Merge, MergeReview, VerificationCode
from omniretail.db.outbox import OutboxMessage
from omniretail.messaging.mail import SmtpConfig, SmtpMailer
from omniretail.messaging.senders import RecordingSmsSender
from tests.auth.test_role_matrix import PASSWORD, sign_in
from tests.customers.helpers import make_customer, place_order
from tests.orders.network import make_orders_network, new_cart

API = "/api/v1"
ALICE = "alice@example.com"
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def people(container, client, clock, smtp_server) -> dict[str, Any]:
    """Alice (verified email, an order, points) and Bob, each signed in; codes go out by
    real SMTP to the loopback server."""
    container.senders.mailer = SmtpMailer(SmtpConfig(host=smtp_server.host, port=smtp_server.port))
    alice = make_customer(container, "Alice A", email=ALICE, verified=True)
    bob = make_customer(container, "Bob B", email="bob@example.com", verified=True)
    place_order(container, alice, "A1", "120.00")
    clock.advance(days=31)
    with container.uow() as uow:
        for customer_id in (alice, bob):
            auth.create_principal(
                uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=customer_id, password=PASSWORD)
            )
    return {
        "alice": alice,
        "bob": bob,
        "as_alice": sign_in(client, ALICE),
        "as_bob": sign_in(client, "bob@example.com"),
        "smtp": smtp_server,
    }


def count(container, model) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def identity_of(container, customer_id: int, kind: str = "email") -> list[Identity]:
    with container.read_uow() as uow:
        return list(
            uow.session.scalars(
                select(Identity)
                .where(Identity.customer_id == customer_id, Identity.kind == kind)
                .order_by(Identity.id)
            )
        )


def codes(container) -> list[VerificationCode]:
    with container.read_uow() as uow:
        return list(uow.session.scalars(select(VerificationCode).order_by(VerificationCode.id)))


def add(client, customer_id, headers, value, kind="email", **extra) -> Any:
    return client.post(
        f"{API}/customers/{customer_id}/identities",
        headers=headers,
        json={"kind": kind, "value": value, **extra},
    )


def send_code(client, customer_id, identity_id, headers) -> Any:
    return client.post(
        f"{API}/customers/{customer_id}/identities/{identity_id}/verification", headers=headers
    )


def enter(client, customer_id, identity_id, headers, code) -> Any:
    return client.post(
        f"{API}/customers/{customer_id}/identities/{identity_id}/verify",
        headers=headers,
        json={"code": code},
    )


def delivered_code(container, smtp, to: str) -> str:
    container.relay().run_until_idle()
    mails = [m for _f, rcpt, m in smtp.received if to in rcpt]
    assert mails, f"no email reached {to}"
    found = CODE.search(mails[-1].get_content())
    assert found
    return found.group(1)


def problem(response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/" + slug), body
    return body


# --- the reported attack -----------------------------------------------------------------------


def test_the_reported_attack_merges_nothing_and_bob_reads_nothing_of_alice(
    container, client, people
):
    alice, bob, as_bob = people["alice"], people["bob"], people["as_bob"]
    make_orders_network(container)
    alice_cart = new_cart(client, customer_id=alice)
    before = (count(container, Identity), count(container, OutboxMessage))

    attack = add(client, bob, as_bob, ALICE, verified=True, verified_via="code")

    body = problem(attack, 422, "validation-error")
    assert "cannot be declared verified" in body["detail"]
    assert (count(container, Identity), count(container, OutboxMessage)) == before
    # Claiming it is allowed: it is stored unverified and a code goes to Alice's mailbox, not
    # to Bob; Bob learns nothing of Alice (tests/customers/test_identity_claims.py).
    claimed = add(client, bob, as_bob, ALICE)
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["status"] == "code_sent"
    assert claimed.json()["verification"]["destination"] == "a***@example.com"
    bob_claim = identity_of(container, bob)[-1]
    assert claimed.json()["identity_id"] == bob_claim.id
    delivered_code(container, people["smtp"], ALICE)
    # Guessing does not help.
    problem(enter(client, bob, bob_claim.id, as_bob, "000000"), 422, "verification-code-invalid")

    assert count(container, Merge) == 0
    for path in (
        f"/customers/{alice}",
        f"/customers/{alice}/360",
        f"/customers/{alice}/export",
        f"/loyalty/customers/{alice}",
        f"/carts/{alice_cart}",
    ):
        assert client.get(API + path, headers=as_bob).status_code == 403, path
    spend = client.post(
        f"{API}/loyalty/customers/{alice}/redemptions",
        headers=as_bob,
        json={"points": 100, "channel": "WEB"},
    )
    assert spend.status_code == 403
    consent = client.post(
        f"{API}/customers/{alice}/consents",
        headers=as_bob,
        json={"purpose": "marketing", "channel": "email", "granted": True},
    )
    assert consent.status_code == 403
    own = client.get(f"{API}/customers/{bob}/360", headers=as_bob).json()
    assert own["customer"]["id"] == bob
    assert own["customer"]["aliases"] == []
    assert own["last_orders"] == []
    # An unverified claim puts nothing in the agents' review queue.
    assert count(container, MergeReview) == 0


def test_declaring_verified_is_refused_at_sign_up_too(container, client):
    before = count(container, Identity)
    r = client.post(
        f"{API}/customers",
        json={
            "name": "Mallory",
            "identities": [
                {"kind": "email", "value": "m@example.com", "verified": False},
            ],
        },
    )
    problem(r, 422, "validation-error")
    assert count(container, Identity) == before


# --- the code --------------------------------------------------------------------------------


def test_a_code_by_real_smtp_verifies_the_customers_own_email(container, client, people, caplog):
    caplog.set_level(logging.DEBUG)
    bob, as_bob = people["bob"], people["as_bob"]

    sent = add(client, bob, as_bob, "bob.work@example.com")  # the claim sends the code

    assert sent.status_code == 201, sent.text
    identity = identity_of(container, bob)[-1]
    assert sent.json()["status"] == "code_sent"
    assert sent.json()["verification"]["channel"] == "email"
    assert sent.json()["verification"]["sends_left_in_window"] == 2
    [row] = codes(container)
    assert row.status == "pending" and row.code_enc is not None
    with container.read_uow() as uow:
        [event] = uow.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.type == "omniretail.customers.identity_code_requested"
            )
        ).all()
    code = delivered_code(container, people["smtp"], "bob.work@example.com")
    # The code is nowhere in clear: not in the response, the event, the row, the log.
    assert code not in sent.text
    assert code not in str(event.data)
    [row] = codes(container)
    assert row.code_enc is None and row.sent_at is not None
    assert code not in row.code_hash and len(row.code_hash) > 60
    with container.read_uow() as uow:
        raw = uow.session.execute(text("SELECT * FROM identity_verification_codes")).all()
    assert code not in repr(raw)

    wrong = enter(client, bob, identity.id, as_bob, f"{(int(code) + 1) % 1_000_000:06d}")
    assert problem(wrong, 422, "verification-code-invalid")["attempts_left"] == 4
    right = enter(client, bob, identity.id, as_bob, f" {code} ")

    assert right.status_code == 200, right.text
    assert right.json() == {
        "identity_id": identity.id,
        "kind": "email",
        "status": "verified",
        "explanation": "your email is verified",
        "verification": None,
    }
    [verified] = [i for i in identity_of(container, bob) if i.id == identity.id]
    assert (verified.verified, verified.verified_via) == (True, "code")
    assert verified.verified_by == f"customer:customer-{bob}"
    assert verified.verification_ref == f"code #{row.id} sent by email"
    assert codes(container)[0].status == "used"
    assert codes(container)[0].attempts == 2
    # single use: the same code again finds nothing to confirm
    problem(enter(client, bob, identity.id, as_bob, code), 409, "identity-already-verified")
    # (aiosmtpd's "mail.log" is the receiving server, i.e. the recipient's mailbox)
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours and not [m for m in ours if code in m]


def test_a_code_that_expired_does_not_verify(container, client, people, clock):
    bob, as_bob = people["bob"], people["as_bob"]
    add(client, bob, as_bob, "late@example.com")  # the claim sends the code
    identity = identity_of(container, bob)[-1]
    code = delivered_code(container, people["smtp"], "late@example.com")

    clock.advance(seconds=601)
    expired = enter(client, bob, identity.id, as_bob, code)

    assert "expired" in problem(expired, 422, "verification-code-invalid")["detail"]
    assert codes(container)[0].status == "expired"
    assert not identity_of(container, bob)[-1].verified
    problem(enter(client, bob, identity.id, as_bob, code), 422, "verification-code-invalid")


def test_five_wrong_codes_lock_the_code(container, client, people):
    bob, as_bob = people["bob"], people["as_bob"]
    add(client, bob, as_bob, "guess@example.com")
    identity = identity_of(container, bob)[-1]
    code = delivered_code(container, people["smtp"], "guess@example.com")
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"

    answers = [enter(client, bob, identity.id, as_bob, wrong) for _ in range(5)]

    assert [a.status_code for a in answers] == [422, 422, 422, 422, 429]
    problem(answers[-1], 429, "verification-attempts-exceeded")
    [row] = codes(container)
    assert (row.status, row.attempts) == ("locked", 5)
    problem(enter(client, bob, identity.id, as_bob, code), 422, "verification-code-invalid")
    assert not identity_of(container, bob)[-1].verified


def test_a_new_code_supersedes_the_last(container, client, people):
    bob, as_bob = people["bob"], people["as_bob"]
    add(client, bob, as_bob, "twice@example.com")
    identity = identity_of(container, bob)[-1]
    first = delivered_code(container, people["smtp"], "twice@example.com")
    send_code(client, bob, identity.id, as_bob)
    second = delivered_code(container, people["smtp"], "twice@example.com")
    assert [c.status for c in codes(container)] == ["superseded", "pending"]
    if first != second:
        problem(enter(client, bob, identity.id, as_bob, first), 422, "verification-code-invalid")
    assert enter(client, bob, identity.id, as_bob, second).status_code == 200


def test_sends_are_limited_per_identity_and_per_day_across_processes(
    container, client, people, clock
):
    bob, as_bob = people["bob"], people["as_bob"]
    add(client, bob, as_bob, "spam@example.com")  # the first code
    identity = identity_of(container, bob)[-1]
    # another process on the same database counts the same rows
    other = build_container(container.settings, clock=clock)
    try:
        with TestClient(create_app(other, background_sweep=False)) as second:
            assert send_code(second, bob, identity.id, as_bob).status_code == 202
            assert send_code(client, bob, identity.id, as_bob).status_code == 202
            events = count(container, OutboxMessage)
            refused = send_code(client, bob, identity.id, as_bob)
            body = problem(refused, 429, "verification-rate-limited")
            assert body["retry_after_seconds"] == 900
            assert refused.headers["Retry-After"] == "900"
            assert (len(codes(container)), count(container, OutboxMessage)) == (3, events)
            problem(send_code(second, bob, identity.id, as_bob), 429, "verification-rate-limited")
    finally:
        other.dispose()
    # 10 a day per person, whatever the identity (staff may send too: the admin's key here,
    # as the customer's token expires while the clock moves on)
    sent = 3
    while sent < 10:
        clock.advance(seconds=901)
        for _ in range(min(3, 10 - sent)):
            assert send_code(client, bob, identity.id, {}).status_code == 202
            sent += 1
    clock.advance(seconds=901)
    refused = send_code(client, bob, identity.id, {})
    daily = problem(refused, 429, "verification-rate-limited")
    assert refused.headers["Retry-After"] == "86400"
    assert daily["field"] == "customer_id"
    assert daily["retry_after_seconds"] == 86400
    clock.advance(hours=24)
    assert send_code(client, bob, identity.id, {}).status_code == 202


def test_a_phone_code_goes_by_sms(container, client, people):
    sms = RecordingSmsSender()
    container.senders.sms = sms
    bob, as_bob = people["bob"], people["as_bob"]
    sent = add(client, bob, as_bob, "07700 900123", kind="phone")
    identity = identity_of(container, bob, "phone")[-1]
    assert sent.json()["verification"]["destination"] == "********0123"
    container.relay().run_until_idle()
    [message] = sms.sent
    assert message.to == "07700 900123"
    found = CODE.search(message.text)
    assert found
    assert enter(client, bob, identity.id, as_bob, found.group(1)).json()["status"] == "verified"


def test_only_emails_and_phones_take_codes(container, client, people):
    bob, as_bob = people["bob"], people["as_bob"]
    add(client, bob, {}, "CARD-123", kind="loyalty_card")  # staff record a card
    identity = identity_of(container, bob, "loyalty_card")[-1]
    problem(send_code(client, bob, identity.id, as_bob), 422, "not-verifiable-by-code")
    assert codes(container) == []


# --- what a verification may merge ---------------------------------------------------------


def test_a_code_from_the_other_profiles_verified_mailbox_merges(container, client, people):
    """Bob owns Alice's mailbox (one person, two profiles) and staff recorded it on his
    profile: the code proves it. (Bob's own claim of it goes to a review instead:
    tests/customers/test_identity_claims.py.)"""
    alice, bob, as_bob = people["alice"], people["bob"], people["as_bob"]
    assert add(client, bob, {}, ALICE).json()["outcome"] == "queued"  # staff see the match
    identity = identity_of(container, bob)[-1]
    send_code(client, bob, identity.id, as_bob)
    code = delivered_code(container, people["smtp"], ALICE)

    merged = enter(client, bob, identity.id, as_bob, code)

    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "verified"  # Bob is told of his own email only
    with container.read_uow() as uow:
        [merge] = uow.session.scalars(select(Merge)).all()
    assert (merge.survivor_id, merge.merged_id, merge.rule) == (alice, bob, "verified email")
    assert "code #" in merge.reason and f"customer:customer-{bob}" in merge.reason


def test_a_self_declared_verification_from_before_the_fix_proves_nothing(container, client, people):
    """Rows verified before migration 0011 carry no evidence: a new platform verification of
    the same email takes it over and queues a review instead of merging."""
    alice, bob, as_bob = people["alice"], people["bob"], people["as_bob"]
    with container.uow() as uow:  # what the old API stored for a self-declared "verified"
        uow.session.execute(
            update(Identity)
            .where(Identity.customer_id == alice)
            .values(verified_by=None, verification_ref=None)
        )
    add(client, bob, as_bob, ALICE)  # the claim sends the code
    identity = identity_of(container, bob)[-1]
    code = delivered_code(container, people["smtp"], ALICE)

    answer = enter(client, bob, identity.id, as_bob, code)

    assert answer.json()["status"] == "verified", answer.text  # Bob is told of his own only
    assert count(container, Merge) == 0
    with container.read_uow() as uow:
        [review] = uow.session.scalars(select(MergeReview)).all()
    assert (review.customer_a, review.customer_b, review.rule) == (alice, bob, "claimed email")
    assert [i.verified for i in identity_of(container, alice)] == [False]
    assert [i.verified for i in identity_of(container, bob) if i.id == identity.id] == [True]


def test_events_and_session_stitching_link_no_profiles(container, client, people):
    alice, bob = people["alice"], people["bob"]
    for customer_id in (alice, bob):
        client.post(
            f"{API}/customers/{customer_id}/consents",
            json={"purpose": "analytics", "channel": "all", "granted": True},
        )
    batch = {
        "events": [
            {
                "type": "page_view",
                "occurred_at": "2026-11-01T10:00:00Z",
                "customer_id": who,
                "anonymous_id": "shared-device",
            }
            for who in (alice, bob)
        ]
    }
    assert client.post(f"{API}/events", json=batch).status_code == 202
    stitched = client.post(
        f"{API}/customers/{bob}/identify",
        headers=people["as_bob"],
        json={"anonymous_id": "shared-device"},
    )
    assert stitched.status_code == 200
    assert count(container, Merge) == 0
    assert client.get(f"{API}/customers/{bob}").json()["aliases"] == []


def test_erasure_takes_the_codes_with_the_identities(container, client, people):
    bob, as_bob = people["bob"], people["as_bob"]
    add(client, bob, as_bob, "gone@example.com")  # the claim sends a code
    erased = client.post(f"{API}/customers/{bob}/erase")
    assert erased.status_code == 200, erased.text
    assert codes(container) == []
