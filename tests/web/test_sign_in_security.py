"""The console's side of the penetration test's findings 9 and 10: the sign-in form is
throttled like the API, sessions end at once when the principal is disabled or changes
password, a password form for everyone, the customer look-up is for HQ roles only, and
security headers (with no inline script or style) on every page."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from omniretail.auth import service as auth
from omniretail.auth.schemas import PrincipalUpdate
from omniretail.auth.security import AuthPrincipal
from omniretail.bootstrap import Container
from tests.auth.conftest import hasher  # noqa: F401  (fast Argon2 for these tests)
from tests.conftest import FixedClock
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL, PASSWORD, Seeded

pytestmark = pytest.mark.usefixtures("hasher")
TEMPLATES = Path(__file__).parents[2] / "src" / "omniretail" / "web" / "templates"
INLINE = re.compile(r"<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=|javascript:", re.I)


def try_sign_in(web: TestClient, username: str, password: str) -> Any:
    page = web.get("/signin")
    return web.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )


def test_the_sign_in_form_is_throttled_like_the_api(web: TestClient, clock: FixedClock) -> None:
    statuses = [try_sign_in(web, ADMIN, f"guess {i} guess").status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]
    refused = try_sign_in(web, ADMIN, PASSWORD)
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "60")
    assert "Too many failed sign-ins. Try again in 60 seconds." in refused.text
    assert "omniretail_session" not in refused.cookies
    # The API shares the counter: the account is locked there too.
    api = web.post("/api/v1/auth/token", data={"username": ADMIN, "password": PASSWORD})
    assert api.status_code == 429
    clock.advance(seconds=60)
    assert try_sign_in(web, ADMIN, PASSWORD).status_code == 303


def test_a_session_ends_at_once_when_its_principal_is_disabled(
    web: TestClient, container: Container
) -> None:
    sign_in(web, ASSOCIATE)
    assert web.get("/store").status_code == 200
    with container.uow() as uow:
        found = auth.principal_by_username(uow, ASSOCIATE)
        assert found is not None
        acting = AuthPrincipal(id=0, role="admin", name="tests")
        auth.update_principal(uow, found.id, PrincipalUpdate(active=False), acting=acting)
    response = web.get("/store")
    assert (response.status_code, response.headers["location"]) == (303, "/signin?next=%2Fstore")


def test_everyone_changes_their_password_in_the_console_and_other_sessions_end(
    web: TestClient, container: Container
) -> None:
    new = "another long passphrase"
    for username in (CUSTOMER_EMAIL, ASSOCIATE, ADMIN):
        web.cookies.clear()
        home = sign_in(web, username)
        other = TestClient(web.app, follow_redirects=False)
        sign_in(other, username)
        assert other.get(home).status_code == 200
        assert 'href="/password"' in web.get(home).text
        wrong: Any = post(
            web,
            "/password",
            "/password",
            {"current_password": "nope", "new_password": new, "confirm_password": new},
        )
        assert wrong.status_code == 401
        assert 'id="f-current_password-error">the current password is wrong<' in wrong.text
        weak: Any = post(
            web,
            "/password",
            "/password",
            {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
        )
        assert weak.status_code == 422 and 'id="f-new_password-error"' in weak.text
        done: Any = post(
            web,
            "/password",
            "/password",
            {"current_password": PASSWORD, "new_password": new, "confirm_password": new},
        )
        assert done.status_code == 303, done.text
        assert web.get(home).status_code == 200  # this session goes on
        assert other.get(home).status_code == 303  # every other one ended
        other.cookies.clear()
        assert try_sign_in(other, username, PASSWORD).status_code == 401
        assert try_sign_in(other, username, new).status_code == 303


def test_a_customer_cannot_use_the_customer_look_up_as_an_email_oracle(
    web: TestClient, seeded: Seeded
) -> None:
    """A customer could otherwise learn whether any email is a customer's. The console decides
    as the API does for ``POST /customers/lookup`` (staff with customers:read: an associate
    looks customers up at the till), and refuses a customer with the API's words."""
    home = sign_in(web, CUSTOMER_EMAIL)
    token = csrf_of(web.get(home).text)
    for value in (CUSTOMER_EMAIL, "nobody@example.com"):
        r = web.post(
            "/hq/customers/lookup", data={"kind": "email", "value": value, "csrf_token": token}
        )
        assert r.status_code == 403, r.text
        assert "customers may only act on their own profile" in r.text
    web.cookies.clear()
    sign_in(web, ADMIN)
    found: Any = post(
        web, "/hq/customers", "/hq/customers/lookup", {"kind": "email", "value": CUSTOMER_EMAIL}
    )
    assert found.headers["location"] == f"/hq/customers/{seeded.customer_id}"


# --- security headers (finding 10) -----------------------------------------------------------


def assert_secured(response: Any, where: str) -> None:
    h = response.headers
    csp = h.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "'unsafe-inline'" not in csp.split("style-src")[0], where  # never for scripts
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("referrer-policy") in ("strict-origin-when-cross-origin", "no-referrer"), where


def page_urls(web: TestClient, seeded: Seeded) -> list[str]:
    values = {
        "sku": "A1",
        "location": "LON1",
        "customer_id": str(seeded.customer_id),
        "number": seeded.pickup_order,
        "token": seeded.tracking_token,
        "transfer_id": "1",
        "fmt": "svg",
        "index": "0",
    }
    return [
        re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), path)
        for path in get_paths(web.app.routes, "")  # type: ignore[attr-defined]
        if not path.startswith("/api/")
    ]


def get_paths(routes: list[Any], prefix: str) -> list[str]:
    """GET routes, through included routers (FastAPI keeps them as nested route groups)."""
    found = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += get_paths(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute) and "GET" in route.methods:
            found.append(prefix + route.path)
    return found


def test_every_console_and_public_page_sends_the_security_headers_and_has_nothing_inline(
    web: TestClient, seeded: Seeded
) -> None:
    urls = page_urls(web, seeded)
    named = {u.replace(seeded.tracking_token, "{token}") for u in urls}
    assert {"/signin", "/hq", "/store", "/account", "/password", "/track/{token}"} <= named
    for who in (None, ADMIN, ASSOCIATE, CUSTOMER_EMAIL):
        web.cookies.clear()
        if who:
            sign_in(web, who)
        for url in [*urls, "/static/app.css", "/no/such/page", "/docs", "/api/v1/health"]:
            response = web.get(url)
            assert_secured(response, f"{who} {url}")
            if "text/html" in response.headers.get("content-type", ""):
                found = INLINE.search(response.text)
                assert found is None, (who, url, response.text[found.start() - 80 : found.end()])


def test_templates_have_no_inline_script_style_or_handler() -> None:
    offenders = [
        (path.name, m.group(0))
        for path in TEMPLATES.rglob("*.html")
        for m in INLINE.finditer(path.read_text())
    ]
    assert offenders == []


def test_the_api_docs_allow_their_own_assets_and_the_redirect_script_only(
    web: TestClient,
) -> None:
    docs = web.get("/docs")
    csp = docs.headers["content-security-policy"]
    assert "http" not in csp  # no CDN or other host
    script_src = csp.split("script-src ")[1].split(";")[0].split()
    assert script_src[0] == "'self'"
    # Only the OAuth2 redirect page's script: /docs itself has none inline.
    assert all(s.startswith("'sha256-") for s in script_src[1:]) and len(script_src) == 2
    assert "frame-ancestors 'none'" in csp
    redirect = web.get("/docs/oauth2-redirect")
    assert redirect.headers["content-security-policy"] == csp
    # The hashes are those of the inline scripts the two pages really carry.
    served = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for page in (docs, redirect)
        for script in re.findall(r"<script>(.*?)</script>", page.text, re.S)
    ]
    assert served == script_src[1:]


def test_the_api_docs_reference_no_other_host_and_their_assets_are_served(
    web: TestClient,
) -> None:
    docs = web.get("/docs")
    assert docs.status_code == 200
    assert re.search(r"(https?:)?//", docs.text) is None, "an external URL on /docs"
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", docs.text)
    expected = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    kinds = set()
    for url in urls:
        assert url.startswith(("/docs/assets/", "/static/")), url
        response = web.get(url)
        kind = next(v for k, v in expected.items() if url.endswith(k))
        assert response.status_code == 200, url
        assert kind in response.headers["content-type"], (url, response.headers["content-type"])
        kinds.add(kind)
    assert kinds == set(expected.values())
    assert "/static/docs-start.js" in urls  # the start-up script is a file, not inline


def test_a_notice_in_a_link_from_elsewhere_is_not_shown(web: TestClient) -> None:
    words = "Your account is locked: call 0900 123 456"
    url = "/signin?notice=" + words.replace(" ", "%20")

    ours = web.get(url, headers={"Sec-Fetch-Site": "same-origin"})
    theirs = web.get(url, headers={"Sec-Fetch-Site": "cross-site"})
    typed = web.get(url, headers={"Sec-Fetch-Site": "none"})

    assert words in ours.text
    assert words not in theirs.text and words not in typed.text


def test_over_https_pages_ask_for_https_and_cookies_are_secure(web: TestClient) -> None:
    """Strict-Transport-Security goes with every HTTPS answer (a browser ignores it over
    plain HTTP, so none is sent there), and no cookie set over HTTPS travels without TLS."""
    assert "strict-transport-security" not in web.get("/signin").headers
    tls = TestClient(web.app, base_url="https://testserver", follow_redirects=False)  # type: ignore[attr-defined]
    assert tls.get("/signin").headers["strict-transport-security"] == "max-age=31536000"
    assert tls.get("/api/v1/health").headers["strict-transport-security"].startswith("max-age=")
    sign_in(tls, ADMIN)
    chosen = post(tls, "/store/choose", "/store/choose", {"store": "LON1"})
    assert chosen.status_code == 303, chosen.text  # type: ignore[attr-defined]
    cookies = chosen.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    store = [c for c in cookies if c.startswith("omniretail_store=")]
    assert store and "secure" in store[0].lower()
