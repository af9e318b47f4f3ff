"""Sign-up leftovers: a merged profile signs in with its active sign-in (not a disabled one it
absorbed), sign-ups never verified are swept after ``sign_up_unverified_days``, and asking
for a new code is limited the same way whether the sign-up is real or a decoy."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from omniretail.app import sweep_sign_ups
from omniretail.auth import service as auth
from omniretail.auth.models import Principal, Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.customers import service as customers
from omniretail.customers.models import Customer, VerifiedVia
from omniretail.customers.schemas import CustomerCreate, IdentityCreate, IdentityKind
from omniretail.kernel.vault import vault_for
from omniretail.messaging.mail import RecordingMailer
from tests.conftest import FixedClock
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import CUSTOMER_EMAIL, PASSWORD, Seeded
from tests.web.test_shop_account import SIX, enter_code, mails_to, sign_up

PENDING = "pending.person@example.com"


@pytest.fixture
def mailer(container: Container) -> RecordingMailer:
    recording = RecordingMailer()
    container.senders.mailer = recording
    return recording


def principal_of(container: Container, customer_id: int) -> Principal | None:
    with container.read_uow() as uow:
        return uow.session.scalars(
            select(Principal).where(Principal.customer_id == customer_id)
        ).first()


def signed_up_profile(container: Container) -> int:
    with container.read_uow() as uow:
        newest = uow.session.scalars(select(Principal).order_by(Principal.id.desc())).first()
        assert newest is not None and not newest.active and newest.customer_id is not None
        return newest.customer_id


def customer_with_sign_in(container: Container, email: str) -> int:
    vault = vault_for(container.keyring)
    with container.uow() as uow:
        created = customers.create_customer(uow, CustomerCreate(name="Kay"), vault=vault, actor="t")
        cid = created.customer.id
        customers.add_verified_identity(
            uow,
            cid,
            IdentityCreate(kind=IdentityKind.EMAIL, value=email),
            via=VerifiedVia.LOGIN.value,
            reference="test",
            vault=vault,
            actor="system:test",
        )
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=cid, password=PASSWORD)
        )
        return cid


def test_a_merged_profile_signs_in_with_its_active_sign_in(
    container: Container, web: TestClient, mailer: RecordingMailer, seeded: Seeded
) -> None:
    # an unverified sign-up (lower principal id), then a customer who really signs in
    assert sign_up(web, email=PENDING).status_code == 200
    stale = signed_up_profile(container)
    web.cookies.clear()
    kay = customer_with_sign_in(container, "kay@example.com")
    with container.uow() as uow:  # an agent merges the two profiles
        customers.merge_customers(uow, kay, stale, rule="manual", reason="same", actor="agent")
    assert sign_in(web, "kay@example.com") == "/account"


def test_sign_ups_never_verified_are_swept_after_the_configured_age(
    container: Container,
    web: TestClient,
    mailer: RecordingMailer,
    seeded: Seeded,
    clock: FixedClock,
) -> None:
    days = container.settings.sign_up_unverified_days
    assert sign_up(web, email=PENDING).status_code == 200
    stale = signed_up_profile(container)
    web.cookies.clear()
    assert sign_up(web, email="merged.later@example.com").status_code == 200
    merged = signed_up_profile(container)
    web.cookies.clear()
    assert sign_up(web, email="verified@example.com").status_code == 200
    code = SIX.search(mails_to(container, mailer, "verified@example.com")[0])
    assert code is not None and enter_code(web, code.group(1)).status_code == 303
    verified = signed_up_profile_active(container, "verified@example.com")
    kay = customer_with_sign_in(container, "kay@example.com")
    with container.uow() as uow:
        customers.merge_customers(uow, kay, merged, rule="manual", reason="same", actor="agent")

    clock.advance(days=days, seconds=-60)
    assert sweep_sign_ups(container).sign_ins_deleted == 0  # not old enough yet
    assert principal_of(container, stale) is not None

    clock.advance(seconds=120)
    report = sweep_sign_ups(container)
    assert (report.sign_ins_deleted, report.profiles_erased) == (2, 1)
    assert principal_of(container, stale) is None and principal_of(container, merged) is None
    with container.read_uow() as uow:
        assert uow.session.get(Customer, stale).status == "erased"
        assert uow.session.get(Customer, merged).status == "merged"  # Kay's, kept
    assert sign_in(web, "kay@example.com") == "/account"
    assert principal_of(container, verified) is not None
    assert principal_of(container, seeded.customer_id) is not None  # Ada, never a sign-up
    assert sweep_sign_ups(container).sign_ins_deleted == 0


def signed_up_profile_active(container: Container, email: str) -> int:
    with container.read_uow() as uow:
        found = customers.find_customer(
            uow, IdentityKind.EMAIL, email, vault=vault_for(container.keyring)
        )
    principal = principal_of(container, found)
    assert principal is not None and principal.active
    return found


def resend(web: TestClient) -> int:
    token = csrf_of(web.get("/signup/code").text)
    return web.post("/signup/resend", data={"csrf_token": token}).status_code


def test_resending_a_code_is_limited_alike_for_a_real_sign_up_and_a_decoy(
    container: Container, app_client_pair: tuple[TestClient, TestClient], mailer: RecordingMailer
) -> None:
    real, decoy = app_client_pair
    assert sign_up(real, email=PENDING).status_code == 200
    assert sign_up(decoy, email=CUSTOMER_EMAIL).status_code == 200  # Ada already signs in
    container.relay().run_until_idle()
    allowed = container.settings.identity_code_sends_per_window  # the sign-up's code counts
    real_answers, decoy_answers = [], []
    for _ in range(allowed + 1):
        real_answers.append(resend(real))
        container.relay().run_until_idle()  # each code sent before the next supersedes it
        decoy_answers.append(resend(decoy))
    assert real_answers == decoy_answers == [200] * (allowed - 1) + [429] * 2
    codes = [m for m in mails_to(container, mailer, PENDING) if SIX.search(m)]
    assert len(codes) == allowed


@pytest.fixture
def app_client_pair(
    web: TestClient, container: Container, seeded: Seeded
) -> tuple[TestClient, TestClient]:
    other = TestClient(web.app, follow_redirects=False)
    return web, other
