"""Idempotency-Keys belong to the caller, expire, and their stored replies are ciphertext."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.db.idempotency import IdempotentRequest
from tests.orders.network import make_orders_network

CARTS = "/api/v1/carts"


def other_caller(container: Container, name: str = "other-system") -> dict[str, str]:
    with container.uow() as uow:
        principal = auth.create_principal(
            uow, PrincipalCreate(username=name, role=Role.ADMIN, kind="system")
        )
        return {"X-API-Key": auth.create_api_key(uow, principal.id, "tests").key}


def stored_keys(container: Container) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(IdempotentRequest)) or 0)


def new_cart(client: TestClient, key: str, **headers: str) -> Any:
    return client.post(CARTS, json={"channel": "WEB"}, headers={"Idempotency-Key": key, **headers})


def test_another_caller_with_the_same_key_and_body_gets_its_own_cart(container, client):
    make_orders_network(container)
    first = new_cart(client, "same-key")
    assert first.status_code == 201
    again = new_cart(client, "same-key")
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["token"] == first.json()["token"]

    theirs = new_cart(client, "same-key", **other_caller(container))
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["token"] != first.json()["token"]
    assert stored_keys(container) == 2


def test_an_expired_key_is_swept_and_then_runs_again(container, client, clock):
    make_orders_network(container)
    first = new_cart(client, "k-expiring")
    clock.advance(hours=23)
    assert new_cart(client, "k-expiring").headers.get("idempotent-replayed") == "true"
    from omniretail.api.deps import sweep_idempotency_keys

    assert sweep_idempotency_keys(container) == 0
    clock.advance(hours=2)
    assert sweep_idempotency_keys(container) == 1
    assert stored_keys(container) == 0
    again = new_cart(client, "k-expiring")
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["token"] != first.json()["token"]


def test_an_expired_key_not_yet_swept_is_a_new_request(container, client, clock):
    make_orders_network(container)
    first = new_cart(client, "k-late")
    clock.advance(hours=25)
    again = new_cart(client, "k-late")
    assert "idempotent-replayed" not in again.headers
    assert again.json()["token"] != first.json()["token"]
    assert stored_keys(container) == 1


def test_the_ttl_is_a_setting(container, client, clock):
    make_orders_network(container)
    container.settings.idempotency_ttl_hours = 1
    new_cart(client, "k-short")
    clock.advance(minutes=61)
    assert "idempotent-replayed" not in new_cart(client, "k-short").headers


def test_the_stored_reply_holds_no_clear_text(container, client):
    make_orders_network(container)
    reply = new_cart(client, "k-secret").json()
    with container.read_uow() as uow:
        raw = uow.session.execute(text("SELECT response FROM idempotency_keys")).scalars().all()
    assert len(raw) == 1
    assert reply["token"] not in raw[0]
    assert reply["id"] not in raw[0]
    assert raw[0].startswith("v2:")


def test_the_sweep_command_deletes_expired_keys(container, client, clock, monkeypatch):
    from omniretail.commands import main

    make_orders_network(container)
    new_cart(client, "k-cli")
    clock.advance(hours=30)
    monkeypatch.setattr(main, "open_container", lambda db=None: container)
    result = CliRunner().invoke(main.app, ["idempotency", "sweep"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 expired idempotency keys" in result.output
    assert stored_keys(container) == 0
