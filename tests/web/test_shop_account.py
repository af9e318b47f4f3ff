"""The customer's own shop pages: sign-up with the emailed code (no enumeration), sign-in,
reset, address and my store, cancelling, and erasure (held, then done)."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from omniretail.auth.models import AuditEntry, Principal
from omniretail.bootstrap import Container
from omniretail.customers import service as customers
from omniretail.customers.models import Customer, Identity
from omniretail.kernel.vault import vault_for
from omniretail.messaging.mail import RecordingMailer
from omniretail.orders import service as lookup
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import CUSTOMER_EMAIL, Seeded

NEW = "grace@example.com"
PASSWORD = "analytical engine 1843"
SIX = re.compile(r"\b(\d{6})\b")
EIGHT = re.compile(r"\b(\d{8})\b")


@pytest.fixture
def mailer(container: Container) -> RecordingMailer:
    recording = RecordingMailer()
    container.senders.mailer = recording
    return recording


def mails_to(container: Container, mailer: RecordingMailer, to: str) -> list[str]:
    container.relay().run_until_idle()
    return [m.subject + "\n" + m.text for m in mailer.sent if m.to == to]


def sign_up(web: TestClient, email: str = NEW, password: str = PASSWORD) -> object:
    page = web.get("/signup")
    assert page.status_code == 200
    form = {"email": email, "name": "Grace Hopper", "password": password}
    form |= {"confirm_password": password, "csrf_token": csrf_of(page.text)}
    return web.post("/signup", data=form)


def enter_code(web: TestClient, code: str) -> object:
    token = csrf_of(web.get("/signup/code").text)
    return web.post("/signup/code", data={"code": code, "csrf_token": token})


def principals(container: Container) -> list[Principal]:
    with container.read_uow() as uow:
        return list(uow.session.scalars(select(Principal).order_by(Principal.id)))


def test_sign_up_verify_sign_out_and_in(
    container: Container, web: TestClient, mailer: RecordingMailer, seeded: Seeded
) -> None:
    before = len(principals(container))
    sent = sign_up(web)
    assert sent.status_code == 200, sent.text
    assert "Check your email" in sent.text and NEW in sent.text
    created = principals(container)[before:]
    assert len(created) == 1 and not created[0].active and created[0].role == "customer"
    # not signed in yet, and the disabled sign-in does not sign in
    assert web.get("/account").status_code == 303
    page = web.get("/signin")
    refused = web.post(
        "/signin", data={"username": NEW, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 401

    mails = mails_to(container, mailer, NEW)
    assert len(mails) == 1 and "verification code" in mails[0]
    code = SIX.search(mails[0])
    assert code is not None
    wrong = enter_code(web, "000000" if code.group(1) != "000000" else "111111")
    assert wrong.status_code == 422 and "wrong" in wrong.text
    done = enter_code(web, code.group(1))
    assert done.status_code == 303 and done.headers["location"].startswith("/account")
    account = web.get("/account")
    assert account.status_code == 200 and "Grace Hopper" in account.text
    assert "No orders yet." in account.text and 'id="points"' in account.text
    # the header names the account, not the sign-in's internal name
    assert 'href="/account" aria-current="page">My account</a>' in account.text
    assert f"customer-{created[0].customer_id}" not in account.text
    with container.read_uow() as uow:
        row = uow.session.get(Principal, created[0].id)
        assert row is not None and row.active
        ident = uow.session.scalars(
            select(Identity).where(Identity.customer_id == row.customer_id)
        ).one()
        assert ident.verified and ident.verified_via == "code"
        assert NEW not in (ident.value_enc or "")  # encrypted at rest
        audit = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "POST /console/sign-up")
        ).all()
        assert len(audit) == 1

    token = csrf_of(account.text)
    out = web.post("/signout", data={"csrf_token": token})
    assert out.status_code == 303
    assert web.get("/account").status_code == 303
    assert sign_in(web, NEW, PASSWORD) == "/account"


def test_sign_up_answers_the_same_for_an_existing_account(
    container: Container, web: TestClient, mailer: RecordingMailer, seeded: Seeded
) -> None:
    before = principals(container)
    with container.read_uow() as uow:
        customers_before = len(uow.session.scalars(select(Customer)).all())
    fresh = sign_up(web, email="someone.new@example.com")
    web.cookies.clear()
    taken = sign_up(web, email=CUSTOMER_EMAIL, password="a different pass phrase")

    def shown(html: str, email: str) -> str:
        return re.sub(r'value="[^"]*"', "", html).replace(email, "EMAIL")

    assert taken.status_code == fresh.status_code == 200
    assert shown(taken.text, CUSTOMER_EMAIL) == shown(fresh.text, "someone.new@example.com")
    # nothing attached to Ada's profile; one profile and one disabled sign-in for the new one
    after = principals(container)
    assert len(after) == len(before) + 1 and not after[-1].active
    with container.read_uow() as uow:
        assert len(uow.session.scalars(select(Customer)).all()) == customers_before + 1
    # Ada is told, with no code; her password is unchanged and the code page refuses
    notice = [m for m in mails_to(container, mailer, CUSTOMER_EMAIL) if "account" in m[:60]]
    assert len(notice) == 1 and "already have" in notice[0] and not SIX.search(notice[0])
    refused = enter_code(web, "123456")
    assert refused.status_code == 422 and "wrong" in refused.text
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"


def test_sign_up_answers_no_sooner_than_its_floor_for_either_email(
    container: Container, web: TestClient, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new email's profile, sign-in and code took ~15 ms longer to make than an existing
    account's notice: the answer's time told which emails have accounts."""
    monkeypatch.setattr(container.settings, "sign_up_answer_seconds", 0.6)
    for email in ("someone.new@example.com", CUSTOMER_EMAIL):
        web.cookies.clear()
        began = time.monotonic()
        answer = sign_up(web, email=email, password="a different pass phrase")
        assert answer.status_code == 200
        assert time.monotonic() - began >= 0.6
        # a new code, and a wrong one, take as long for the decoy as for a real sign-up
        token = csrf_of(web.get("/signup/code").text)
        began = time.monotonic()
        assert web.post("/signup/resend", data={"csrf_token": token}).status_code == 200
        assert time.monotonic() - began >= 0.6
        began = time.monotonic()
        assert enter_code(web, "123456").status_code == 422
        assert time.monotonic() - began >= 0.6


def test_the_pending_sign_up_cookie_tells_nothing_about_the_email(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    """It was signed only: ``0.0.<digest>.<mac>`` for an email with an account (a decoy),
    ``<customer id>.<identity id>...`` for a new one."""
    sealed = {}
    for email in ("someone.new@example.com", CUSTOMER_EMAIL):
        web.cookies.clear()
        assert sign_up(web, email=email, password="a different pass phrase").status_code == 200
        sealed[email] = web.cookies["omniretail_sign_up"]
    fresh, taken = sealed["someone.new@example.com"], sealed[CUSTOMER_EMAIL]
    assert len(fresh) == len(taken)
    [new_one] = [p for p in principals(container) if not p.active]
    assert not fresh.startswith((f"{new_one.customer_id}.", "0.")) and not taken.startswith("0.")
    # The new one's cookie still opens its code page; a tampered one is a decoy's.
    web.cookies.clear()
    web.cookies.set("omniretail_sign_up", fresh[:-2] + ("AA" if fresh[-2:] != "AA" else "BB"))
    assert "wrong" in enter_code(web, "123456").text


def test_sign_up_refuses_a_weak_password_and_is_throttled(
    container: Container, web: TestClient, mailer: RecordingMailer, seeded: Seeded
) -> None:
    weak = sign_up(web, password="password1234")
    assert weak.status_code == 422 and "too easy" in weak.text
    limit = container.settings.reset_requests_per_window
    answers = [sign_up(web, email="again@example.com").status_code for _ in range(limit + 1)]
    assert answers[:limit] == [200] * limit and answers[-1] == 429
    # codes are limited per identity too (CodePolicy): no more mails than the limit allows
    assert len(mails_to(container, mailer, "again@example.com")) <= limit


def test_sign_up_refuses_a_list_of_emails_and_mails_nobody(
    container: Container, web: TestClient, mailer: RecordingMailer, seeded: Seeded
) -> None:
    """``me@x.test,victim@y.test`` has no space: the code would go to both, and the profile
    would keep a verified email that mails a stranger."""
    before = len(principals(container))
    for listed in ("mal@example.com,victim@example.org", "mal@example.com;victim@example.org"):
        refused = sign_up(web, email=listed)
        assert refused.status_code == 422 and "like name@example.com" in refused.text
    container.relay().run_until_idle()
    assert not [m for m in mailer.sent if "victim" in m.to]
    assert len(principals(container)) == before


def test_a_signed_up_customer_resets_a_forgotten_password(
    container: Container, web: TestClient, mailer: RecordingMailer, seeded: Seeded
) -> None:
    sign_up(web)
    code = SIX.search(mails_to(container, mailer, NEW)[0])
    assert code is not None
    assert enter_code(web, code.group(1)).status_code == 303
    web.cookies.clear()
    forgot = web.get("/signin/forgot")
    asked = web.post("/signin/forgot", data={"email": NEW, "csrf_token": csrf_of(forgot.text)})
    assert asked.status_code == 200 and "on its way" in asked.text
    reset_mail = mails_to(container, mailer, NEW)[-1]
    reset_code = EIGHT.search(reset_mail)
    assert "password reset code" in reset_mail and reset_code is not None
    new = "a newer pass phrase 2026"
    form = {"email": NEW, "code": reset_code.group(1), "new_password": new}
    form |= {"confirm_password": new, "csrf_token": csrf_of(asked.text)}
    done = web.post("/signin/reset", data=form)
    assert done.status_code == 303, done.text
    assert sign_in(web, NEW, new) == "/account"


def test_address_and_my_store(container: Container, web: TestClient, seeded: Seeded) -> None:
    sign_in(web, CUSTOMER_EMAIL)
    page = web.get("/account/details")
    assert page.status_code == 200 and "London Oxford St" in page.text
    found = web.get("/account/details?q=manchester", headers={"HX-Request": "true"})
    assert "Manchester" in found.text and "Camden" not in found.text
    token = csrf_of(page.text)
    bad = {"line1": "1 Infinite Loop", "city": "London", "postcode": "NOPE", "country": "UK"}
    refused = web.post("/account/details/address", data={**bad, "csrf_token": token})
    assert refused.status_code == 422 and "UK postcode" in refused.text
    good = {**bad, "postcode": "nw1 6xe", "country": "United Kingdom"}
    saved = web.post("/account/details/address", data={**good, "csrf_token": token})
    assert saved.status_code == 303
    unknown = web.post("/account/details/store", data={"store": "DC1", "csrf_token": token})
    assert unknown.status_code == 422  # a warehouse is not a store to choose
    chosen = web.post("/account/details/store", data={"store": "man1", "csrf_token": token})
    assert chosen.status_code == 303
    vault = vault_for(container.keyring)
    with container.read_uow() as uow:
        profile = customers.get_customer(uow, seeded.customer_id, vault=vault)
        row = uow.session.get(Customer, seeded.customer_id)
    assert profile.home_store == "MAN1"
    assert profile.address is not None and profile.address.postcode == "NW1 6XE"
    assert row is not None and "NW1" not in (row.address_enc or "")  # encrypted at rest
    assert "Manchester" in web.get("/account/details").text
    assert "My store: <strong>Manchester</strong>" in web.get("/account").text


def test_a_pickup_order_names_its_store_not_its_code(web: TestClient, seeded: Seeded) -> None:
    sign_in(web, CUSTOMER_EMAIL)

    page = web.get(f"/account/orders/{seeded.pickup_order}").text

    assert " at London Oxford St</h2>" in page
    assert " at LON1" not in page


def test_cancel_an_order_that_has_not_shipped(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    sign_in(web, CUSTOMER_EMAIL)
    page = web.get(f"/account/orders/{seeded.home_order}")
    assert page.status_code == 200 and "Order placed" in page.text and "Cancel" in page.text
    done = web.post(
        f"/account/orders/{seeded.home_order}/cancel", data={"csrf_token": csrf_of(page.text)}
    )
    assert done.status_code == 303
    with container.read_uow() as uow:
        assert lookup.get_order(uow, seeded.home_order).status == "cancelled"
    again = web.post(
        f"/account/orders/{seeded.home_order}/cancel", data={"csrf_token": csrf_of(page.text)}
    )
    assert again.status_code == 409 and "can be cancelled" in again.text
    # someone else's order, or one that does not exist, is not found
    assert web.get("/account/orders/NOPE-1").status_code == 404


def test_another_customer_cannot_cancel_my_order(
    container: Container, web: TestClient, mailer: RecordingMailer, seeded: Seeded
) -> None:
    sign_up(web)
    code = SIX.search(mails_to(container, mailer, NEW)[0])
    assert code is not None
    enter_code(web, code.group(1))
    page = web.get("/account")
    refused = web.post(
        f"/account/orders/{seeded.home_order}/cancel", data={"csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 404
    with container.read_uow() as uow:
        assert lookup.get_order(uow, seeded.home_order).status != "cancelled"


def test_erasure_is_held_while_an_order_is_open_then_done(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    sign_in(web, CUSTOMER_EMAIL)
    page = web.get("/account/privacy")
    assert seeded.home_order in page.text and 'id="erase-held"' in page.text
    assert "Your request is held" not in page.text  # nothing was asked yet: "Not yet: ..."
    assert "Not yet: orders " in page.text and "Once they are delivered" in page.text
    assert "<title>Privacy · Omniretail</title>" in page.text
    assert page.text.count('id="erase-h"') == 1  # the erase form once, in the page's body
    token = csrf_of(page.text)
    unconfirmed = web.post("/account/privacy/erase", data={"confirm": "", "csrf_token": token})
    assert unconfirmed.status_code == 422 and "Type ERASE" in unconfirmed.text
    held = web.post("/account/privacy/erase", data={"confirm": "erase", "csrf_token": token})
    assert held.status_code == 409 and "still open" in held.text
    with container.read_uow() as uow:
        row = uow.session.get(Customer, seeded.customer_id)
        assert row is not None and row.status == "active" and row.name_enc

    for number in (seeded.home_order, seeded.pickup_order):
        order_page = web.get(f"/account/orders/{number}")
        web.post(f"/account/orders/{number}/cancel", data={"csrf_token": csrf_of(order_page.text)})
    page = web.get("/account/privacy")
    assert 'id="erase-held"' not in page.text
    done = web.post(
        "/account/privacy/erase", data={"confirm": "ERASE", "csrf_token": csrf_of(page.text)}
    )
    assert done.status_code == 303 and "erased" in done.headers["location"]
    with container.read_uow() as uow:
        row = uow.session.get(Customer, seeded.customer_id)
        assert row is not None and row.status == "erased" and row.name_enc is None
        assert (
            uow.session.scalars(
                select(Principal).where(Principal.customer_id == seeded.customer_id)
            ).all()
            == []
        )
    assert web.get("/account").status_code == 303  # signed out, and cannot sign in again
    page = web.get("/signin")
    again = web.post(
        "/signin",
        data={"username": CUSTOMER_EMAIL, "password": "x" * 12, "csrf_token": csrf_of(page.text)},
    )
    assert again.status_code == 401


def test_the_api_decides_the_same_for_a_customer(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    """Cancelling their own order and erasing their own data, never another customer's."""
    from omniretail.auth import service as auth
    from omniretail.auth.models import Role
    from omniretail.auth.schemas import PrincipalCreate
    from tests.customers.helpers import make_customer
    from tests.web.seed import PASSWORD as SEED_PASSWORD

    other = make_customer(container, "Olive Other", email="olive@example.com", verified=True)
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=other, password=PASSWORD)
        )

    def bearer(email: str, password: str) -> dict[str, str]:
        r = web.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    olive, ada = bearer("olive@example.com", PASSWORD), bearer(CUSTOMER_EMAIL, SEED_PASSWORD)
    cancel = f"/api/v1/orders/{seeded.home_order}/cancel"
    # another customer's order answers as an unknown one (no way to learn which numbers exist)
    assert web.post(cancel, json={}, headers=olive).status_code == 404
    assert (
        web.post(f"/api/v1/customers/{seeded.customer_id}/erase", headers=olive).status_code == 403
    )
    held = web.post(f"/api/v1/customers/{seeded.customer_id}/erase", headers=ada)
    assert held.status_code == 409 and held.json()["type"].endswith("erasure-held")
    assert web.post(cancel, json={}, headers=ada).status_code == 200
    with container.read_uow() as uow:
        assert lookup.get_order(uow, seeded.home_order).status == "cancelled"
        row = uow.session.get(Customer, seeded.customer_id)
        assert row is not None and row.status == "active"


def test_the_shop_header_links_to_the_account_once(web: TestClient) -> None:
    sign_in(web, CUSTOMER_EMAIL)

    page = web.get("/account").text

    assert page.count('href="/account"') == 1, page
