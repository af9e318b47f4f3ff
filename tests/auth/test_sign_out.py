"""Signing out revokes the token server-side (security probe: a copied token outlived its
sign-out): the API's ``POST /auth/signout`` for staff and customers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from omniretail.auth.models import RevokedToken
from omniretail.bootstrap import Container
from tests.auth.test_sign_in_security import API, bearer
from tests.auth.test_sign_in_security import people as people  # the fixture
from tests.conftest import FixedClock


@pytest.mark.parametrize("username", ["asha", "root", "cara@example.com"])
def test_a_token_is_refused_after_its_sign_out_and_other_sessions_go_on(
    client: TestClient, people: dict[str, int], username: str
) -> None:
    copied = bearer(client, username)
    other_device = bearer(client, username)
    assert client.get(f"{API}/auth/me", headers=copied).status_code == 200

    out = client.post(f"{API}/auth/signout", headers=copied)
    assert out.status_code == 204, out.text

    reused = client.get(f"{API}/auth/me", headers=copied)
    assert reused.status_code == 401, reused.text
    assert "not valid" in reused.json()["detail"]  # not "a bearer token ... is needed"
    assert client.post(f"{API}/auth/signout", headers=copied).status_code == 401
    assert client.get(f"{API}/auth/me", headers=other_device).status_code == 200


def test_revocations_are_forgotten_once_their_token_has_expired(
    client: TestClient, people: dict[str, int], container: Container, clock: FixedClock
) -> None:
    client.post(f"{API}/auth/signout", headers=bearer(client, "asha"))
    ttl = container.settings.access_token_ttl_seconds
    clock.advance(seconds=ttl + 1)
    client.post(f"{API}/auth/signout", headers=bearer(client, "asha"))
    with container.read_uow() as uow:
        rows = uow.session.query(RevokedToken).all()
    assert len(rows) == 1  # the first, expired, went when the second was written


def test_an_api_key_calling_sign_out_stays_valid(client: TestClient) -> None:
    assert client.post(f"{API}/auth/signout").status_code == 204
    assert client.get(f"{API}/auth/me").status_code == 200


def test_a_401_says_whether_a_credential_was_missing_or_not_valid(client: TestClient) -> None:
    """A newcomer who mistyped the demo's key was told a key "is needed" (one was sent)."""
    anonymous = TestClient(client.app, raise_server_exceptions=False)  # no admin key
    missing = anonymous.get(f"{API}/auth/me")
    assert missing.status_code == 401
    assert missing.json()["detail"] == "sign in: a bearer token or an X-API-Key is needed"
    for headers in ({"X-API-Key": "ork_mistyped"}, {"Authorization": "Bearer not-a-token"}):
        wrong = anonymous.get(f"{API}/auth/me", headers=headers)
        assert wrong.status_code == 401, headers
        assert wrong.json()["detail"] == (
            "sign in: the bearer token or X-API-Key is not valid (expired, revoked or mistyped)"
        )
