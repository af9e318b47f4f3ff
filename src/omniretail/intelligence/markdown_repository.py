"""Queries over the markdown tables, and the realised sales a suggestion is compared with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.orm import Session

from omniretail.catalog.models import Product, Sku
from omniretail.db.sql import rowcount
from omniretail.intelligence.models import MarkdownStep, MarkdownSuggestion
from omniretail.orders.models import Fulfilment, Order, OrderLine

S = MarkdownSuggestion


def _listing() -> Any:
    return (
        select(S, Sku.name, Product.category)
        .join(Sku, Sku.code == S.sku_code)
        .outerjoin(Product, Product.code == Sku.product_code)
    )


def delete_open(session: Session) -> int:
    """Drops the suggestions nobody decided on (a new run replaces them)."""
    return rowcount(session.execute(delete(S).where(S.status == "suggested")))


def insert_suggestion(
    session: Session, values: dict[str, Any], steps: Sequence[dict[str, Any]]
) -> int:
    new_id = session.execute(insert(S).values(**values).returning(S.id)).scalar_one()
    if steps:
        session.execute(insert(MarkdownStep), [{**s, "suggestion_id": new_id} for s in steps])
    return int(new_id)


def list_suggestions(
    session: Session,
    *,
    status: str | None,
    location: str | None,
    category: str | None,
    limit: int,
) -> list[Row[Any]]:
    query = _listing()
    if status:
        query = query.where(S.status == status)
    if location:
        query = query.where(S.location_code == location)
    if category:
        query = query.where(Product.category == category)
    return list(session.execute(query.order_by(S.id.desc()).limit(limit)))


def get_suggestion(session: Session, suggestion_id: int) -> Row[Any] | None:
    return session.execute(_listing().where(S.id == suggestion_id)).first()


def list_steps(session: Session, suggestion_id: int) -> list[MarkdownStep]:
    return list(
        session.scalars(
            select(MarkdownStep)
            .where(MarkdownStep.suggestion_id == suggestion_id)
            .order_by(MarkdownStep.step)
        )
    )


def decide_if_open(
    session: Session, suggestion_id: int, status: str, actor: str, at: datetime
) -> bool:
    """Moves a suggestion out of ``suggested`` (conditional: one decision wins)."""
    result = session.execute(
        update(S)
        .where(S.id == suggestion_id, S.status == "suggested")
        .values(status=status, decided_by=actor, decided_at=at)
    )
    return rowcount(result) == 1


def set_step_list(session: Session, suggestion_id: int, step: int, list_code: str) -> None:
    session.execute(
        update(MarkdownStep)
        .where(MarkdownStep.suggestion_id == suggestion_id, MarkdownStep.step == step)
        .values(price_list_code=list_code)
    )


def approved_pairs(session: Session, on: date) -> set[tuple[str, str]]:
    """(sku, location) with an approved ladder still running on ``on``."""
    rows = session.execute(
        select(S.sku_code, S.location_code).where(S.status == "approved", S.clear_by > on)
    )
    return {(sku, location) for sku, location in rows}


def categories(session: Session) -> list[str]:
    rows = session.scalars(
        select(Product.category)
        .join(Sku, Sku.product_code == Product.code)
        .join(S, S.sku_code == Sku.code)
        .where(Product.category.is_not(None))
        .distinct()
        .order_by(Product.category)
    )
    return [c for c in rows if c]


def units_sold(session: Session, sku: str, location: str, since: datetime) -> int:
    """Net units of ``sku`` on orders placed since ``since`` whose line is fulfilled from
    ``location`` (cancellation lines carry negative quantities)."""
    total = session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .join(Fulfilment, Fulfilment.id == OrderLine.fulfilment_id)
        .where(
            OrderLine.sku_code == sku,
            Fulfilment.location_code == location,
            Order.placed_at >= since,
        )
    )
    return int(total or 0)
