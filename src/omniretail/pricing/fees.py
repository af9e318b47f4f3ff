"""Delivery and pickup fees as data: what each fulfilment method costs on a channel.

A fee is entered like the channel's prices (with tax when the channel enters prices with
tax), in the channel's currency, taxed at its own tax class, and not charged once the
cart's lines reach ``free_over``. A ``free_delivery`` promotion waives it (named after the
promotion). No row for a method: it is free on that channel. Priced by the engine when the
context names the method (``pricing.engine``, step 4); the order keeps what it charged.

Refunds: a fee is not refunded when an order's lines are returned, even all of them (the
delivery was made); a cancelled order before dispatch is voided in full, fee included.
"""

from __future__ import annotations

from typing import Any

from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.money import fits_currency, quantum, round_money
from omniretail.pricing import repository as repo
from omniretail.pricing.engine import Fee, PricedFee
from omniretail.pricing.errors import (
    AmountTooPrecise,
    FeeCurrencyMismatch,
    UnknownFee,
    UnknownTaxClass,
)
from omniretail.pricing.events import FeeDeleted, FeeSaved
from omniretail.pricing.schemas import AdjustmentRead, FeeRead, FeeWrite, PricedFeeRead

_CACHE_PREFIX = "fees:"


def fee_for(uow: UnitOfWork, channel: str, method: str) -> Fee | None:
    """The channel's active fee for ``method`` (the channel's fees are read in one statement
    and cached like tax rates; a change of a fee clears the cache)."""
    key = _CACHE_PREFIX + channel
    cached = uow.cache.get(key)
    if not isinstance(cached, dict):
        cached = repo.active_fees_of_channel(uow.session, channel)
        uow.cache.put(key, cached)
    fee = cached.get(method)
    return fee if isinstance(fee, Fee) else None


def save_fee(uow: UnitOfWork, channel: str, method: str, data: FeeWrite, *, actor: str) -> FeeRead:
    settings = catalog.channel_settings(uow, channel)
    if data.currency != settings.currency:
        raise FeeCurrencyMismatch(
            f"{channel} sells in {settings.currency}, not {data.currency}", field="currency"
        )
    for name, value in (("amount", data.amount), ("free_over", data.free_over)):
        if value is not None and not fits_currency(value, data.currency):
            raise AmountTooPrecise(
                f"{value} is finer than {data.currency} allows (steps of {quantum(data.currency)})",
                field=name,
            )
    if repo.get_tax_class(uow.session, data.tax_class) is None:
        raise UnknownTaxClass(f"no tax class {data.tax_class!r}", field="tax_class")
    repo.upsert_fee(
        uow.session,
        {
            "channel_code": channel,
            "method": method,
            "name": data.name,
            "currency": data.currency,
            "amount": data.amount,
            "free_over": data.free_over,
            "tax_class": data.tax_class,
            "active": data.active,
            "updated_at": uow.now,
        },
    )
    uow.cache.invalidate()
    uow.record(
        FeeSaved(
            channel=channel,
            method=method,
            amount=str(data.amount),
            free_over=str(data.free_over) if data.free_over is not None else None,
            currency=data.currency,
            active=data.active,
            actor=actor,
        )
    )
    return get_fee(uow, channel, method)


def get_fee(uow: UnitOfWork, channel: str, method: str) -> FeeRead:
    row = repo.get_fee(uow.session, channel, method)
    if row is None:
        raise UnknownFee(f"{channel} has no fee for {method}", field="method")
    return _read(row)


def list_fees(uow: UnitOfWork, channel: str | None = None) -> list[FeeRead]:
    return [_read(r) for r in repo.list_fees(uow.session, channel)]


def delete_fee(uow: UnitOfWork, channel: str, method: str, *, actor: str) -> None:
    if not repo.delete_fee(uow.session, channel, method):
        raise UnknownFee(f"{channel} has no fee for {method}", field="method")
    uow.cache.invalidate()
    uow.record(FeeDeleted(channel=channel, method=method, actor=actor))


def fee_read(fee: PricedFee) -> PricedFeeRead:
    return PricedFeeRead(
        method=fee.method,
        name=fee.name,
        amount=fee.amount,
        adjustments=[
            AdjustmentRead(name=a.name, amount=a.amount, source=a.source) for a in fee.adjustments
        ],
        tax_class=fee.tax_class,
        tax_name=fee.tax_name,
        tax_rate=fee.tax_rate,
        net=fee.net,
        tax=fee.tax,
        gross=fee.gross,
    )


def fee_breakdown(fee: PricedFee, currency: str) -> dict[str, Any]:
    """What an order keeps of the fee it charged (JSON, amounts as decimal strings)."""
    return {"currency": currency, **fee_read(fee).model_dump(mode="json")}


def _read(row: Any) -> FeeRead:
    return FeeRead(
        channel=row.channel_code,
        method=row.method,
        name=row.name,
        currency=row.currency,
        amount=round_money(row.amount, row.currency),
        free_over=round_money(row.free_over, row.currency) if row.free_over is not None else None,
        tax_class=row.tax_class,
        active=row.active,
        updated_at=row.updated_at,
    )
