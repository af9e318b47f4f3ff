"""The demo's people: a sign-in for each role, and one customer who shopped online and in a
store, shown as one profile with one points balance (a verified email at the till merges the
store's profile into the web one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from omniretail.auth import repository as repo
from omniretail.auth import service
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.customers import activity
from omniretail.customers import service as customers
from omniretail.customers.crypto import PiiVault
from omniretail.customers.errors import UnknownCustomer
from omniretail.customers.models import IdentityKind
from omniretail.customers.schemas import CustomerCreate, IdentityCreate, OrderActivity
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import AccountRead, OrderEarn, OrderLineEarn

PASSWORD = "omniretail-demo"
CUSTOMER_EMAIL = "ada.demo@example.com"


@dataclass(frozen=True)
class DemoPeople:
    sign_ins: list[tuple[str, str, str]]  # role, username, password
    customer_id: int
    account: AccountRead


def set_up_people(uow: UnitOfWork, *, vault: PiiVault, store_code: str) -> DemoPeople:
    """Idempotent: a second run finds everyone and changes nothing."""
    customer_id = _omnichannel_customer(uow, vault, store_code)
    staff = [
        (Role.STORE_ASSOCIATE, "associate", store_code),
        (Role.SERVICE_AGENT, "agent", None),
        (Role.MARKETER, "marketer", None),
        (Role.ADMIN, "admin", None),
    ]
    for role, username, store in staff:
        if repo.by_username(uow.session, username) is None:
            service.create_principal(
                uow,
                PrincipalCreate(username=username, role=role, password=PASSWORD, store_code=store),
            )
    if repo.by_customer(uow.session, [customer_id]) is None:
        service.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=customer_id, password=PASSWORD)
        )
    sign_ins = [(r.value, u, PASSWORD) for r, u, _ in staff]
    sign_ins.append((Role.CUSTOMER.value, CUSTOMER_EMAIL, PASSWORD))
    return DemoPeople(sign_ins, customer_id, loyalty.account_status(uow, customer_id))


def _omnichannel_customer(uow: UnitOfWork, vault: PiiVault, store_code: str) -> int:
    try:
        return customers.find_customer(uow, IdentityKind.EMAIL, CUSTOMER_EMAIL, vault=vault)
    except UnknownCustomer:
        pass
    web = customers.create_customer(
        uow, CustomerCreate(name="Ada Demo"), vault=vault, actor="demo"
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
        activity.record_order(
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
