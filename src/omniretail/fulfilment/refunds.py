"""What a return refunds: what was paid for the returned units, less what the kept items
would now cost more (a broken buy-X-get-Y or spend threshold), with the tax per line.

1. **Paid, prorated.** An order line's paid amount is its recorded gross (the breakdown
   ``pricing.service.breakdown`` stored at checkout: unit price x quantity, its promotions and
   its share of order discounts, rounded per currency), or unit price x quantity for lines
   without one (history). Its first ``n`` units are worth ``floor(gross x n / quantity)`` in
   the currency's minor unit, all of them the gross: each unit returned refunds the
   difference, so units returned one by one never add up to more than the line was paid and
   the last one takes the remainder. The tax is shared the same way.
2. **Kept back.** The items the order keeps after the return are priced again by the pricing
   engine as at the sale (``pricing.service.price_recorded``: the recorded unit prices, tax
   rates, promotions and coupons, at the order's time). When they would cost more than was
   paid for them (beyond a minor unit per line of rounding), the difference is kept back:
   the order's returns refund in all what was paid for the returned units less that
   difference, never below nothing and never more than was paid. Returning the rest later
   gives the kept-back amount back.
3. **Per line.** The refund is shared over the returned lines in proportion to what they
   were paid (largest remainder); a line refunded in full keeps its prorated tax, one that
   is refunded less has the tax of its amount at its rate.

Lines an exchange added (their breakdown names the ``exchange``) were priced then, on their
own: they are refunded as paid, not re-priced with the original sale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.schemas import KeptBackRead, RefundLineRead, RefundRead
from omniretail.kernel.money import format_money, quantum, round_money
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.service import LineStatus, is_live
from omniretail.pricing import service as pricing

EXCHANGE_KEY = "exchange"  # set in the breakdown of the lines an exchange added


@dataclass(frozen=True, kw_only=True)
class Paid:
    """An order line's paid gross and tax (tax included), for its ``quantity`` units."""

    quantity: int
    gross: Decimal
    tax: Decimal
    currency: str

    def upto(self, units: int) -> tuple[Decimal, Decimal]:
        """(gross, tax) of the first ``units`` units (module docstring, 1)."""
        if units >= self.quantity:
            return self.gross, self.tax
        if units <= 0:
            return Decimal(0), Decimal(0)
        unit = quantum(self.currency)
        return (
            (self.gross * units / self.quantity).quantize(unit, rounding=ROUND_FLOOR),
            (self.tax * units / self.quantity).quantize(unit, rounding=ROUND_FLOOR),
        )

    def between(self, start: int, count: int) -> tuple[Decimal, Decimal]:
        g1, t1 = self.upto(start + count)
        g0, t0 = self.upto(start)
        return g1 - g0, t1 - t0


def paid_of(line: Any, currency: str) -> Paid:
    b = line.pricing or {}
    if "gross" in b:
        gross, tax = Decimal(b["gross"]), Decimal(b.get("tax", "0"))
    elif line.net_amount is not None and line.tax_amount is not None:
        gross, tax = Decimal(line.net_amount) + Decimal(line.tax_amount), Decimal(line.tax_amount)
    else:
        gross = round_money(Decimal(line.unit_price) * line.quantity, currency)
        tax = Decimal(0)
    return Paid(quantity=line.quantity, gross=gross, tax=tax, currency=currency)


def line_amount(line: Any, currency: str) -> Decimal:
    """What the line's units were paid (tax included): what is captured, voided, refunded."""
    return paid_of(line, currency).gross


def split_line(line: Any, counts: Sequence[int], currency: str) -> list[dict[str, Any]]:
    """The amounts (``net_amount``, ``tax_amount``, ``pricing``) of consecutive parts of a
    line's units (a partial cancellation, a re-routed line split over fulfilments), shared
    as returns share them, so each row's amounts stay those of its own units."""
    if not line.pricing or "gross" not in line.pricing:
        return [{} for _ in counts]
    paid = paid_of(line, currency)
    start, parts = 0, []
    for count in counts:
        gross, tax = paid.between(start, count)
        start += count
        parts.append(
            {
                "net_amount": gross - tax,
                "tax_amount": tax,
                "pricing": {
                    **line.pricing,
                    "gross": str(gross),
                    "tax": str(tax),
                    "net": str(gross - tax),
                    "quantity": count,  # the units these amounts are for
                },
            }
        )
    return parts


@dataclass
class Computed:
    """A refund worked out: the amount, the returned lines' shares and what was kept back."""

    currency: str
    amount: Decimal
    paid: Decimal
    lines: list[RefundLineRead] = field(default_factory=list)
    kept_back: list[KeptBackRead] = field(default_factory=list)

    @property
    def net(self) -> Decimal:
        return sum((ln.net or Decimal(0) for ln in self.lines), Decimal(0))

    @property
    def tax(self) -> Decimal:
        return sum((ln.tax or Decimal(0) for ln in self.lines), Decimal(0))

    def detail(self) -> dict[str, Any]:
        """What the ``refund`` log entry keeps (``refund_read`` reads it back)."""
        return {
            "currency": self.currency,
            "paid": str(self.paid),
            "net": str(self.net),
            "tax": str(self.tax),
            "lines": [ln.model_dump(mode="json") for ln in self.lines],
            "kept_back": [k.model_dump(mode="json") for k in self.kept_back],
        }


def compute_refund(
    uow: UnitOfWork,
    order: Any,
    lines: Sequence[Any],
    returning: Mapping[int, int],
    credited_before: Decimal,
) -> Computed:
    """The refund of ``returning`` (line number -> units), the lines as they were before it
    (``quantity_returned`` not yet counting it); ``credited_before``: what the order's earlier
    returns credited."""
    currency = order.currency
    sold = [ln for ln in lines if ln.sku_code and ln.status != LineStatus.CANCELLED.value]
    paid = {ln.line_no: paid_of(ln, currency) for ln in sold}
    now: dict[int, tuple[Decimal, Decimal]] = {}
    all_returned = Decimal(0)
    for ln in sold:
        k = returning.get(ln.line_no, 0)
        all_returned += paid[ln.line_no].upto(ln.quantity_returned + k)[0]
        if k:
            now[ln.line_no] = paid[ln.line_no].between(ln.quantity_returned, k)
    paid_now = sum((g for g, _t in now.values()), Decimal(0))
    kept = {
        ln.line_no: ln.quantity - ln.quantity_returned - returning.get(ln.line_no, 0) for ln in sold
    }
    before = {ln.line_no: ln.quantity - ln.quantity_returned for ln in sold}
    extra, losses = _extra(uow, order, sold, paid, kept, before)
    target = all_returned - extra
    # Never below nothing; never above what the returned units were paid (extra >= 0).
    amount = round_money(max(Decimal(0), target - credited_before), currency)
    computed = Computed(currency=currency, amount=amount, paid=paid_now)
    computed.lines = _shares(sold, returning, now, amount, currency)
    kept_back = paid_now - amount
    if kept_back > 0 and losses:
        names = list(losses)
        shares = pricing.allocate(kept_back, [losses[n][0] for n in names], currency)
        for name, share in zip(names, shares, strict=True):
            if share:
                gone = losses[name][1]
                note = f"{name} {'no longer applies' if gone else 'now gives less'}: "
                computed.kept_back.append(
                    KeptBackRead(
                        name=name,
                        amount=share,
                        note=note + f"{format_money(share, currency)} kept back",
                    )
                )
    return computed


def _shares(
    sold: Sequence[Any],
    returning: Mapping[int, int],
    now: Mapping[int, tuple[Decimal, Decimal]],
    amount: Decimal,
    currency: str,
) -> list[RefundLineRead]:
    returned = [ln for ln in sold if ln.line_no in now]
    shares = pricing.allocate(amount, [now[ln.line_no][0] for ln in returned], currency)
    out: list[RefundLineRead] = []
    for ln, share in zip(returned, shares, strict=True):
        gross, tax = now[ln.line_no]
        b = ln.pricing or {}
        rate = Decimal(b["tax_rate"]) if b.get("tax_rate") not in (None, "None") else None
        if share != gross:
            tax = round_money(share * rate / (1 + rate), currency) if rate else Decimal(0)
        out.append(
            RefundLineRead(
                line_no=ln.line_no,
                sku=ln.sku_code,
                name=ln.description,
                quantity=returning[ln.line_no],
                paid=gross,
                amount=share,
                net=share - tax,
                tax=tax,
                tax_rate=rate,
                tax_name=b.get("tax_name"),
            )
        )
    return out


def _extra(
    uow: UnitOfWork,
    order: Any,
    sold: Sequence[Any],
    paid: Mapping[int, Paid],
    kept: Mapping[int, int],
    before: Mapping[int, int],
) -> tuple[Decimal, dict[str, tuple[Decimal, bool]]]:
    """What the kept items would cost more than was paid for them (module docstring, 2),
    and per promotion name (the discount it loses on the kept items, whether it is gone)."""
    recorded = [
        ln for ln in sold if ln.pricing and "gross" in ln.pricing and EXCHANGE_KEY not in ln.pricing
    ]
    sources = pricing.recorded_sources(ln.pricing for ln in recorded)
    if not sources:
        return Decimal(0), {}
    currency = order.currency
    context = _sale_context(uow, order)
    after = _price(uow, context, recorded, kept, sources)
    paid_kept = sum(
        (
            paid[ln.line_no].gross - paid[ln.line_no].upto(ln.quantity - kept[ln.line_no])[0]
            for ln in recorded
        ),
        Decimal(0),
    )
    slack = quantum(currency) * sum(1 for ln in recorded if kept[ln.line_no] > 0)
    extra = after.gross - paid_kept
    if extra <= slack:
        return Decimal(0), {}
    was = _discounts(_price(uow, context, recorded, before, sources))
    is_now = _discounts(after)
    losses = {
        name: (amount - is_now.get(name, Decimal(0)), name not in is_now)
        for name, amount in was.items()
        if amount > is_now.get(name, Decimal(0))
    }
    return extra, losses


def _price(
    uow: UnitOfWork,
    context: pricing.PricingContext,
    recorded: Sequence[Any],
    units: Mapping[int, int],
    sources: Sequence[str],
) -> pricing.PricedCart:
    merged: dict[str, pricing.RecordedLine] = {}
    for ln in recorded:
        q = units[ln.line_no]
        if q <= 0:
            continue
        b = ln.pricing
        seen = merged.get(ln.sku_code)
        if seen is not None:
            merged[ln.sku_code] = replace(seen, quantity=seen.quantity + q)
            continue
        merged[ln.sku_code] = pricing.RecordedLine(
            key=ln.sku_code,
            sku=ln.sku_code,
            quantity=q,
            unit_price=Decimal(ln.unit_price),
            tax_class=b.get("tax_class") or "standard",
            tax_name=b.get("tax_name") or "",
            tax_rate=Decimal(b.get("tax_rate") or 0),
            price_list=b.get("price_list"),
            price_list_name=b.get("price_list_name"),
        )
    return pricing.price_recorded(uow, context, list(merged.values()), sources)


def _discounts(priced: pricing.PricedCart) -> dict[str, Decimal]:
    """Money off per promotion name (positive) in a priced cart's lines."""
    found: dict[str, Decimal] = {}
    for ln in priced.lines:
        for a in ln.adjustments:
            if a.amount < 0:
                found[a.name] = found.get(a.name, Decimal(0)) - a.amount
    return found


def _sale_context(uow: UnitOfWork, order: Any) -> pricing.PricingContext:
    context = pricing.context_for(
        uow, order.channel_code, customer_id=order.customer_id, at=order.placed_at
    )
    first = (
        not repo.has_earlier_order(uow.session, order.customer_id, order.placed_at, order.id)
        if order.customer_id is not None
        else None
    )
    return replace(context, currency=order.currency, first_order=first)


def credited_before(log: Sequence[Any]) -> Decimal:
    """What the order's earlier returns credited (their ``returned`` entries' amounts)."""
    return sum(
        (Decimal(e.detail.get("amount", "0")) for e in log if e.action == "returned"),
        Decimal(0),
    )


def refund_read(order: Any, entry: Any, returned: Sequence[Any]) -> RefundRead:
    """A refund as its ``refund`` log entry and the return's ``returned`` entries keep it
    (older entries without a breakdown: amount only)."""
    d = entry.detail
    currency = d.get("currency") or order.currency
    lines = [RefundLineRead.model_validate(ln) for ln in d.get("lines", [])]
    if not lines:
        lines = [
            RefundLineRead(
                line_no=e.detail["line_no"],
                sku=e.detail.get("sku"),
                name=None,
                quantity=e.detail["quantity"],
                paid=Decimal(e.detail.get("amount", "0")),
                amount=Decimal(e.detail.get("amount", "0")),
                net=None,
                tax=None,
                tax_rate=None,
                tax_name=None,
            )
            for e in returned
        ]
    return RefundRead(
        order=order.number,
        return_id=d["for"],
        kind=d.get("kind", "return"),
        location=d.get("location"),
        currency=currency,
        amount=Decimal(d["amount"]),
        paid=Decimal(d["paid"]) if "paid" in d else None,
        net=Decimal(d["net"]) if "net" in d else None,
        tax=Decimal(d["tax"]) if "tax" in d else None,
        kept_back=[KeptBackRead.model_validate(k) for k in d.get("kept_back", [])],
        lines=lines,
        created_at=entry.created_at,
    )


def refunds_of_order(uow: UnitOfWork, number: str) -> list[RefundRead]:
    """The order's refunds, oldest first, each with its lines' net, tax and rate."""
    order = repo.get_order_by_number(uow.session, number)
    if order is None or not is_live(order):
        raise UnknownOrder(f"no order with number {number!r}", field="number")
    log = repo.log_of_order(uow.session, order.id)
    returned: dict[str, list[Any]] = {}
    for e in log:
        if e.action == "returned" and e.detail.get("return_id"):
            returned.setdefault(e.detail["return_id"], []).append(e)
    return [
        refund_read(order, e, returned.get(e.detail.get("for", ""), []))
        for e in log
        if e.action == "refund"
    ]


def refunds_by_return_id(
    uow: UnitOfWork, customer_ids: list[int], return_ids: Sequence[str]
) -> dict[str, RefundRead]:
    """The refunds of ``return_ids`` among these customers' orders, by return id (a person
    knows a return by its order and items, not by its id); others are left out."""
    wanted = set(return_ids)
    if not wanted:
        return {}
    entries = repo.refund_entries_of_customers(uow.session, customer_ids)
    returned: dict[str, list[Any]] = {}
    for _order, e in entries:
        if e.action == "returned" and e.detail.get("return_id") in wanted:
            returned.setdefault(e.detail["return_id"], []).append(e)
    return {
        e.detail["for"]: refund_read(order, e, returned.get(e.detail["for"], []))
        for order, e in entries
        if e.action == "refund" and e.detail.get("for") in wanted
    }
