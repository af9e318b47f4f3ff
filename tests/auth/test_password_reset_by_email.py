"""Customers' self-service password reset ("forgot password"): an emailed one-time code,
hashed at rest, encrypted only until the relay sends it, short-lived, single use, a few
wrong guesses, requests limited per email and per client address in the database, and the
same answer for every email (no enumeration)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from omniretail.auth import service as auth
from omniretail.auth.models import AuditEntry, PasswordResetCode, Role, SignInThrottle
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.db.outbox import OutboxMessage
from omniretail.messaging.mail import SmtpConfig, SmtpMailer
from tests.auth.conftest import CountingHasher
from tests.customers.helpers import make_customer
from tests.web.conftest import csrf_of

API = "/api/v1"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
CARA = "cara@example.com"
CODE = re.compile(r"\b(\d{8})\b")
ANON = {"X-API-Key": ""}


@pytest.fixture
def people(container: Container, hasher: CountingHasher, smtp_server: Any) -> dict[str, Any]:
    """Cara (verified email, a password); Dan (a customer with no sign-in); Eve (a password,
    but her email is only claimed, not verified). Mail goes out by real SMTP."""
    container.senders.mailer = SmtpMailer(SmtpConfig(host=smtp_server.host, port=smtp_server.port))
    cara = make_customer(container, "Cara Customer", email=CARA, verified=True)
    make_customer(container, "Dan NoLogin", email="dan@example.com", verified=True)
    eve = make_customer(container, "Eve Claimed", email="eve@example.com", verified=False)
    with container.uow() as uow:
        ids = {
            name: auth.create_principal(
                uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=cid, password=PASSWORD)
            ).id
            for name, cid in (("cara", cara), ("eve", eve))
        }
    return {**ids, "smtp": smtp_server}


def ask(client: TestClient, email: str) -> Any:
    return client.post(f"{API}/auth/password-reset/request", json={"email": email}, headers=ANON)


def redeem(client: TestClient, email: str, code: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(
        f"{API}/auth/password-reset",
        json={"email": email, "code": code, "new_password": password},
        headers=ANON,
    )


def token(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(
        f"{API}/auth/token", data={"username": username, "password": password}, headers=ANON
    )


def mails_to(smtp: Any, to: str) -> list[Any]:
    return [m for _f, rcpt, m in smtp.received if to in rcpt]


def delivered_code(container: Container, smtp: Any, to: str = CARA) -> str:
    container.relay().run_until_idle()
    mails = mails_to(smtp, to)
    assert mails, f"no email reached {to}"
    found = CODE.search(mails[-1].get_content())
    assert found
    return found.group(1)


def outbox_events(container: Container, event_type: str) -> list[OutboxMessage]:
    with container.read_uow() as uow:
        found = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.type == event_type))
        return list(found)


def codes(container: Container) -> list[PasswordResetCode]:
    with container.read_uow() as uow:
        return list(uow.session.scalars(select(PasswordResetCode).order_by(PasswordResetCode.id)))


def count(container: Container, model: Any) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def invalid(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/invalid-reset-code"), body
    return body


def wrong(code: str) -> str:
    return f"{(int(code) + 7) % 100_000_000:08d}"


def test_an_emailed_code_resets_the_password_once_and_ends_every_session(
    container: Container, client: TestClient, people: dict[str, Any], caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    before = token(client, CARA).json()["access_token"]
    old_session = {"Authorization": f"Bearer {before}", "X-API-Key": ""}
    assert client.get(f"{API}/auth/me", headers=old_session).status_code == 200

    asked = ask(client, CARA)

    assert asked.status_code == 202, asked.text
    # The request only records the ask, with the email's blind index: the relay looks it up.
    assert codes(container) == []
    [ask_event] = outbox_events(container, "omniretail.auth.password_reset_asked")
    assert set(ask_event.data) == {"email_index"} and "cara" not in str(ask_event.data).lower()
    code = delivered_code(container, people["smtp"])
    [row] = codes(container)
    [event] = outbox_events(container, "omniretail.auth.password_reset_code_requested")
    # The code's row id, and the principal the subject names (no code, no address).
    assert set(event.data) == {"code_id", "principal_id"}
    assert event.data["code_id"] == row.id
    assert event.subject == f"auth/principals/{event.data['principal_id']}"
    # Nowhere in clear: not in the answer, the event, the row, the notifications, the log.
    assert code not in asked.text and code not in str(event.data)
    assert row.code_enc is None and row.sent_at is not None
    assert code not in row.code_hash and len(row.code_hash) > 60
    with container.read_uow() as uow:
        for table in ("password_reset_codes", "outbox", "notifications"):
            raw = uow.session.execute(text(f"SELECT * FROM {table}")).all()
            assert code not in repr(raw), table
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours and not [m for m in ours if code in m]

    for weak in ("short", "password1234"):  # the password policy applies...
        refused = redeem(client, CARA, code, weak)
        assert refused.status_code == 422
        assert refused.json()["type"].endswith("/weak-password")
    done = redeem(client, CARA, f" {code} ")  # ...and a refused password spends no code

    assert done.status_code == 200, done.text
    assert client.get(f"{API}/auth/me", headers=old_session).status_code == 401
    fresh = {"Authorization": f"Bearer {done.json()['access_token']}", "X-API-Key": ""}
    assert client.get(f"{API}/auth/me", headers=fresh).json()["id"] == people["cara"]
    assert token(client, CARA).status_code == 401
    assert token(client, CARA, NEW_PASSWORD).status_code == 200
    [row] = codes(container)
    assert (row.status, row.used_at is not None) == ("used", True)
    with container.read_uow() as uow:
        audit = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "POST /auth/password-reset")
        ).all()
    assert [a.subject for a in audit] == [f"/auth/principals/{people['cara']}"]
    # single use
    invalid(redeem(client, CARA, code, "another new passphrase"))
    assert token(client, CARA, NEW_PASSWORD).status_code == 200


def test_every_email_gets_the_same_answer_and_only_an_account_gets_a_code(
    container: Container, client: TestClient, people: dict[str, Any]
) -> None:
    emails = [CARA, "nobody@example.com", "dan@example.com", "eve@example.com", "CARA@example.com"]
    throttles = count(container, SignInThrottle)

    answers = [ask(client, email) for email in emails]

    assert {(a.status_code, a.text) for a in answers} == {(202, answers[0].text)}
    # every request was counted (one row per email, one for the client address)...
    assert count(container, SignInThrottle) - throttles == 5
    # ...each the same way: one ask for the relay, none looked up in the request
    assert len(outbox_events(container, "omniretail.auth.password_reset_asked")) == 5
    assert codes(container) == []
    container.relay().run_until_idle()
    # only Cara's verified email with a sign-in got codes (the second one replaces the first)
    assert [c.status for c in codes(container)] == ["superseded", "pending"]
    recipients = sorted(r for _f, rcpt, _m in people["smtp"].received for r in rcpt)
    assert recipients == [CARA]
    # redeeming for an email without an account answers as a wrong code does
    nobody = invalid(redeem(client, "nobody@example.com", "12345678"))
    assert nobody == invalid(redeem(client, CARA, "12345678"))
    # the token form still works for admins' tokens and both together are refused
    both = client.post(
        f"{API}/auth/password-reset",
        json={"token": "x", "email": CARA, "code": "1", "new_password": NEW_PASSWORD},
        headers=ANON,
    )
    assert both.status_code == 422
    assert both.json()["type"].endswith("/validation-error")


def test_a_request_does_the_same_work_for_an_email_with_an_account_and_one_without(
    container: Container, client: TestClient, people: dict[str, Any]
) -> None:
    """Looked up in the request, an account's email ran 13 statements against 6 and answered
    a few milliseconds later: an oracle for which emails have accounts."""
    ask(client, "warm@example.com")  # the client address's counter exists from now on
    sent = {}
    for email in (CARA, "nobody@example.com", "dan@example.com"):
        before = container.counter.value
        assert ask(client, email).status_code == 202
        sent[email] = container.counter.value - before
    assert len(set(sent.values())) == 1, sent
    assert codes(container) == []
    container.relay().run_until_idle()
    assert [c.principal_id for c in codes(container)] == [people["cara"]]


def test_an_expired_code_does_not_reset(
    container: Container, client: TestClient, people: dict[str, Any], clock: Any
) -> None:
    ask(client, CARA)
    code = delivered_code(container, people["smtp"])
    clock.advance(minutes=31)

    invalid(redeem(client, CARA, code))

    assert codes(container)[0].status == "expired"
    assert token(client, CARA).status_code == 200


def test_five_wrong_codes_lock_the_code(
    container: Container, client: TestClient, people: dict[str, Any]
) -> None:
    ask(client, CARA)
    code = delivered_code(container, people["smtp"])

    for _ in range(5):
        invalid(redeem(client, CARA, wrong(code)))

    [row] = codes(container)
    assert (row.status, row.attempts) == ("locked", 5)
    invalid(redeem(client, CARA, code))
    assert token(client, CARA).status_code == 200
    # a new code works
    ask(client, CARA)
    assert redeem(client, CARA, delivered_code(container, people["smtp"])).status_code == 200


def test_requests_are_limited_per_email_and_per_client_with_retry_after(
    container: Container, client: TestClient, people: dict[str, Any], clock: Any
) -> None:
    for email in (CARA, "nobody@example.com"):  # the same for an unknown email
        assert [ask(client, email).status_code for _ in range(3)] == [202] * 3
        refused = ask(client, email)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.headers["Retry-After"] == "900"
        assert refused.json()["retry_after"] == 900
    container.relay().run_until_idle()
    assert len(codes(container)) == 3
    assert len(mails_to(people["smtp"], CARA)) == 1  # superseded codes are not sent
    clock.advance(seconds=901)
    assert ask(client, CARA).status_code == 202
    # per client address: 20 requests in a window, whatever the emails
    clock.advance(hours=3)
    answers = [ask(client, f"user{i}@example.com").status_code for i in range(21)]
    assert answers == [202] * 20 + [429]


def test_the_console_forms_reset_the_password(
    container: Container, client: TestClient, people: dict[str, Any]
) -> None:
    web = client
    web.headers.pop("X-API-Key", None)
    signin = web.get("/signin")
    assert 'href="/signin/forgot"' in signin.text
    forgot = web.get("/signin/forgot")
    assert forgot.status_code == 200
    standalone = web.get("/signin/reset")
    assert standalone.status_code == 200 and 'name="code"' in standalone.text
    for page in (signin.text, forgot.text, standalone.text):
        assert "<script>" not in page and "style=" not in page  # strict CSP
    # without the form's CSRF token nothing happens
    stale = web.post("/signin/forgot", data={"email": CARA, "csrf_token": "forged"})
    assert stale.status_code == 403
    assert codes(container) == []

    sent = web.post("/signin/forgot", data={"email": CARA, "csrf_token": csrf_of(forgot.text)})

    assert sent.status_code == 200, sent.text
    assert 'action="/signin/reset"' in sent.text and "on its way" in sent.text
    code = delivered_code(container, people["smtp"])
    assert code not in sent.text
    form = {"email": CARA, "code": wrong(code), "new_password": NEW_PASSWORD}
    form |= {"confirm_password": NEW_PASSWORD, "csrf_token": csrf_of(sent.text)}
    refused = web.post("/signin/reset", data=form)
    assert refused.status_code == 422 and "wrong" in refused.text
    forged = web.post("/signin/reset", data={**form, "code": code, "csrf_token": "x"})
    assert forged.status_code == 403
    done = web.post("/signin/reset", data={**form, "code": code}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/signin?notice=")
    assert token(client, CARA, NEW_PASSWORD).status_code == 200
    assert codes(container)[0].status == "used"
