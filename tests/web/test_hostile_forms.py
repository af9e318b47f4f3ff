"""What an outside tester types into the console's forms and cookies: a CSRF token or a
signed cookie of non-ASCII characters, numbers written with digits ``int`` refuses. Each is
the form's own refusal (403, 422), never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.support import service as support
from omniretail.support.schemas import ChatStart, ConversationQuery
from tests.auth.conftest import hasher  # noqa: F401  (fast Argon2 for these tests)
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import ADMIN, PASSWORD

pytestmark = pytest.mark.usefixtures("hasher")


def test_a_non_ascii_csrf_token_is_refused_not_a_500(web: TestClient) -> None:
    web.get("/signin")  # the pre-session cookie the sign-in form is bound to
    signin = web.post("/signin", data={"username": ADMIN, "password": PASSWORD, "csrf_token": "é"})
    assert signin.status_code == 403
    assert "omniretail_session" not in signin.cookies
    sign_in(web, ADMIN)
    signout = web.post("/signout", data={"csrf_token": "é"})
    assert signout.status_code == 403
    header = web.post("/signout", headers={"X-CSRF-Token": "é".encode("latin-1")})
    assert header.status_code == 403


def test_a_forged_sign_up_cookie_is_ignored_not_a_500(web: TestClient) -> None:
    token = csrf_of(web.get("/signup/code").text)
    presession = web.cookies["omniretail_presession"]
    cookies = f"omniretail_presession={presession}; omniretail_sign_up=1.2.x.é"
    answer = web.post(
        "/signup/code",
        data={"code": "123456", "csrf_token": token},
        headers={"Cookie": cookies.encode("latin-1")},
    )
    assert answer.status_code in (400, 422), answer.status_code


def test_ids_in_odd_digits_are_the_desk_forms_refusal(
    web: TestClient, container: Container
) -> None:
    with container.uow() as uow:
        support.start_chat(uow, ChatStart(message="Hello"))
        (conversation,) = support.list_conversations(uow, ConversationQuery(limit=5))
        auth.create_principal(
            uow, PrincipalCreate(username="sam", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
    sign_in(web, "sam")
    url = f"/hq/desk/conversations/{conversation.id}"
    token = csrf_of(web.get(url).text)
    for op, field in (("merge", "into"), ("links", "customer_id"), ("assign", "assignee_id")):
        for odd in ("²", "9" * 5000):
            answer = web.post(f"{url}/{op}", data={"csrf_token": token, field: odd})
            assert answer.status_code in (303, 404, 422), (op, odd[:5], answer.status_code)
