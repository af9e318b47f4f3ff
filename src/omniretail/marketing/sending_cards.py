"""Cards: the inbox, store and receipt renditions of sent messages (``marketing_cards``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault
from omniretail.marketing.errors import UnknownCard
from omniretail.marketing.schemas import CardRead
from omniretail.marketing.sending_models import Card

SEALED = ("title", "body", "link")


def sealed_card(vault: PiiVault, row: dict[str, Any]) -> dict[str, Any]:
    """The row with its rendition encrypted (it names the person)."""
    return {**row, **{c: vault.encrypt(f"marketing_card_{c}", row[c]) for c in SEALED}}


def card_read(vault: PiiVault, card: Card) -> CardRead:
    read = CardRead.model_validate(card)
    return read.model_copy(
        update={c: vault.decrypt(f"marketing_card_{c}", getattr(read, c)) for c in SEALED}
    )


def cards(
    uow: UnitOfWork, customer_id: int, placement: str, *, include_dismissed: bool = False
) -> list[CardRead]:
    """A customer's cards for one placement, newest first."""
    q = select(Card).where(Card.customer_id == customer_id, Card.placement == placement)
    if not include_dismissed:
        q = q.where(Card.dismissed_at.is_(None))
    rows = uow.session.scalars(q.order_by(Card.id.desc()))
    return [card_read(uow.vault, c) for c in rows]


def _own(uow: UnitOfWork, customer_id: int, card_id: int) -> Card:
    card = uow.session.get(Card, card_id)
    if card is None or card.customer_id != customer_id:
        raise UnknownCard(f"no card {card_id}", field="id")
    return card


def mark_seen(uow: UnitOfWork, customer_id: int, card_id: int) -> CardRead:
    card = _own(uow, customer_id, card_id)
    card.seen_at = card.seen_at or uow.now
    uow.session.flush()
    return card_read(uow.vault, card)


def dismiss(uow: UnitOfWork, customer_id: int, card_id: int) -> CardRead:
    """The card leaves the inbox or the associate's screen; a receipt line is printed once."""
    card = _own(uow, customer_id, card_id)
    card.seen_at = card.seen_at or uow.now
    card.dismissed_at = card.dismissed_at or uow.now
    uow.session.flush()
    return card_read(uow.vault, card)


def take_receipt_lines(uow: UnitOfWork, customer_id: int) -> list[str]:
    """The lines to print on this customer's next receipt; each is printed once."""
    lines = cards(uow, customer_id, "receipt")
    for line in lines:
        dismiss(uow, customer_id, line.id)
    return [line.body for line in reversed(lines)]
