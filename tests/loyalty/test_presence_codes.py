"""Staff spend a customer's points only with proof the customer is there (pen-test finding:
an associate could spend any customer's points at the till): a one-time code sent to the
customer's verified email, read out by them, for that sale only. A sign-up code is no such
proof and a till code verifies no identifier. The signed-in customer spends their own points
without a code. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.customers.models import Identity, VerificationCode
from omniretail.messaging.mail import RecordingMailer
from tests.auth.test_role_matrix import PASSWORD, sign_in
from tests.customers.helpers import make_customer, place_order

API = "/api/v1"
ALICE = "alice@example.com"
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def till(container, client, clock) -> dict[str, Any]:
    """Alice (verified email, 120 points matured), signed in; an associate of LON1."""
    from tests.factories import make_network

    make_network(container)
    container.senders.mailer = RecordingMailer()
    alice = make_customer(container, "Alice A", email=ALICE, verified=True)
    place_order(container, alice, "A1", "120.00")
    clock.advance(days=31)
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=alice, password=PASSWORD)
        )
        auth.create_principal(
            uow,
            PrincipalCreate(
                username="ash", role=Role.STORE_ASSOCIATE, store_code="LON1", password=PASSWORD
            ),
        )
    return {
        "alice": alice,
        "as_alice": sign_in(client, ALICE),
        "as_ash": sign_in(client, "ash"),
    }


def last_code(container, subject: str = "loyalty points") -> str:
    container.relay().run_until_idle()
    mails = [m for m in container.senders.mailer.sent if subject in m.subject]
    assert mails, "no code was mailed"
    found = CODE.search(mails[-1].text)
    assert found
    return found.group(1)


def ask(client, customer_id, headers, reference="BASKET-1", points=50):
    return client.post(
        f"{API}/loyalty/customers/{customer_id}/presence-codes",
        headers=headers,
        json={"reference": reference, "points": points},
    )


def spend(client, customer_id, headers, code=None, reference="BASKET-1", points=50):
    body: dict[str, Any] = {"points": points, "channel": "LON1", "reference": reference}
    if code is not None:
        body["presence_code"] = code
    return client.post(
        f"{API}/loyalty/customers/{customer_id}/redemptions", headers=headers, json=body
    )


def problem(response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith(slug), body
    return body


def balance(client, customer_id, headers) -> int:
    got = client.get(f"{API}/loyalty/customers/{customer_id}", headers=headers)
    return int(got.json()["available"])


def test_staff_need_the_customers_code_for_that_sale(container, client, till):
    alice, as_ash = till["alice"], till["as_ash"]
    before = balance(client, alice, as_ash)
    assert before >= 100
    body = problem(spend(client, alice, as_ash), 403, "presence-code-required")
    assert "code sent to the customer" in body["detail"]

    sent = ask(client, alice, as_ash)
    assert sent.status_code == 202, sent.text
    assert sent.json()["destination"] == "a***@example.com"
    assert sent.json()["channel"] == "email"
    code = last_code(container)
    # hashed at rest, bound to Alice and the sale
    with container.read_uow() as uow:
        row = uow.session.scalars(
            select(VerificationCode).order_by(VerificationCode.id.desc())
        ).first()
        assert row is not None
        assert (row.purpose, row.bound_to, row.code_enc) == ("redemption", "50|BASKET-1", None)
        assert code not in row.code_hash
    # for another sale or more points it proves nothing (the code stays for its own sale)
    problem(spend(client, alice, as_ash, code, reference="BASKET-2"), 403, "presence-not-proven")
    problem(spend(client, alice, as_ash, code, points=90), 403, "presence-not-proven")
    done = spend(client, alice, as_ash, code)
    assert done.status_code == 201, done.text
    assert balance(client, alice, as_ash) == before - 50
    # once
    problem(spend(client, alice, as_ash, code), 403, "presence-not-proven")
    assert balance(client, alice, as_ash) == before - 50


def test_a_wrong_code_counts_and_three_lock_it(container, client, till):
    alice, as_ash = till["alice"], till["as_ash"]
    ask(client, alice, as_ash)
    code = last_code(container)
    wrong = "000000" if code != "000000" else "111111"
    first = problem(spend(client, alice, as_ash, wrong), 403, "presence-not-proven")
    assert "2 tries left" in first["detail"]
    problem(spend(client, alice, as_ash, wrong), 403, "presence-not-proven")
    locked = problem(spend(client, alice, as_ash, wrong), 403, "presence-not-proven")
    assert "no longer works" in locked["detail"]
    # locked: even the right code no longer spends
    problem(spend(client, alice, as_ash, code), 403, "presence-not-proven")


def test_the_code_expires_within_minutes(container, client, clock, till):
    alice, as_ash = till["alice"], till["as_ash"]
    ask(client, alice, as_ash)
    code = last_code(container)
    clock.advance(seconds=301)
    body = problem(spend(client, alice, as_ash, code), 403, "presence-not-proven")
    assert "expired" in body["detail"]


def test_a_sign_up_code_is_no_proof_and_a_till_code_verifies_nothing(container, client, till):
    alice, as_alice, as_ash = till["alice"], till["as_alice"], till["as_ash"]
    added = client.post(
        f"{API}/customers/{alice}/identities",
        headers=as_alice,
        json={"kind": "email", "value": "alice.work@example.com"},
    )
    assert added.status_code in (200, 201), added.text
    with container.read_uow() as uow:
        new = uow.session.scalars(
            select(Identity).where(Identity.customer_id == alice, Identity.verified.is_(False))
        ).first()
        assert new is not None
    url = f"{API}/customers/{alice}/identities/{new.id}"
    assert client.post(f"{url}/verification", headers=as_alice, json={}).status_code == 202
    sign_up = last_code(container, "verification code")
    problem(spend(client, alice, as_ash, sign_up), 403, "presence-not-proven")

    ask(client, alice, as_ash)
    till_code = last_code(container)
    # the till code, entered as the identity's code, verifies nothing (the sign-up code waits)
    wrong = client.post(f"{url}/verify", headers=as_alice, json={"code": till_code})
    assert wrong.status_code in (422, 429), wrong.text
    assert spend(client, alice, as_ash, till_code).status_code == 201


def test_the_signed_in_customer_spends_their_own_without_a_code(container, client, till):
    alice, as_alice = till["alice"], till["as_alice"]
    before = balance(client, alice, as_alice)
    assert spend(client, alice, as_alice).status_code == 201
    assert balance(client, alice, as_alice) == before - 50


def test_no_verified_contact_no_code(container, client, till):
    bob = make_customer(container, "Bob B", email="bob@example.com")  # not verified
    problem(ask(client, bob, till["as_ash"]), 409, "no-verified-contact")


def test_a_reference_never_answers_another_customers_redemption(container, client, till):
    """Probe: a redemption's reference made a retry return the existing redemption, whoever
    asked; naming another person's reference is now a 409 that shows nothing of it."""
    alice, as_alice = till["alice"], till["as_alice"]
    bob = make_customer(container, "Bob B", email="bob@example.com", verified=True)
    place_order(container, bob, "B1", "120.00")
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=bob, password=PASSWORD)
        )
    as_bob = sign_in(client, "bob@example.com")
    assert spend(client, alice, as_alice, reference="ALICE-SALE").status_code == 201
    taken = spend(client, bob, as_bob, reference="ALICE-SALE")
    body = problem(taken, 409, "redemption-reference-taken")
    assert not {"customer_id", "points", "value", "id"} & set(body)


def test_a_customer_neither_asks_codes_for_nor_spends_another_customers_points(
    container, client, till
):
    bob = make_customer(container, "Bob B", email="bob@example.com", verified=True)
    place_order(container, bob, "A1", "120.00")
    as_alice = till["as_alice"]
    refused = ask(client, bob, as_alice)
    assert refused.status_code == 403, refused.text
    assert spend(client, bob, as_alice).status_code == 403
    sent = container.senders.mailer.sent
    assert not [m for m in sent if m.to == "bob@example.com" and "loyalty points" in m.subject]
    nobody = {"X-API-Key": ""}  # the test client is otherwise an admin
    anonymous = client.post(
        f"{API}/loyalty/customers/{bob}/presence-codes", json={}, headers=nobody
    )
    assert anonymous.status_code == 401


def test_the_code_names_the_points_it_spends_and_is_asked_with_them(container, client, till):
    """Probe: a code bound to the sale only let an associate spend more points than the
    customer agreed to. The request names the points, the message tells the customer."""
    alice, as_ash = till["alice"], till["as_ash"]
    missing = client.post(
        f"{API}/loyalty/customers/{alice}/presence-codes",
        headers=as_ash,
        json={"reference": "BASKET-1"},
    )
    assert missing.status_code == 422, missing.text
    assert ask(client, alice, as_ash, points=1200).status_code == 202
    container.relay().run_until_idle()
    [mail] = [m for m in container.senders.mailer.sent if "loyalty points" in m.subject]
    assert "1,200 loyalty points" in mail.subject and "1,200 loyalty points" in mail.text
