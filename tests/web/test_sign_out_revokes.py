"""The console's sign-out revokes its session server-side: a copied session cookie is
refused afterwards, by the console and as a bearer token by the API (security probe)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from omniretail.web.session import SESSION_COOKIE
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL


@pytest.mark.parametrize("username", [ADMIN, ASSOCIATE, CUSTOMER_EMAIL])
def test_a_copied_session_cookie_is_refused_after_sign_out(web: TestClient, username: str) -> None:
    home = sign_in(web, username)
    copied = web.cookies[SESSION_COOKIE]
    assert web.get(home).status_code == 200
    out = web.post("/signout", data={"csrf_token": csrf_of(web.get(home).text)})
    assert out.status_code == 303

    web.cookies.set(SESSION_COOKIE, copied)
    replayed = web.get(home)
    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/signin")
    api = web.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {copied}"})
    assert api.status_code == 401
