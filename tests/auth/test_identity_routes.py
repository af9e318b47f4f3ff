"""Every role against every identity and merge route (pen-test finding: a self-declared
"verified" identity merged profiles). Nobody declares an identity verified; only the customer
enters a code; only a system's API key holding ``identities:verify`` attests a verification
(not an admin's token, not an admin's key without it, not that system's own bearer token);
only ``customers:merge`` merges by hand, and no other route merges at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.customers.models import Identity, Merge
from tests.auth.test_role_matrix import PASSWORD, sign_in
from tests.customers.helpers import make_customer
from tests.factories import make_network

API = "/api/v1"
MERGERS = {"admin_token", "admin_key", "verifier_key", "verifier_token", "service_agent"}
WRITERS = MERGERS | {"store_associate", "customer_own"}
CODE_ENTERERS = {"admin_token", "admin_key", "customer_own"}


@pytest.fixture
def roles(container, client) -> dict[str, dict[str, str]]:
    make_network(container)
    cara = make_customer(container, "Cara Customer", email="cara@example.com", verified=True)
    vic = make_customer(container, "Vic Other", email="vic@example.com", verified=True)
    with container.uow() as uow:
        for name, role, extra in [
            ("root", Role.ADMIN, {}),
            ("asha", Role.STORE_ASSOCIATE, {"store_code": "LON1"}),
            ("sam", Role.SERVICE_AGENT, {}),
            ("moira", Role.MARKETER, {}),
        ]:
            auth.create_principal(
                uow, PrincipalCreate(username=name, role=role, password=PASSWORD, **extra)
            )
        verifier = auth.create_principal(
            uow,
            PrincipalCreate(
                username="login-provider",
                role=Role.SERVICE_AGENT,
                kind="system",
                password=PASSWORD,
                permissions=["identities:verify"],
            ),
        )
        verifier_key = auth.create_api_key(uow, verifier.id, "idp").key
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=cara, password=PASSWORD)
        )
    cara_token = sign_in(client, "cara@example.com")
    return {
        "admin_token": sign_in(client, "root"),
        "admin_key": {},  # the client's own: an admin system key without identities:verify
        "verifier_key": {"X-API-Key": verifier_key},
        "verifier_token": sign_in(client, "login-provider"),
        "store_associate": sign_in(client, "asha"),
        "service_agent": sign_in(client, "sam"),
        "marketer": sign_in(client, "moira"),
        "customer_own": cara_token,
        "customer_other": cara_token,
        "_ids": {"cara": str(cara), "vic": str(vic)},  # type: ignore[dict-item]
    }


def claimed_email(container, customer_id: int) -> int:
    with container.read_uow() as uow:
        return int(
            uow.session.scalars(
                select(Identity.id).where(
                    Identity.customer_id == customer_id, Identity.verified.is_(False)
                )
            ).one()
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_every_role_against_every_identity_and_merge_route(container, client, roles):
    ids: dict[str, Any] = roles.pop("_ids")
    cara, vic = int(ids["cara"]), int(ids["vic"])
    wrong: list[tuple[str, str, int, int]] = []

    def check(role: str, what: str, response: Any, allowed_status: int, allowed: bool) -> Any:
        expected = allowed_status if allowed else 403
        if response.status_code != expected:
            wrong.append((role, what, expected, response.status_code))
        return response

    for role, headers in roles.items():
        # whom the request is about: a fresh profile per role, the customer's own, or another's
        if role == "customer_own":
            subject = cara
        elif role == "customer_other":
            subject = vic
        else:
            subject = make_customer(container, f"Subject {role}")
        writer = role in WRITERS
        declared = client.post(
            f"{API}/customers/{subject}/identities",
            headers=headers,
            json={
                "kind": "email",
                "value": "vic@example.com",
                "verified": True,
                "verified_via": "code",
            },
        )
        check(role, "declare verified", declared, 422, writer)
        sign_up = client.post(
            f"{API}/customers",
            headers=headers,
            json={
                "identities": [
                    {
                        "kind": "email",
                        "value": "vic@example.com",
                        "verified": True,
                        "verified_via": "login",
                    }
                ]
            },
        )
        check(role, "sign up verified", sign_up, 422, writer and role != "customer_own")
        claim = client.post(
            f"{API}/customers/{subject}/identities",
            headers=headers,
            json={"kind": "email", "value": "vic@example.com"},
        )
        if check(role, "claim", claim, 201, writer).status_code == 201 and role == "customer_own":
            # a customer's own claim: a code is sent, and nothing is said of Vic
            assert claim.json()["status"] == "code_sent", claim.text
            assert "matched_customer_ids" not in claim.json()
        elif claim.status_code == 201:
            assert claim.json()["outcome"] == "queued", (role, claim.text)
            assert vic in claim.json()["matched_customer_ids"]
            assert claim.json()["merge_id"] is None
        identity = claimed_email(container, subject) if writer else 1
        base = f"{API}/customers/{subject}/identities/{identity}"
        check(role, "send code", client.post(f"{base}/verification", headers=headers), 202, writer)
        check(
            role,
            "enter code",
            client.post(f"{base}/verify", headers=headers, json={"code": "000000"}),
            422,
            role in CODE_ENTERERS,
        )
        attest = client.post(
            f"{base}/attestation", headers=headers, json={"via": "login", "reference": "idp-1"}
        )
        check(role, "attest", attest, 200, role == "verifier_key")
        if attest.status_code == 200:
            # the system's evidence is recorded, and Vic's verified email merges the two
            assert attest.json()["outcome"] == "merged", attest.text
            with container.read_uow() as uow:
                merge = uow.session.scalars(select(Merge).order_by(Merge.id.desc())).first()
            assert merge is not None
            assert "idp-1" in merge.reason
            assert "by service_agent:login-provider" in merge.reason
        reviews = client.get(f"{API}/customers/reviews", headers=headers)
        check(role, "list reviews", reviews, 200, role in MERGERS)
        open_ids = [r["id"] for r in reviews.json()] if reviews.status_code == 200 else [1]
        decide = client.post(
            f"{API}/customers/reviews/{open_ids[0] if open_ids else 1}/decision",
            headers=headers,
            json={"decision": "reject", "reason": "not the same person"},
        )
        check(role, "decide review", decide, 200, role in MERGERS and bool(open_ids))
        one, two = make_customer(container, f"One {role}"), make_customer(container, f"Two {role}")
        merge = client.post(
            f"{API}/customers/merges",
            headers=headers,
            json={"survivor_id": one, "merged_id": two, "reason": "same person, checked"},
        )
        check(role, "merge", merge, 201, role in MERGERS)
        # routes that link or record but must never merge
        own_or_subject = cara if role.startswith("customer") else subject
        client.post(
            f"{API}/customers/{own_or_subject}/identify",
            headers=headers,
            json={"anonymous_id": f"device-{role}"},
        )
        client.post(
            f"{API}/customers/{own_or_subject}/contacts",
            headers=headers,
            json={"channel": "phone", "topic": "verify my email"},
        )
        client.post(
            f"{API}/events",
            headers=headers,
            json={
                "events": [
                    {
                        "type": "page_view",
                        "occurred_at": "2026-11-01T10:00:00Z",
                        "customer_id": own_or_subject,
                        "anonymous_id": "shared",
                    }
                ]
            },
        )

    assert wrong == []
    with container.read_uow() as uow:
        merges = uow.session.scalars(select(Merge).order_by(Merge.id)).all()
    # One manual merge per merging role, and the verifier's attested merge; nothing else.
    assert sorted(m.rule for m in merges) == sorted(["manual"] * len(MERGERS) + ["verified email"])
    assert {m.actor.split(":")[0] for m in merges} == {"admin", "service_agent"}
    profile = client.get(f"{API}/customers/{cara}").json()
    assert profile["aliases"] == []
