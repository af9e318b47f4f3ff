"""Builders for customer tests (through the services, never raw inserts)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from omniretail.bootstrap import Container
from omniretail.customers import service
from omniretail.customers.models import IdentityKind
from omniretail.customers.schemas import (
    ConsentWrite,
    CustomerCreate,
    IdentityCreate,
    OrderActivity,
)
from omniretail.customers.service import activity
from omniretail.kernel.vault import PiiVault, vault_for
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import OrderEarn, OrderLineEarn


def vault(container: Container) -> PiiVault:
    return vault_for(container.keyring)


def make_customer(
    container: Container,
    name: str = "Ada Lovelace",
    *,
    email: str | None = None,
    verified: bool = False,
    **extra: Any,
) -> int:
    """``verified``: the email is verified as the platform does it (``add_verified_identity``,
    the trusted in-process path standing in for a code the customer entered)."""
    identities = []
    if email and not verified:
        identities.append(IdentityCreate(kind=IdentityKind.EMAIL, value=email))
    with container.uow() as uow:
        created = service.create_customer(
            uow,
            CustomerCreate(name=name, identities=identities, **extra),
            vault=vault(container),
            actor="test",
        )
        if email and verified:
            service.add_verified_identity(
                uow,
                created.customer.id,
                IdentityCreate(kind=IdentityKind.EMAIL, value=email),
                via="code",
                reference="test",
                vault=vault(container),
                actor="system:test",
            )
        return created.customer.id


def grant(
    container: Container, customer_id: int, purpose: str, channel: str, granted: bool = True
) -> None:
    with container.uow() as uow:
        service.set_consent(
            uow,
            customer_id,
            ConsentWrite(purpose=purpose, channel=channel, granted=granted),  # type: ignore[arg-type]
            actor="test",
        )


def place_order(
    container: Container,
    customer_id: int,
    number: str,
    amount: str,
    *,
    channel: str = "WEB",
    placed_at: datetime | None = None,
    line_id: int | None = None,
    quantity: int = 1,
) -> None:
    """What the orders domain does when an order is placed: the timeline and the points."""
    with container.uow() as uow:
        when = placed_at or uow.now
        activity.record_order(
            uow,
            OrderActivity(
                customer_id=customer_id,
                number=number,
                channel=channel,
                placed_at=when,
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
                placed_at=when,
                lines=[
                    OrderLineEarn(
                        line_id=line_id or abs(hash(number)) % 1_000_000,
                        amount=Decimal(amount),
                        quantity=quantity,
                    )
                ],
            ),
            actor="test",
        )
