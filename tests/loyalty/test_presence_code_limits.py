"""Presence codes (the till's "send code to customer") are limited on their own (security
finding: they shared the daily limit of sign-up codes, so a hostile associate could use up a
customer's sign-up codes for a day) and per staff principal per hour across all customers
(429 problem+json with Retry-After, the refusal counted and audited). SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from omniretail.auth.models import AuditEntry
from omniretail.customers import service as customers
from omniretail.customers.models import CodeSendQuota, Identity, IdentityKind
from omniretail.customers.schemas import IdentityCreate
from omniretail.kernel.vault import vault_for
from tests.auth.test_role_matrix import sign_in
from tests.customers.helpers import make_customer
from tests.loyalty import test_presence_codes as base
from tests.loyalty.test_presence_codes import ask, problem

till = base.till  # the fixture: Alice (verified email) and Ash, an associate of LON1

ACTION = "POST /loyalty/customers/{customer_id}/presence-codes"


def _phone_code(container: Any, customer_id: int, identity_id: int) -> None:
    """A sign-up (identity) code for the person's unverified phone."""
    with container.uow() as uow:
        customers.request_code(
            uow,
            customer_id,
            identity_id,
            vault=vault_for(container.keyring),
            hasher=customers.hasher_for(container.keyring),
            policy=customers.code_policy_of(container.settings),
            actor="self",
        )


def test_presence_codes_do_not_use_up_the_sign_up_codes(container, client, clock, till):
    alice, as_ash = till["alice"], till["as_ash"]
    with container.uow() as uow:
        customers.add_identity(
            uow,
            alice,
            IdentityCreate(kind=IdentityKind.PHONE, value="+447700900123"),
            vault=vault_for(container.keyring),
            actor="test",
        )
        phone = uow.session.scalars(
            select(Identity.id).where(Identity.kind == "phone", Identity.customer_id == alice)
        ).one()
    daily = container.settings.presence_code_sends_per_day
    for n in range(daily):  # spaced out past the 3-per-15-minutes window
        assert ask(client, alice, as_ash, reference=f"B-{n}").status_code == 202
        clock.advance(minutes=6)
        as_ash = sign_in(client, "ash")  # a fresh token within the hour

    _phone_code(container, alice, phone)  # before: 429, the day's ten codes were spent

    body = problem(ask(client, alice, as_ash, reference="B-X"), 429, "verification-rate-limited")
    assert "24 hours" in body["detail"]


def test_one_associate_sends_so_many_codes_an_hour_whoever_to(container, client, clock, till):
    container.settings = container.settings.model_copy(
        update={"presence_code_sends_per_principal_hour": 3}
    )
    now = clock.now()
    clock.advance(seconds=(3600 - now.minute * 60 - now.second) % 3600)  # the top of an hour
    as_ash = sign_in(client, "ash")
    people = [
        make_customer(container, f"P {n}", email=f"p{n}@example.com", verified=True)
        for n in range(4)
    ]
    for person in people[:3]:
        assert ask(client, person, as_ash).status_code == 202
    clock.advance(minutes=20)

    refused = ask(client, people[3], as_ash)

    problem(refused, 429, "code-sends-limited")
    assert refused.headers["retry-after"] == str(40 * 60)
    with container.read_uow() as uow:
        quota = uow.session.scalars(select(CodeSendQuota)).one()
        audited = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == ACTION).order_by(AuditEntry.id)
        ).all()
    assert (quota.principal, quota.purpose, quota.sent, quota.refused) == (
        "store_associate:ash",
        "redemption",
        3,
        1,
    )
    assert [a.subject for a in audited][
        -1
    ] == f"/api/v1/loyalty/customers/{people[3]}/presence-codes"
    assert len(audited) == 4
    clock.advance(minutes=40)  # the next hour
    as_ash = sign_in(client, "ash")
    assert ask(client, people[3], as_ash).status_code == 202
