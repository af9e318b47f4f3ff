"""What auth needs to know about a cart: whose it is and the channel it is on."""

from __future__ import annotations

from dataclasses import dataclass

from omniretail.carts import repository as repo
from omniretail.carts.models import CartStatus
from omniretail.db.uow import UnitOfWork


@dataclass(frozen=True)
class CartOwner:
    customer_id: int | None  # None: an anonymous cart, used by whoever holds its token
    channel: str | None = None  # the channel it was last used on
    active: bool = True  # False: checked out or merged (its routes answer 409)


def cart_owner(uow: UnitOfWork, token: str) -> CartOwner | None:
    """Whose the cart with ``token`` is and its channel (None: no such cart); one look-up by
    the unique token."""
    row = repo.cart_owner(uow.session, token)
    return (
        None
        if row is None
        else CartOwner(row.customer_id, row.channel_code, row.status == CartStatus.ACTIVE.value)
    )
