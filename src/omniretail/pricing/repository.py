"""The only place that builds queries over the pricing tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Integer,
    Result,
    Row,
    String,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from omniretail.catalog.models import Product, Sku
from omniretail.db.sql import insert_for, listed, listed_key, listed_values, rowcount, statement
from omniretail.pricing.customer_facts import stored_segment, stored_tier
from omniretail.pricing.engine import Candidate, Fee, PricingContext, Rate, SkuFacts
from omniretail.pricing.models import (
    STANDARD,
    PriceList,
    PriceListEntry,
    ProductTaxClass,
    TaxClass,
    TaxRate,
)
from omniretail.pricing.models import (
    Fee as FeeRow,
)
from omniretail.pricing.promotion_repository import PROMOTIONS_STAMP_COLUMN, ReadStamp

price_lists = cast(Table, PriceList.__table__)
entries = cast(Table, PriceListEntry.__table__)
tax_classes = cast(Table, TaxClass.__table__)
tax_rates = cast(Table, TaxRate.__table__)
product_tax = cast(Table, ProductTaxClass.__table__)
fees = cast(Table, FeeRow.__table__)
skus = cast(Table, Sku.__table__)
products = cast(Table, Product.__table__)

SCOPES = ("channel_code", "location_code", "customer_tier", "customer_segment")


def _stored(read: Any) -> Any:
    return read(bindparam("customer_id", type_=Integer)).scalar_subquery()


def _in_force(postgres: bool, segments: int) -> Any:
    """A list in force for the call's parameters: its currency, active, within its window
    at ``at``, and each scope either unset or the context's (a NULL parameter matches only
    an unset scope). A known customer whose context names no tier (or no segments) is
    matched on their stored loyalty tier (and RFM segment), so the basket, the till and a
    quote for them choose the same list."""
    lists = price_lists.c
    return and_(
        lists.code == entries.c.list_code,
        lists.active == true(),
        lists.currency == bindparam("currency"),
        or_(lists.valid_from.is_(None), lists.valid_from <= bindparam("at")),
        or_(lists.valid_to.is_(None), lists.valid_to > bindparam("at")),
        or_(lists.channel_code.is_(None), lists.channel_code == bindparam("channel")),
        or_(lists.location_code.is_(None), lists.location_code == bindparam("location")),
        or_(
            lists.customer_tier.is_(None),
            lists.customer_tier
            == func.coalesce(bindparam("tier", type_=String), _stored(stored_tier)),
        ),
        or_(
            lists.customer_segment.is_(None),
            listed(lists.customer_segment, "segments", segments, postgres, String()),
            and_(
                bindparam("stored_segment", type_=Boolean),
                lists.customer_segment == _stored(stored_segment),
            ),
        ),
    )


# Built once per dialect (each call only binds its parameters): the SKUs by code, their
# entries by the SKU index, each entry's list by its key when it is in force. One row per
# entry, the list's columns empty when it does not apply; one row for a SKU without entries.
# (Joining entries to lists first would read every entry of every list in force: SQLite
# materialises that.)
def _sku_facts_statement(postgres: bool, skus_count: int, segments: int) -> Any:
    return (
        select(
            skus.c.code,
            skus.c.name,
            skus.c.price.label("list_price"),
            skus.c.active,
            product_tax.c.tax_class,
            products.c.category,
            price_lists.c.code.label("list_code"),
            price_lists.c.name.label("list_name"),
            price_lists.c.priority,
            price_lists.c.valid_from,
            *(price_lists.c[s] for s in SCOPES),
            entries.c.price,
        )
        .select_from(
            skus.outerjoin(product_tax, product_tax.c.product_code == skus.c.product_code)
            .outerjoin(products, products.c.code == skus.c.product_code)
            .outerjoin(entries, entries.c.sku_code == skus.c.code)
            .outerjoin(price_lists, _in_force(postgres, segments))
        )
        .where(listed(skus.c.code, "skus", skus_count, postgres, String()))
    )


def _sku_facts_read(
    session: Session, sku_codes: Sequence[str], context: PricingContext, *, stamped: bool
) -> Result[Any]:
    """The statement (with the promotions stamp on each row when ``stamped``: an anonymous
    cart's pricing call reads nothing else about promotions, ``promotions.load_step``),
    kept per count of SKUs and of segments, run for the context."""
    codes = sorted(set(sku_codes))
    segments = sorted(context.segments)
    name = f"pricing.sku_facts:{listed_key(len(codes))}:{listed_key(len(segments))}:{stamped}"

    def build(postgres: bool) -> Any:
        stmt = _sku_facts_statement(postgres, len(codes), len(segments))
        return stmt.add_columns(PROMOTIONS_STAMP_COLUMN) if stamped else stmt

    params = {
        **listed_values("skus", codes),
        **listed_values("segments", segments),
        "currency": context.currency,
        "at": context.at,
        "channel": context.channel,
        "location": context.location,
        "tier": context.tier,
        "customer_id": context.customer_id,
        "stored_segment": not context.segments and context.customer_id is not None,
    }
    return session.execute(statement(session, name, build), params)


def sku_facts(
    session: Session, sku_codes: Sequence[str], context: PricingContext
) -> dict[str, SkuFacts]:
    """Each existing SKU with its catalog price, tax class, category and the entries in
    force for the context, in one indexed statement (``_sku_facts_statement``)."""
    return _sku_facts(_sku_facts_read(session, sku_codes, context, stamped=False))


def sku_facts_stamped(
    session: Session, sku_codes: Sequence[str], context: PricingContext
) -> tuple[dict[str, SkuFacts], ReadStamp | None]:
    """``sku_facts`` and, in the same statement, the promotions stamp (None when no SKU was
    found, so no row carried it)."""
    rows = list(_sku_facts_read(session, sku_codes, context, stamped=True))
    stamp = ReadStamp(rows[0].promotions_stamp) if rows else None
    return _sku_facts(rows), stamp


def _sku_facts(rows: Iterable[Row[Any]]) -> dict[str, SkuFacts]:
    found: dict[str, SkuFacts] = {}
    candidates: dict[str, list[Candidate]] = {}
    for r in rows:
        if r.code not in found:
            found[r.code] = SkuFacts(
                sku=r.code,
                name=r.name,
                active=bool(r.active),
                list_price=r.list_price,
                tax_class=r.tax_class or STANDARD,
                category=r.category,
            )
            candidates[r.code] = []
        if r.list_code is not None:
            candidates[r.code].append(
                Candidate(
                    list_code=r.list_code,
                    list_name=r.list_name,
                    priority=r.priority,
                    specificity=sum(getattr(r, s) is not None for s in SCOPES),
                    valid_from=r.valid_from,
                    price=r.price,
                )
            )
    return {
        code: SkuFacts(
            sku=f.sku,
            name=f.name,
            active=f.active,
            list_price=f.list_price,
            tax_class=f.tax_class,
            category=f.category,
            candidates=tuple(candidates[code]),
        )
        for code, f in found.items()
    }


def rates_of_country(session: Session, country: str) -> list[Rate]:
    rows = session.execute(select(tax_rates).where(tax_rates.c.country == country))
    return [
        Rate(
            country=r.country,
            tax_class=r.tax_class,
            name=r.name,
            rate=r.rate,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
        )
        for r in rows
    ]


# --- price lists


def get_list(session: Session, code: str) -> Row[Any] | None:
    return session.execute(select(price_lists).where(price_lists.c.code == code)).one_or_none()


def list_lists(
    session: Session, channel: str | None, at: datetime | None, limit: int
) -> list[Row[Any]]:
    stmt = select(price_lists).order_by(price_lists.c.priority.desc(), price_lists.c.code)
    if channel is not None:
        stmt = stmt.where(price_lists.c.channel_code == channel)
    if at is not None:
        stmt = stmt.where(
            or_(price_lists.c.valid_from.is_(None), price_lists.c.valid_from <= at),
            or_(price_lists.c.valid_to.is_(None), price_lists.c.valid_to > at),
        )
    return list(session.execute(stmt.limit(limit)))


def insert_list(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(price_lists), values)


def update_list(session: Session, code: str, values: dict[str, Any]) -> None:
    session.execute(update(price_lists).where(price_lists.c.code == code).values(**values))


def delete_list(session: Session, code: str) -> bool:
    session.execute(delete(entries).where(entries.c.list_code == code))
    return bool(rowcount(session.execute(delete(price_lists).where(price_lists.c.code == code))))


def count_entries(session: Session, code: str) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(entries).where(entries.c.list_code == code)
        ).scalar_one()
    )


def upsert_entry(session: Session, list_code: str, sku: str, price: Decimal, now: datetime) -> None:
    stmt = (
        insert_for(session)(entries)
        .values(list_code=list_code, sku_code=sku, price=price, updated_at=now)
        .on_conflict_do_update(
            index_elements=[entries.c.list_code, entries.c.sku_code],
            set_={"price": price, "updated_at": now},
        )
    )
    session.execute(stmt)


def delete_entry(session: Session, list_code: str, sku: str) -> bool:
    result = session.execute(
        delete(entries).where(entries.c.list_code == list_code, entries.c.sku_code == sku)
    )
    return bool(rowcount(result))


def list_entries(
    session: Session,
    list_codes: Sequence[str] | None,
    sku: str | None,
    *,
    list_prefix: str | None = None,
    limit: int = 1000,
) -> list[Row[Any]]:
    stmt = (
        select(entries, price_lists.c.channel_code, price_lists.c.currency)
        .select_from(entries.join(price_lists, price_lists.c.code == entries.c.list_code))
        .order_by(entries.c.sku_code, entries.c.list_code)
        .limit(limit)
    )
    if list_codes is not None:
        stmt = stmt.where(entries.c.list_code.in_(list(list_codes)))
    if list_prefix is not None:
        stmt = stmt.where(
            entries.c.list_code.startswith(list_prefix), price_lists.c.channel_code.is_not(None)
        )
    if sku is not None:
        stmt = stmt.where(entries.c.sku_code == sku)
    return list(session.execute(stmt))


# --- taxes


def get_tax_class(session: Session, code: str) -> Row[Any] | None:
    return session.execute(select(tax_classes).where(tax_classes.c.code == code)).one_or_none()


def list_tax_classes(session: Session) -> list[Row[Any]]:
    return list(session.execute(select(tax_classes).order_by(tax_classes.c.code)))


def upsert_tax_class(session: Session, code: str, name: str) -> None:
    stmt = (
        insert_for(session)(tax_classes)
        .values(code=code, name=name)
        .on_conflict_do_update(index_elements=[tax_classes.c.code], set_={"name": name})
    )
    session.execute(stmt)


def get_rate(session: Session, rate_id: int) -> Row[Any] | None:
    return session.execute(select(tax_rates).where(tax_rates.c.id == rate_id)).one_or_none()


def list_rates(session: Session, country: str | None) -> list[Row[Any]]:
    stmt = select(tax_rates).order_by(
        tax_rates.c.country, tax_rates.c.tax_class, tax_rates.c.valid_from
    )
    if country is not None:
        stmt = stmt.where(tax_rates.c.country == country)
    return list(session.execute(stmt.limit(1000)))


def insert_rate(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(tax_rates).returning(tax_rates.c.id), values).scalar_one())


def update_rate(session: Session, rate_id: int, values: dict[str, Any]) -> None:
    session.execute(update(tax_rates).where(tax_rates.c.id == rate_id).values(**values))


def delete_rate(session: Session, rate_id: int) -> bool:
    return bool(rowcount(session.execute(delete(tax_rates).where(tax_rates.c.id == rate_id))))


def product_exists(session: Session, code: str) -> bool:
    return (
        session.execute(select(products.c.code).where(products.c.code == code)).first() is not None
    )


def product_tax_class(session: Session, code: str) -> str:
    found = session.execute(
        select(product_tax.c.tax_class).where(product_tax.c.product_code == code)
    ).scalar_one_or_none()
    return found or STANDARD


def set_product_tax_class(session: Session, code: str, tax_class: str) -> None:
    stmt = (
        insert_for(session)(product_tax)
        .values(product_code=code, tax_class=tax_class)
        .on_conflict_do_update(
            index_elements=[product_tax.c.product_code], set_={"tax_class": tax_class}
        )
    )
    session.execute(stmt)


# --- fees


def active_fees_of_channel(session: Session, channel: str) -> dict[str, Fee]:
    """The channel's active fees by method, in the engine's terms (one statement)."""
    rows = session.execute(
        select(fees).where(fees.c.channel_code == channel, fees.c.active == true())
    ).all()
    return {
        r.method: Fee(
            method=r.method,
            name=r.name,
            amount=r.amount,
            tax_class=r.tax_class,
            free_over=r.free_over,
        )
        for r in rows
    }


def list_fees(session: Session, channel: str | None) -> list[Row[Any]]:
    query = select(fees).order_by(fees.c.channel_code, fees.c.method)
    if channel is not None:
        query = query.where(fees.c.channel_code == channel)
    return list(session.execute(query).all())


def get_fee(session: Session, channel: str, method: str) -> Row[Any] | None:
    return session.execute(
        select(fees).where(fees.c.channel_code == channel, fees.c.method == method)
    ).first()


def upsert_fee(session: Session, values: dict[str, Any]) -> None:
    keys = ("channel_code", "method")
    session.execute(
        insert_for(session)(fees)
        .values(**values)
        .on_conflict_do_update(
            index_elements=list(keys), set_={k: v for k, v in values.items() if k not in keys}
        )
    )


def delete_fee(session: Session, channel: str, method: str) -> bool:
    result = session.execute(
        delete(fees).where(fees.c.channel_code == channel, fees.c.method == method)
    )
    return rowcount(result) > 0


def customer_tier(session: Session, customer_id: int) -> str | None:
    """The customer's loyalty tier now (read by name, as the promotions step reads it)."""
    tier: str | None = session.scalar(stored_tier(customer_id))
    return tier
