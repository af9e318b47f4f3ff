"""Per-customer facts for segment rules (a read model over other domains' tables).

One query per source for a batch of customers (profile, consents, loyalty account, scores,
orders, carts), so a full refresh costs six statements per batch, not per customer. The
variables are documented in ``segments_rules``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, and_, func, select
from sqlalchemy.orm import Session

from omniretail.carts.models import Cart, CartLine
from omniretail.customers.models import Consent, Customer
from omniretail.db.sql import matches, statement
from omniretail.intelligence.models import CustomerScore
from omniretail.kernel.vault import PiiVault
from omniretail.loyalty.models import Account
from omniretail.orders.models import Order

ACTIVE = "active"
SALE = "sale"
CANCELLED = "cancelled"
CART_ACTIVE = "active"


def active_customer_ids(session: Session, *, after: int, limit: int) -> list[int]:
    """Active (not merged, not erased) customers with an id above ``after``, in id order."""
    rows = session.execute(
        select(Customer.id)
        .where(Customer.status == ACTIVE, Customer.id > after)
        .order_by(Customer.id)
        .limit(limit)
    )
    return [row[0] for row in rows]


def _day(value: datetime | date | None) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else ""


AGE_BANDS = (
    (18, "under 18"),
    (25, "18-24"),
    (35, "25-34"),
    (45, "35-44"),
    (55, "45-54"),
    (65, "55-64"),
)


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def age_band(age: int) -> str:
    if age < 0:
        return ""
    return next((band for below, band in AGE_BANDS if age < below), "65+")


def _age(vault: PiiVault | None, token: str | None, today: date) -> int:
    """Years since the birth date (decrypted with the PII vault), -1 unknown or no vault."""
    if vault is None or not token:
        return -1
    plain = vault.decrypt("birth_date", token)
    return age_on(date.fromisoformat(plain), today) if plain else -1


def facts_for(
    session: Session, ids: Sequence[int], today: date, vault: PiiVault | None
) -> dict[int, dict[str, Any]]:
    """The facts of each active customer among ``ids`` (others are absent); without a
    ``vault`` the age is unknown."""
    if not ids:
        return {}
    facts: dict[int, dict[str, Any]] = {}
    for row in session.execute(
        select(
            Customer.id,
            Customer.country,
            Customer.home_store,
            Customer.birthday,
            Customer.created_at,
            Customer.birth_date_enc,
        ).where(Customer.id.in_(ids), Customer.status == ACTIVE)
    ):
        age = _age(vault, row.birth_date_enc, today)
        facts[row.id] = {
            "age": age,
            "age_band": age_band(age),
            "country": row.country or "",
            "home_store": row.home_store or "",
            "birthday": row.birthday or "",
            "created": _day(row.created_at),
            "days_since_created": (today - row.created_at.date()).days,
            "consents": {},
            "consent": [],
            "enrolled": False,
            "tier": "",
            "points": 0,
            "rfm": "",
            "clv": 0.0,
            "p_alive": -1.0,
            "orders": 0,
            "spend": 0.0,
            "last_order": "",
            "days_since_last_order": -1,
            "channels": [],
            "has_cart": False,
            "cart_units": 0,
        }
    found = list(facts)
    if not found:
        return facts
    for c in session.execute(
        select(Consent.customer_id, Consent.purpose, Consent.channel, Consent.granted).where(
            Consent.customer_id.in_(found)
        )
    ):
        entry = facts[c.customer_id]
        entry["consents"].setdefault(c.purpose, {})[c.channel] = bool(c.granted)
        if c.granted:
            entry["consent"].append(f"{c.purpose}:{c.channel}")
    for a in session.execute(
        select(Account.customer_id, Account.tier, Account.available).where(
            Account.customer_id.in_(found)
        )
    ):
        facts[a.customer_id].update(enrolled=True, tier=a.tier, points=int(a.available))
    for s in session.execute(
        select(
            CustomerScore.customer_id,
            CustomerScore.segment,
            CustomerScore.expected_revenue,
            CustomerScore.p_alive,
        ).where(CustomerScore.customer_id.in_(found))
    ):
        facts[s.customer_id].update(
            rfm=s.segment,
            clv=float(s.expected_revenue or 0.0),
            p_alive=-1.0 if s.p_alive is None else float(s.p_alive),
        )
    sales = and_(Order.customer_id.in_(found), Order.kind == SALE, Order.status != CANCELLED)
    for o in session.execute(
        select(
            Order.customer_id,
            Order.channel_code,
            func.count(Order.id).label("n"),
            func.sum(Order.total).label("spend"),
            func.max(Order.placed_at).label("last"),
        )
        .where(sales)
        .group_by(Order.customer_id, Order.channel_code)
    ):
        entry = facts[o.customer_id]
        entry["orders"] += int(o.n)
        entry["spend"] = round(entry["spend"] + float(o.spend or 0), 3)
        entry["channels"] = sorted({*entry["channels"], o.channel_code})
        last = _day(o.last)
        if last > entry["last_order"]:
            entry["last_order"] = last
            entry["days_since_last_order"] = (today - date.fromisoformat(last)).days
    for cart in session.execute(
        select(Cart.customer_id, func.coalesce(func.sum(CartLine.quantity), 0).label("units"))
        .join(CartLine, CartLine.cart_id == Cart.id)
        .where(Cart.customer_id.in_(found), Cart.status == CART_ACTIVE)
        .group_by(Cart.customer_id)
    ):
        units = int(cart.units)
        facts[cart.customer_id].update(has_cart=units > 0, cart_units=units)
    for entry in facts.values():
        entry["consent"].sort()
    return facts


def count_active(session: Session) -> int:
    return int(
        session.scalar(select(func.count(Customer.id)).where(Customer.status == ACTIVE)) or 0
    )


def cart_owner(session: Session, cart_id: str) -> int | None:
    return session.scalar(select(Cart.customer_id).where(Cart.id == cart_id))


def cart_owners(session: Session, cart_ids: Sequence[str]) -> dict[str, int]:
    """One statement built once (the relay's segment and journey handlers run it every pass)."""
    rows = session.execute(
        statement(session, "marketing.cart_owners", _cart_owners), {"ids": list(cart_ids)}
    )
    return {cart_id: customer_id for cart_id, customer_id in rows if customer_id is not None}


def _cart_owners(postgres: bool) -> Any:
    return select(Cart.id, Cart.customer_id).where(
        matches(Cart.id, "ids", postgres, String()), Cart.customer_id.is_not(None)
    )
