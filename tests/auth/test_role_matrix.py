"""Walks every route of the OpenAPI document with every role (and with no credentials) and
asserts each is allowed or refused exactly as ``auth.policy`` declares."""

from __future__ import annotations

import re

import pytest

from omniretail.auth import policy
from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from tests.customers.helpers import make_customer
from tests.factories import make_network

PASSWORD = "correct horse battery"
SIGN_OUT = ("POST", "/auth/signout")
# Signing out ends the token it is sent with: that route gets a fresh one.
SIGN_IN_NAMES = {
    "store_associate": "asha",
    "service_agent": "sam",
    "marketer": "moira",
    "customer": "cara@example.com",
}


def operations(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path, methods in sorted(spec["paths"].items()):
        if path.startswith("/api/v1"):
            for method in sorted(methods):
                yield method.upper(), path.removeprefix("/api/v1")


def sign_in(client, username):
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def people(container, client):
    make_network(container)
    own = make_customer(container, "Cara Customer", email="cara@example.com", verified=True)
    victim = make_customer(container, "Vic Other")
    with container.uow() as uow:
        for name, role, extra in [
            ("asha", Role.STORE_ASSOCIATE, {"store_code": "LON1"}),
            ("sam", Role.SERVICE_AGENT, {}),
            ("moira", Role.MARKETER, {}),
        ]:
            auth.create_principal(
                uow, PrincipalCreate(username=name, role=role, password=PASSWORD, **extra)
            )
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=own, password=PASSWORD)
        )
    headers = {
        "admin": dict(client.headers),
        "store_associate": sign_in(client, "asha"),
        "service_agent": sign_in(client, "sam"),
        "marketer": sign_in(client, "moira"),
        "customer": sign_in(client, "cara@example.com"),
        "anonymous": {"X-API-Key": ""},
    }
    return own, victim, headers


def test_every_route_is_declared(client):
    missing = [f"{m} {p}" for m, p in operations(client) if policy.rule_for(m, p) is None]
    assert missing == []


def expected(role, method, path):
    rule = policy.rule_for(method, path)
    assert rule is not None
    if rule.permission == policy.PUBLIC:
        return True
    if role == "anonymous":
        return False
    if not policy.allows(role, rule):
        return False
    if role == "customer":
        # their own orders (no such order passes: the route answers 404)
        own_order = path.startswith(("/orders/{number}", "/return-requests/{code}"))
        return rule.customer_unscoped or "{customer_id}" in path or own_order
    return True


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_role_matrix_over_every_route(client, people):
    own, victim, headers = people
    wrong = []
    # A customer may erase their own data (and then has no sign-in): that request goes last.
    last = ("POST", "/customers/{customer_id}/erase")
    for method, template in [*(o for o in operations(client) if o != last), last]:
        for role, role_headers in headers.items():
            customer_id = own if role == "customer" else victim
            path = template.replace("{customer_id}", str(customer_id))
            path = path.replace("{location}", "LON1")
            # Key 1 is the admin's own (the client's): revoking it would sign the walk out.
            path = path.replace("{key_id}", "999999")
            path = re.sub(r"\{[^}]+\}", "1", path)
            kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            if (method, template) == SIGN_OUT and role in SIGN_IN_NAMES:
                role_headers = sign_in(client, SIGN_IN_NAMES[role])
            r = client.request(method, "/api/v1" + path, headers=role_headers, **kwargs)
            allowed = r.status_code not in (401, 403)
            if allowed != expected(role, method, template):
                wrong.append((role, method, template, r.status_code))
            if role == "anonymous" and not allowed:
                assert r.status_code == 401
    assert wrong == []


def test_a_customer_sees_only_their_own_profile(container, client, people):
    own, victim, headers = people
    mine = client.get(f"/api/v1/customers/{own}/360", headers=headers["customer"])
    assert mine.status_code == 200
    assert mine.json()["customer"]["name"] == "Cara Customer"
    other = client.get(f"/api/v1/customers/{victim}", headers=headers["customer"])
    assert other.status_code == 403
    sneaky = client.post(
        "/api/v1/events",
        headers=headers["customer"],
        json={
            "events": [
                {"type": "page_view", "occurred_at": "2026-11-01T10:00:00Z", "customer_id": victim}
            ]
        },
    )
    assert sneaky.status_code == 403


def test_a_store_associate_changes_stock_only_in_their_store(container, client, people):
    _own, _victim, headers = people
    body = {"sku": "10001", "quantity": 3}
    mine = client.post(
        "/api/v1/inventory/receipts",
        headers=headers["store_associate"],
        json={**body, "location": "LON1"},
    )
    assert mine.status_code == 201, mine.text
    other = client.post(
        "/api/v1/inventory/receipts",
        headers=headers["store_associate"],
        json={**body, "location": "MAN1"},
    )
    assert other.status_code == 403
    audit = client.get("/api/v1/audit", params={"area": "inventory"}).json()
    assert [(a["actor"], a["action"]) for a in audit] == [
        ("store_associate:asha", "POST /inventory/receipts")
    ]
    ledger = client.get("/api/v1/inventory/ledger").json()
    assert ledger[0]["actor"] == "store_associate:asha"


def test_bad_credentials_are_refused(client, people):
    r = client.post("/api/v1/auth/token", data={"username": "asha", "password": "nope-nope"})
    assert r.status_code == 401
    r = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    r = client.get("/api/v1/auth/me", headers={"X-API-Key": "ork_bogus"})
    assert r.status_code == 401
    assert client.get("/api/v1/auth/me").json()["role"] == "admin"
