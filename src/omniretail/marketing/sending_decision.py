"""The one decision every send passes at send time, in this order (the first failing wins):

suppression -> consent for marketing on the channel now (transactional skips it) -> an
address/device for the channel -> the global control group -> the journey's holdout ->
the premise (in stock at the customer's store; the price still lower) -> quiet hours (held
until they end in the customer's zone; never transactional) -> caps per channel and in total
(sent sends in the customer's last N local days; transactional neither capped nor counted; the
higher priority goes first, so the lower one is dropped).

``preferred`` resolves to the ``preferred_channel`` attribute when consented, else the first
consented of email, push, sms. Facts for a whole batch are loaded in a handful of statements
(``load_facts``: only those the batch's channels and the policy need); ``decide`` is then pure.
Claimed sends are ``Due`` values (plain rows, no ORM object per send).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from omniretail.customers import service as customers
from omniretail.customers.models import Customer
from omniretail.db.sql import among
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.kernel.errors import DomainError
from omniretail.kernel.limits import one_mailbox
from omniretail.marketing.schemas import SendPolicy
from omniretail.marketing.sending_models import Attribute, MarketingSend, Suppression
from omniretail.marketing.zones import customer_zones, local_day_start, next_local_time
from omniretail.pricing import service as pricing

CONSENT_CHANNELS = ("email", "sms", "push")
PREFERENCE_ORDER = ("email", "push", "sms")
PREFERRED = "preferred_channel"
ACTIVE = "active"
SENT = "sent"


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed send, as the decision and the delivery read it (``DUE_COLUMNS`` in order)."""

    id: int
    key: str
    customer_id: int
    message_code: str
    requested_channel: str
    priority: int
    transactional: bool
    holdout: bool
    premise: str
    context: dict[str, Any]
    journey_id: int | None
    step_id: str | None
    due_at: datetime


DUE_COLUMNS = tuple(Due.__dataclass_fields__)


@dataclass(frozen=True)
class Verdict:
    status: str  # sent | suppressed | dropped | held
    reason: str | None
    channel: str | None
    due_at: datetime | None = None


@dataclass
class Facts:
    policy: SendPolicy
    now: datetime
    active: set[int] = field(default_factory=set)
    stores: dict[int, str | None] = field(default_factory=dict)
    names: dict[int, str | None] = field(default_factory=dict)  # name ciphertext (rendering)
    suppressed: dict[int, set[str]] = field(default_factory=dict)
    consented: dict[str, set[int]] = field(default_factory=dict)
    preferred: dict[int, str] = field(default_factory=dict)
    channels: dict[int, str | None] = field(default_factory=dict)  # send id -> resolved
    addresses: dict[str, dict[int, str]] = field(default_factory=dict)
    # customers whose stored address (kept from before addresses were checked) is no mailbox
    bad_addresses: dict[str, set[int]] = field(default_factory=dict)
    zones: dict[int, ZoneInfo] = field(default_factory=dict)
    stock: dict[tuple[str, str], int] = field(default_factory=dict)
    prices: dict[tuple[str, str], Decimal | None] = field(default_factory=dict)
    recent: dict[int, list[tuple[str, datetime]]] = field(default_factory=dict)


def in_control_group(customer_id: int, percent: float) -> bool:
    """Stable: the same customers are in the control group for every send."""
    digest = hashlib.sha256(f"control-group:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100 < percent


def _resolve(send: Due, f: Facts) -> str | None:
    if send.requested_channel != "preferred":
        return send.requested_channel
    allowed = [c for c in CONSENT_CHANNELS if send.customer_id in f.consented.get(c, set())]
    wanted = f.preferred.get(send.customer_id)
    if send.transactional:
        return wanted if wanted in CONSENT_CHANNELS else "email"
    if wanted in allowed:
        return wanted
    return next((c for c in PREFERENCE_ORDER if c in allowed), None)


def _store(send: Due, f: Facts) -> str | None:
    store = send.context.get("store")
    return str(store) if store else f.stores.get(send.customer_id)


def _price_key(send: Due) -> tuple[str, str] | None:
    sku = send.context.get("sku")
    return (str(send.context.get("channel") or "web"), str(sku)) if sku else None


def load_facts(uow: UnitOfWork, sends: Sequence[Due], policy: SendPolicy, now: datetime) -> Facts:
    f = Facts(policy=policy, now=now)
    ids = sorted({s.customer_id for s in sends})
    if not ids:
        return f
    session = uow.session
    for cid, status, store, name_enc in session.execute(
        select(Customer.id, Customer.status, Customer.home_store, Customer.name_enc).where(
            among(session, Customer.id, ids)
        )
    ):
        if status == ACTIVE:
            f.active.add(cid)
        f.stores[cid] = store
        f.names[cid] = name_enc
    for cid, channel in session.execute(
        select(Suppression.customer_id, Suppression.channel).where(
            among(session, Suppression.customer_id, ids)
        )
    ):
        f.suppressed.setdefault(cid, set()).add(channel)
    # consent on the channels asked for (every one when a send lets the customer choose),
    # the surviving profiles looked up once for the consents and the addresses
    requested = {s.requested_channel for s in sends}
    preferred = "preferred" in requested
    asked = CONSENT_CHANNELS if preferred else [c for c in CONSENT_CHANNELS if c in requested]
    roots = customers.profiles_of(uow, ids) if asked else {}
    f.consented = customers.consenting_on(uow, ids, "marketing", asked, roots=roots)
    if preferred:
        for cid, value in session.execute(
            select(Attribute.customer_id, Attribute.value).where(
                among(session, Attribute.customer_id, ids), Attribute.name == PREFERRED
            )
        ):
            f.preferred[cid] = value
    by_channel: dict[str, set[int]] = defaultdict(set)
    for s in sends:
        f.channels[s.id] = resolved = _resolve(s, f)
        if resolved in CONSENT_CHANNELS:
            by_channel[resolved].add(s.customer_id)
    for channel, who in by_channel.items():
        found = customers.contact_addresses(uow, sorted(who), channel, vault=uow.vault, roots=roots)
        if channel == "email":
            f.bad_addresses[channel] = {c for c, a in found.items() if not one_mailbox(a.strip())}
            found = {c: a for c, a in found.items() if c not in f.bad_addresses[channel]}
        f.addresses[channel] = found
    windows = [c.days for c in policy.caps.values()] + ([policy.total.days] if policy.total else [])
    if policy.quiet_hours is not None or windows:  # the customer's days and hours
        f.zones = customer_zones(session, ids, default=policy.default_zone)
    _load_premises(uow, sends, f)
    if windows:
        since = now - timedelta(days=max(windows) + 1)
        for cid, sent_channel, sent_at in session.execute(
            select(MarketingSend.customer_id, MarketingSend.channel, MarketingSend.sent_at).where(
                among(session, MarketingSend.customer_id, ids),
                MarketingSend.status == SENT,
                MarketingSend.transactional.is_(False),
                MarketingSend.sent_at >= since,
            )
        ):
            if sent_channel and sent_at:
                f.recent.setdefault(cid, []).append((sent_channel, sent_at))
    return f


def _load_premises(uow: UnitOfWork, sends: Sequence[Due], f: Facts) -> None:
    stock_skus: dict[str, set[str]] = defaultdict(set)
    price_skus: dict[str, set[str]] = defaultdict(set)
    for s in sends:
        sku = s.context.get("sku")
        if s.premise == "in_stock" and sku and (store := _store(s, f)):
            stock_skus[str(sku)].add(store)
        elif s.premise == "price_lower" and (key := _price_key(s)):
            price_skus[key[0]].add(key[1])
    if stock_skus:
        stores = sorted({st for group in stock_skus.values() for st in group})
        for sku in stock_skus:  # unknown codes raise: one SKU at a time, 0 when refused
            try:
                (read,) = inventory.availability(uow, [sku], locations=stores)
            except DomainError:
                continue
            for loc in read.locations:
                f.stock[(sku, loc.location)] = loc.available
    for channel, skus in price_skus.items():
        try:
            _, prices = pricing.shelf_prices(uow, channel, sorted(skus))
        except DomainError:
            continue
        for sku, price in prices.items():
            f.prices[(channel, sku)] = price


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _premise(send: Due, f: Facts) -> str | None:
    if send.premise == "in_stock":
        sku, store = send.context.get("sku"), _store(send, f)
        if not sku or not store or f.stock.get((str(sku), store), 0) <= 0:
            return "out_of_stock"
    elif send.premise == "price_lower":
        key = _price_key(send)
        now_price = f.prices.get(key) if key else None
        before = _decimal(send.context.get("old_price"))
        promised = _decimal(send.context.get("price") or send.context.get("new_price"))
        if now_price is None:
            return "price_not_lower"
        if before is not None and now_price >= before:
            return "price_not_lower"
        if before is None and (promised is None or now_price > promised):
            return "price_not_lower"
    return None


def _hhmm(value: str) -> time:
    hour, minute = (int(p) for p in value.split(":"))
    return time(hour, minute)


def _quiet_until(send: Due, f: Facts) -> datetime | None:
    quiet = f.policy.quiet_hours
    if quiet is None or send.transactional:
        return None
    zone = f.zones.get(send.customer_id, ZoneInfo(f.policy.default_zone))
    start, end = _hhmm(quiet.start), _hhmm(quiet.end)
    local = f.now.astimezone(zone).time()
    inside = start <= local < end if start <= end else (local >= start or local < end)
    return next_local_time(f.now, quiet.end, zone) if inside else None


def _capped(send: Due, channel: str, f: Facts) -> bool:
    zone = f.zones.get(send.customer_id, ZoneInfo(f.policy.default_zone))
    recent = f.recent.get(send.customer_id, [])
    cap = f.policy.caps.get(channel)  # type: ignore[call-overload]
    if cap is not None:
        since = local_day_start(f.now, zone, days_back=cap.days - 1)
        if sum(1 for ch, at in recent if ch == channel and at >= since) >= cap.count:
            return True
    total = f.policy.total
    if total is not None:
        since = local_day_start(f.now, zone, days_back=total.days - 1)
        if sum(1 for _, at in recent if at >= since) >= total.count:
            return True
    return False


def decide_one(send: Due, f: Facts) -> Verdict:
    cid = send.customer_id
    channel = f.channels.get(send.id)
    if cid not in f.active:
        return Verdict("suppressed", "customer_inactive", channel)
    suppressed = f.suppressed.get(cid, set())
    if "all" in suppressed or (channel is not None and channel in suppressed):
        return Verdict("suppressed", "suppressed", channel)
    if channel is None:
        return Verdict("suppressed", "consent", None)
    if (
        channel in CONSENT_CHANNELS
        and not send.transactional
        and cid not in f.consented.get(channel, set())
    ):
        return Verdict("suppressed", "consent", channel)
    if cid in f.bad_addresses.get(channel or "", set()):
        return Verdict("suppressed", "bad_address", channel)
    if channel in CONSENT_CHANNELS and cid not in f.addresses.get(channel, {}):
        return Verdict("suppressed", "no_address", channel)
    percent = f.policy.control_group_percent
    if not send.transactional and percent > 0 and in_control_group(cid, percent):
        return Verdict("suppressed", "control_group", channel)
    if send.holdout:
        return Verdict("suppressed", "holdout", channel)
    if (reason := _premise(send, f)) is not None:
        return Verdict("suppressed", reason, channel)
    if (until := _quiet_until(send, f)) is not None:
        return Verdict("held", "quiet_hours", channel, until)
    if not send.transactional and _capped(send, channel, f):
        return Verdict("dropped", "cap", channel)
    return Verdict("sent", None, channel)


def decide(sends: Sequence[Due], f: Facts) -> dict[int, Verdict]:
    """Each send's verdict; a customer's sends in priority order, each sent one counting
    towards the caps of the next."""
    verdicts: dict[int, Verdict] = {}
    for send in sorted(sends, key=lambda s: (s.customer_id, -s.priority, s.due_at, s.id)):
        verdict = verdicts[send.id] = decide_one(send, f)
        if verdict.status == SENT and not send.transactional and verdict.channel:
            f.recent.setdefault(send.customer_id, []).append((verdict.channel, f.now))
    return verdicts
