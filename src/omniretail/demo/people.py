"""The demo's people: a sign-in for each role, and one customer who shopped online and in a
store, shown as one profile with one points balance (a verified email at the till merges the
store's profile into the web one).

Every demo account gets its own random password when it is created, shown once (only an
Argon2 hash is stored); each person changes it like anyone else. ``new_passwords`` gives the
demo accounts fresh ones (``omniretail demo --new-passwords``), for a lost first print-out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from omniretail.auth import service
from omniretail.auth.schemas import PrincipalCreate
from omniretail.auth.service import Role
from omniretail.customers import service as customers
from omniretail.customers.errors import UnknownCustomer
from omniretail.customers.schemas import CustomerCreate, IdentityCreate, IdentityKind, OrderActivity
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import AccountRead, OrderEarn, OrderLineEarn

CUSTOMER_EMAIL = "ada.demo@example.com"
STAFF_USERNAMES = ("associate", "associate2", "agent", "marketer", "admin")


@dataclass(frozen=True)
class DemoPeople:
    # role, username, password: None when the account existed before this run (its password
    # was shown when it was made)
    sign_ins: list[tuple[str, str, str | None]]
    customer_id: int
    account: AccountRead


def new_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 random bits


def set_up_people(
    uow: UnitOfWork, *, vault: PiiVault, store_code: str, other_store_code: str | None = None
) -> DemoPeople:
    """Idempotent: a second run finds everyone and changes nothing. ``associate`` works at
    ``store_code`` (where the demo pickup waits), ``associate2`` at ``other_store_code`` (where
    the tour returns it)."""
    customer_id = _omnichannel_customer(uow, vault, store_code)
    staff = [
        (Role.STORE_ASSOCIATE, "associate", store_code),
        (Role.STORE_ASSOCIATE, "associate2", other_store_code),
        (Role.SERVICE_AGENT, "agent", None),
        (Role.MARKETER, "marketer", None),
        (Role.ADMIN, "admin", None),
    ]
    if other_store_code is None:
        staff = [row for row in staff if row[1] != "associate2"]
    sign_ins: list[tuple[str, str, str | None]] = []
    for role, username, store in staff:
        password = None
        if service.principal_by_username(uow, username) is None:
            password = new_password()
            service.create_principal(
                uow,
                PrincipalCreate(username=username, role=role, password=password, store_code=store),
            )
        sign_ins.append((role.value, username, password))
    password = None
    if service.principal_of_customer(uow, [customer_id]) is None:
        password = new_password()
        service.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=customer_id, password=password)
        )
    sign_ins.append((Role.CUSTOMER.value, CUSTOMER_EMAIL, password))
    return DemoPeople(sign_ins, customer_id, loyalty.account_status(uow, customer_id))


def staff_store(uow: UnitOfWork, username: str) -> str | None:
    """The store a demo associate works at (None before the demo made them)."""
    principal = service.principal_by_username(uow, username)
    return principal.store_code if principal is not None else None


def new_passwords(uow: UnitOfWork, *, vault: PiiVault) -> list[tuple[str, str, str]]:
    """Fresh random passwords for the demo accounts that exist (every earlier session of
    theirs ends): (role, username, password)."""
    found: list[tuple[str, str, int]] = []
    for username in STAFF_USERNAMES:
        principal = service.principal_by_username(uow, username)
        if principal is not None:
            found.append((principal.role.value, username, principal.id))
    try:
        customer_id = customers.find_customer(uow, IdentityKind.EMAIL, CUSTOMER_EMAIL, vault=vault)
    except UnknownCustomer:
        customer_id = None
    if customer_id is not None:
        principal = service.principal_of_customer(uow, customers.cluster(uow, customer_id))
        if principal is not None:
            found.append((principal.role.value, CUSTOMER_EMAIL, principal.id))
    result = []
    for role, username, principal_id in found:
        password = new_password()
        service.set_password(uow, principal_id, password)
        result.append((role, username, password))
    return result


def _omnichannel_customer(uow: UnitOfWork, vault: PiiVault, store_code: str) -> int:
    try:
        return customers.find_customer(uow, IdentityKind.EMAIL, CUSTOMER_EMAIL, vault=vault)
    except UnknownCustomer:
        pass
    # "My store" is the store she shops at, so the shop shows its stock (not the first store's).
    web = customers.create_customer(
        uow, CustomerCreate(name="Ada Demo", home_store=store_code), vault=vault, actor="demo"
    ).customer.id
    # The demo stands in for the platform's code check (no mailbox to read the code from).
    email = IdentityCreate(kind=IdentityKind.EMAIL, value=CUSTOMER_EMAIL)
    customers.add_verified_identity(
        uow,
        web,
        email,
        via="code",
        reference="demo: code confirmed at sign-up",
        vault=vault,
        actor="system:demo",
    )
    store = customers.create_customer(
        uow,
        CustomerCreate(
            name="Ada D.",
            home_store=store_code,
            identities=[IdentityCreate(kind=IdentityKind.POS_CUSTOMER, value="POS-0001")],
        ),
        vault=vault,
        actor="demo",
    ).customer.id
    for customer_id, number, channel, amount, days in [
        (web, "DEMO-WEB-1", "WEB", "64.50", 40),
        (store, "DEMO-POS-1", "POS", "35.00", 35),
    ]:
        placed = uow.now - timedelta(days=days)
        customers.record_order(
            uow,
            OrderActivity(
                customer_id=customer_id,
                number=number,
                channel=channel,
                placed_at=placed,
                total=Decimal(amount),
                lines=1,
            ),
        )
        loyalty.earn_for_order(
            uow,
            OrderEarn(
                customer_id=customer_id,
                order_reference=number,
                channel=channel,
                placed_at=placed,
                lines=[OrderLineEarn(line_id=days, amount=Decimal(amount), quantity=1)],
            ),
            actor="demo",
        )
    loyalty.release_matured_points(uow, actor="demo")
    # At the till the customer gives the email and confirms it with a code: one person.
    customers.add_verified_identity(
        uow,
        store,
        email,
        via="code",
        reference="demo: code confirmed at the till",
        vault=vault,
        actor="system:demo",
    )
    return web
