"""A signed-in customer's claim of an email or phone (security finding: the answer named the
other customers holding it and queued a merge review for each, so a customer could enumerate
emails, phones and cards, learn internal ids and flood the agents' queue). A customer's claim
reads the same whoever holds the value, is stored unverified and matched with nothing until
its code is entered, is refused for cards and the like, and is limited per profile per day.
Staff still see matches. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from omniretail.auth import sign_up
from omniretail.customers import service as customers
from omniretail.customers.errors import IdentityClaimsLimited
from omniretail.customers.models import CodeSendQuota, Identity, Merge, MergeReview
from omniretail.customers.schemas import IdentityCreate, IdentityKind
from omniretail.customers.service import claims
from omniretail.kernel.vault import vault_for
from tests.auth.test_role_matrix import PASSWORD, sign_in
from tests.concurrency.test_no_oversell import parallel
from tests.customers import test_identity_verification as base
from tests.customers.helpers import make_customer
from tests.customers.test_identity_verification import (
    ALICE,
    add,
    codes,
    count,
    delivered_code,
    enter,
    identity_of,
    problem,
)

API = "/api/v1"
people = base.people  # the fixture: Alice (verified email) and Bob, each signed in
CAROL = "carol@example.com"  # on Carol's profile as staff recorded it: claimed, not verified


@pytest.fixture
def carol(container, client) -> int:
    carol = make_customer(container, "Carol C")
    assert add(client, carol, {}, CAROL).json()["outcome"] == "new"  # staff (the admin key)
    return carol


def reviews(container) -> list[tuple[int, int, str, str]]:
    with container.read_uow() as uow:
        rows = uow.session.scalars(select(MergeReview).order_by(MergeReview.id)).all()
        return [(r.customer_a, r.customer_b, r.rule, r.status) for r in rows]


def _verified_phone(container, customer_id: int, phone: str) -> None:
    with container.uow() as uow:
        customers.add_verified_identity(
            uow,
            customer_id,
            IdentityCreate(kind=IdentityKind.PHONE, value=phone),
            via="code",
            reference="test",
            vault=vault_for(container.keyring),
            actor="system:test",
        )


def test_a_claim_reads_the_same_whoever_holds_the_value(container, client, people, carol):
    alice, bob, as_bob = people["alice"], people["bob"], people["as_bob"]
    _verified_phone(container, alice, "07700 900123")
    before = (count(container, MergeReview), count(container, Merge))
    # The same masked destination for each: a***@example.com, ********0123.
    emails = {
        "verified on Alice's profile": ALICE,
        "claimed on Carol's profile": CAROL.replace("carol", "amy"),
        "nobody's": "abe@example.com",
    }
    add(client, carol, {}, emails["claimed on Carol's profile"])
    phones = {"verified on Alice's profile": "07700 900123", "nobody's": "07999 900123"}

    def shape(answer: Any) -> dict[str, Any]:
        """The answer but for the new row's own id."""
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        body.pop("identity_id")
        body["verification"].pop("identity_id")
        return body

    by_email = {k: shape(add(client, bob, as_bob, v)) for k, v in emails.items()}
    by_phone = {k: shape(add(client, bob, as_bob, v, kind="phone")) for k, v in phones.items()}

    for answers in (by_email, by_phone):
        assert all(body == answers["nobody's"] for body in answers.values()), answers
    assert by_email["nobody's"] == {
        "kind": "email",
        "status": "code_sent",
        "explanation": "a code was sent to a***@example.com: enter it to verify this email",
        "verification": {
            "channel": "email",
            "destination": "a***@example.com",
            "expires_at": by_email["nobody's"]["verification"]["expires_at"],
            "sends_left_in_window": 2,
        },
    }
    # Stored unverified, each with a code on its way; nothing queued, nothing merged.
    assert (count(container, MergeReview), count(container, Merge)) == before
    claimed = identity_of(container, bob) + identity_of(container, bob, "phone")
    assert [(i.verified, i.source) for i in claimed[1:]] == [(False, "self-service")] * 5
    assert len(codes(container)) == 5


@pytest.mark.parametrize("kind", ["loyalty_card", "pos_customer", "device", "social", "external"])
def test_customers_claim_their_email_or_phone_only(container, client, people, kind):
    """A card number is printed on the card: whoever sees it could claim it. Staff or the
    system that reads it record these."""
    bob, as_bob = people["bob"], people["as_bob"]
    before = count(container, Identity)

    refused = add(client, bob, as_bob, "CARD-0001", kind=kind)

    assert "email or phone" in problem(refused, 403, "not-self-claimable")["detail"]
    assert count(container, Identity) == before
    assert add(client, bob, {}, "CARD-0001", kind=kind).status_code == 201  # staff may


def test_an_unverified_claim_matches_nothing_and_staff_still_see_matches(
    container, client, people, carol
):
    bob, as_bob = people["bob"], people["as_bob"]
    assert add(client, bob, as_bob, CAROL).status_code == 201
    assert add(client, bob, as_bob, "dora@example.com").status_code == 201
    assert reviews(container) == []

    # Staff adding the same values elsewhere are told of Carol's claim, not of Bob's.
    dora, eve = make_customer(container, "Dora D"), make_customer(container, "Eve E")
    fresh = add(client, dora, {}, "dora@example.com").json()
    assert (fresh["outcome"], fresh["matched_customer_ids"], fresh["review_ids"]) == ("new", [], [])
    matched = add(client, eve, {}, CAROL).json()
    assert (matched["outcome"], matched["matched_customer_ids"]) == ("queued", [carol])
    assert len(matched["review_ids"]) == 1
    assert reviews(container) == [(carol, eve, "claimed email", "open")]
    # A look-up by the value finds the profile staff recorded it on, never Bob's claim.
    lookup = {"kind": "email", "value": "dora@example.com"}
    assert client.post(f"{API}/customers/lookup", json=lookup).json()["id"] == dora


def test_a_proven_claim_of_a_claimed_value_verifies_and_queues_a_review_for_staff(
    container, client, people, carol
):
    bob, as_bob = people["bob"], people["as_bob"]
    claim = add(client, bob, as_bob, CAROL).json()
    code = delivered_code(container, people["smtp"], CAROL)

    answer = enter(client, bob, claim["identity_id"], as_bob, code)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "identity_id": claim["identity_id"],
        "kind": "email",
        "status": "verified",
        "explanation": "your email is verified",
        "verification": None,
    }
    assert reviews(container) == [(*sorted((bob, carol)), "claimed email", "open")]


def test_a_proven_claim_of_another_accounts_verified_email_goes_to_staff(container, client, people):
    """Bob reads Alice's mailbox: that proves he receives her mail today, not that the two
    accounts are one person. Nothing merges; staff decide."""
    alice, bob, as_bob = people["alice"], people["bob"], people["as_bob"]
    claim = add(client, bob, as_bob, ALICE).json()
    code = delivered_code(container, people["smtp"], ALICE)

    answer = enter(client, bob, claim["identity_id"], as_bob, code)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["identity_id"]) == ("in_review", claim["identity_id"])
    assert set(body) == {"identity_id", "kind", "status", "explanation", "verification"}
    assert count(container, Merge) == 0
    assert [i.verified for i in identity_of(container, bob) if i.id == claim["identity_id"]] == [
        False
    ]
    assert [i.verified for i in identity_of(container, alice)] == [True]
    assert reviews(container) == [(alice, bob, "proven email claim", "open")]
    [review] = client.get(f"{API}/customers/reviews").json()
    assert f"customer {bob}" in review["explanation"] and "code #" in review["explanation"]
    decided = client.post(
        f"{API}/customers/reviews/{review['id']}/decision",
        json={"decision": "merge", "reason": "the same person, checked by phone"},
    )
    assert decided.status_code == 200, decided.text
    assert client.get(f"{API}/customers/{bob}").json()["id"] == alice


def test_claims_are_limited_per_profile_per_day(container, client, people, clock):
    container.settings = container.settings.model_copy(update={"identity_claims_per_day": 3})
    bob, as_bob = people["bob"], people["as_bob"]
    for n in range(3):
        assert add(client, bob, as_bob, f"b{n}@example.com").status_code == 201
    before = (count(container, Identity), len(codes(container)))

    refused = add(client, bob, as_bob, "b3@example.com")

    body = problem(refused, 429, "identity-claims-limited")
    now = clock.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert refused.headers["Retry-After"] == str(int((midnight - now).total_seconds()))
    assert body["retry_after_seconds"] == int((midnight - now).total_seconds())
    assert (count(container, Identity), len(codes(container))) == before
    # The same value claimed again counts too (each claim sends a code).
    problem(add(client, bob, as_bob, "b0@example.com"), 429, "identity-claims-limited")
    # Staff are not limited.
    assert add(client, bob, {}, "b3@example.com").json()["outcome"] == "new"
    with container.read_uow() as uow:
        [quota] = uow.session.scalars(select(CodeSendQuota)).all()
    assert (quota.principal, quota.purpose, quota.sent) == (f"profile:{bob}", "identity-claims", 3)
    clock.advance(seconds=(midnight - now).total_seconds())
    as_bob = sign_in(client, "bob@example.com")
    assert add(client, bob, as_bob, "b4@example.com").status_code == 201


def test_parallel_claims_never_pass_the_limit(container, people):
    """Eight claims at once against a limit of three: three land, on either database."""
    bob = people["bob"]
    vault = vault_for(container.keyring)
    hasher = customers.hasher_for(container.keyring)
    policy = customers.code_policy_of(container.settings)

    def claim(i: int) -> bool:
        try:
            with container.uow() as uow:
                claims.claim_identity(
                    uow,
                    bob,
                    IdentityCreate(kind=IdentityKind.EMAIL, value=f"p{i}@example.com"),
                    vault=vault,
                    hasher=hasher,
                    policy=policy,
                    per_day=3,
                    actor="customer:test",
                )
            return True
        except IdentityClaimsLimited:
            return False

    assert parallel(8, claim).count(True) == 3
    assert len([i for i in identity_of(container, bob) if not i.verified]) == 3


def test_a_shop_sign_up_queues_no_review_until_its_email_is_verified(container, people, carol):
    """The shop's sign-up is a customer's own claim too (public, so worse for the queue)."""
    vault = vault_for(container.keyring)
    hasher = customers.hasher_for(container.keyring)
    policy = customers.code_policy_of(container.settings)
    throttle = sign_up.throttle_for(container.settings, container.keyring)
    with container.uow() as uow:
        pending = sign_up.start(
            uow,
            CAROL,
            "Mallory",
            PASSWORD,
            None,
            vault=vault,
            hasher=hasher,
            policy=policy,
            throttle=throttle,
        )
    assert pending.customer_id is not None
    assert reviews(container) == []
    code = delivered_code(container, people["smtp"], CAROL)
    with container.uow() as uow:
        done = sign_up.complete(uow, pending, code, hasher=hasher, policy=policy)
    assert done.principal is not None
    assert reviews(container) == [(carol, pending.customer_id, "claimed email", "open")]
