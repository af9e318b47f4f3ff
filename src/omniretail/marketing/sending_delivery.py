"""``deliver_due``: claim due sends, decide, render and deliver them, a batch per transaction.

A batch (up to ``limit`` sends) is claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (the
row locks hold it until the batch commits), so parallel workers take disjoint batches; on
SQLite the claiming UPDATE (a lease, ``lease_until``) takes the write lock. The sends are plain
rows (``Due``). The decision's facts, the render context and the deliveries are loaded and
written per batch, the decided columns in one statement. A send's status, its notification
(email, SMS, push: sent by the relay through the existing ``messaging.send_notification``
handler) or card (inbox, store, receipt) and its ``marketing.message_sent`` event commit
together: a crash redoes the batch from the start and nothing is sent twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Table,
    Update,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from omniretail.catalog import service as catalog
from omniretail.db.sql import among, is_postgres
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.loyalty.models import Account
from omniretail.marketing.events import MessageSent
from omniretail.marketing.messages import links_for
from omniretail.marketing.messages_models import MarketingMessage
from omniretail.marketing.messages_rendering import Rendition, render_channel
from omniretail.marketing.schemas import MessageRead
from omniretail.marketing.sending_cards import sealed_card
from omniretail.marketing.sending_decision import (
    DUE_COLUMNS,
    Due,
    Facts,
    Verdict,
    decide,
    load_facts,
)
from omniretail.marketing.sending_models import UNDECIDED_STATUSES, Card, MarketingSend
from omniretail.marketing.sending_policy import get_policy
from omniretail.notifications import service as notifications
from omniretail.orders import service as orders

LEASE = timedelta(minutes=5)
CARD_CHANNELS = ("inbox", "store", "receipt")
BUY_AGAIN = 3
_SENDS: Table = MarketingSend.__table__  # type: ignore[assignment]


def claim(uow: UnitOfWork, limit: int, now: datetime) -> list[Due]:
    due = and_(
        MarketingSend.status.in_(UNDECIDED_STATUSES),
        MarketingSend.due_at <= now,
        or_(MarketingSend.lease_until.is_(None), MarketingSend.lease_until <= now),
    )
    columns = [_SENDS.c[name] for name in DUE_COLUMNS]
    order = (MarketingSend.due_at, MarketingSend.id)
    if is_postgres(uow.session):
        # The row locks hold the batch until its transaction ends (decided and committed, or
        # rolled back by a crash), so no lease is written: a lease set in the same transaction
        # was never seen by another worker, and it cost every send a second row version.
        rows = uow.session.execute(
            select(*columns)
            .where(due)
            .order_by(*order)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [Due(*row) for row in rows]
    query = select(MarketingSend.id).where(due).order_by(*order).limit(limit)
    ids = list(
        uow.session.scalars(
            update(MarketingSend)
            .where(MarketingSend.id.in_(query.scalar_subquery()), due)
            .values(lease_until=now + LEASE)
            .returning(MarketingSend.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not ids:
        return []
    rows = uow.session.execute(select(*columns).where(MarketingSend.id.in_(ids)).order_by(*order))
    return [Due(*row) for row in rows]


def deliver_due(
    uow_factory: Callable[[], UnitOfWork],
    *,
    limit: int = 500,
    now: datetime | None = None,
    batches: int | None = None,
) -> int:
    """Decide and deliver due sends, ``limit`` a transaction, until none are due (or
    ``batches`` ran); returns how many were decided."""
    done = ran = 0
    while batches is None or ran < batches:
        with uow_factory() as uow:
            moment = now or uow.now
            sends = claim(uow, limit, moment)
            if sends:
                deliver_batch(uow, sends, moment)
        done += len(sends)
        ran += 1
        if len(sends) < limit:
            break
    return done


def deliver_batch(uow: UnitOfWork, sends: Sequence[Due], now: datetime) -> None:
    facts = load_facts(uow, sends, get_policy(uow), now)
    verdicts = decide(sends, facts)
    going = [s for s in sends if verdicts[s.id].status == "sent"]
    rendered = _render(uow, going, verdicts, facts)
    notes: list[notifications.Rendered] = []
    cards: list[dict[str, Any]] = []
    for send in going:
        verdict = verdicts[send.id]
        r = rendered.get(send.id)
        if r is None:
            continue
        channel = verdict.channel or ""
        if channel in CARD_CHANNELS:
            cards.append(sealed_card(uow.vault, _card(send, channel, r, now)))
        else:
            notes.append(
                notifications.Rendered(
                    channel=channel,
                    recipient=facts.addresses[channel][send.customer_id],
                    subject=r.title,
                    body=r.text,
                    html_body=r.html,
                    source_key=send.key,
                    customer_ref=str(send.customer_id),
                )
            )
    notified = notifications.notify_rendered(uow, notes)
    if cards:
        uow.session.execute(insert(Card), cards)
    changes: list[dict[str, Any]] = []
    for send in sends:
        verdict = verdicts[send.id]
        change: dict[str, Any] = {
            "id": send.id,
            "status": verdict.status,
            "reason": verdict.reason,
            "channel": verdict.channel,
            "due_at": verdict.due_at or send.due_at,
            "sent_at": None,
            "notification_id": notified.get(send.key),
        }
        if verdict.status == "sent":
            if send.id not in rendered:
                change.update(status="failed", reason="render")
            else:
                change["sent_at"] = now
                uow.record(
                    MessageSent(
                        send_id=send.id,
                        customer_id=send.customer_id,
                        message_code=send.message_code,
                        channel=verdict.channel or "",
                        journey_id=send.journey_id,
                        step_id=send.step_id,
                    )
                )
        changes.append(change)
    _mark_decided(uow, changes, now)


# The decided columns of a batch: on PostgreSQL one UPDATE ... FROM unnest(arrays), held for
# the commit (it goes with the outbox rows in one statement, db.batch); elsewhere an
# executemany by primary key.
_DECIDED = ("status", "reason", "channel", "due_at", "sent_at", "notification_id")


@cache
def _decided_statement() -> Update:
    kinds = {"id": BigInteger(), "notification_id": BigInteger()}
    arrays = [
        bindparam(f"decided_{name}", type_=ARRAY(kinds.get(name) or _SENDS.c[name].type))
        for name in ("id", *_DECIDED)
    ]
    rows = func.unnest(*arrays).table_valued("id", *_DECIDED).render_derived(name="decided")
    values: dict[str, Any] = {name: rows.c[name] for name in _DECIDED}
    values["decided_at"] = bindparam("decided_at", type_=_SENDS.c.decided_at.type)
    values["lease_until"] = None
    return update(_SENDS).where(_SENDS.c.id == rows.c.id).values(values)


def _mark_decided(uow: UnitOfWork, changes: list[dict[str, Any]], now: datetime) -> None:
    if not changes:
        return
    if is_postgres(uow.session):
        params: dict[str, Any] = {
            f"decided_{name}": [c[name] for c in changes] for name in ("id", *_DECIDED)
        }
        params["decided_at"] = now
        uow.later(_decided_statement(), params)
        return
    uow.session.execute(
        update(MarketingSend),
        [{**c, "lease_until": None, "decided_at": now} for c in changes],
    )


def _card(send: Due, channel: str, r: Rendition, now: datetime) -> dict[str, Any]:
    return {
        "customer_id": send.customer_id,
        "placement": channel,
        "send_id": send.id,
        "title": (r.title or "")[:500] or None,
        "body": r.text,
        "link": r.link,
        "created_at": now,
        "seen_at": None,
        "dismissed_at": None,
    }


def _render(
    uow: UnitOfWork, going: Sequence[Due], verdicts: dict[int, Verdict], f: Facts
) -> dict[int, Rendition]:
    if not going:
        return {}
    codes = sorted({s.message_code for s in going})
    messages = {
        m.code: MessageRead.model_validate(m, from_attributes=True)
        for m in uow.session.scalars(
            select(MarketingMessage).where(MarketingMessage.code.in_(codes))
        )
    }
    people = _people(uow, sorted({s.customer_id for s in going}), messages.values(), f)
    skus = sorted({str(s.context["sku"]) for s in going if s.context.get("sku")})
    names = catalog.sku_names(uow, skus) if skus else {}
    stores = any(s.context.get("store") or f.stores.get(s.customer_id) for s in going)
    places = {loc.code: loc.name for loc in catalog.list_locations(uow)} if stores else {}
    out: dict[int, Rendition] = {}
    for send in going:
        message = messages.get(send.message_code)
        channel = verdicts[send.id].channel
        if message is None or channel is None:
            continue
        context = {**people.get(send.customer_id, {}), **_send_context(send, names, places, f)}
        try:
            out[send.id] = render_channel(
                channel,
                subject=message.subject,
                body=message.body,
                link_label=message.link_label,
                image_url=message.image_url,
                context=context,
                links=links_for(uow, message, send.customer_id, channel, send_id=send.id),
            )
        except DomainError:
            continue
    return out


def _people(uow: UnitOfWork, ids: list[int], messages: Any, f: Facts) -> dict[int, dict[str, Any]]:
    """``personal_context`` for a batch: first name (read with the decision's facts), tier,
    points (and ``buy_again`` when a message uses it)."""
    people: dict[int, dict[str, Any]] = {}
    vault = uow.vault
    for cid in ids:
        if cid not in f.names:
            continue
        name_enc = f.names[cid]
        name = vault.decrypt("name", name_enc) if name_enc else None
        first = (name or "").split(" ")[0] or None
        people[cid] = {
            "customer": {"id": cid, "first_name": first, "tier": None, "points": None},
            "buy_again": [],
        }
    for cid, tier, available in uow.session.execute(
        select(Account.customer_id, Account.tier, Account.available).where(
            among(uow.session, Account.customer_id, ids)
        )
    ):
        if cid in people:
            people[cid]["customer"].update(tier=tier, points=int(available))
    if any("buy_again" in m.body or "buy_again" in m.subject for m in messages):
        for cid, person in people.items():
            person["buy_again"] = [
                {"sku": r.sku_code, "name": r.name, "quantity": int(r.quantity)}
                for r in orders.most_bought_skus(uow.session, cid, BUY_AGAIN)
            ]
    return people


def _send_context(
    send: Due, names: dict[str, str], places: dict[str, str], f: Facts
) -> dict[str, Any]:
    """The run's context for the template (the names the classics' copy uses): ``coupon.code``,
    ``cart.lines`` (the carted line of the trigger), ``product``, ``store.name`` and
    ``store.available``, and ``event`` (the trigger's fields)."""
    c = send.context
    code = c.get("coupon_code")
    extra: dict[str, Any] = {"coupon_code": code, "cart_id": c.get("cart_id"), "event": dict(c)}
    if code:
        extra["coupon"] = {"code": code}
    sku = c.get("sku")
    store = c.get("store") or f.stores.get(send.customer_id)
    if sku:
        extra["product"] = {
            "sku": sku,
            "name": names.get(str(sku)),
            "price": c.get("new_price") or c.get("price"),
            "old_price": c.get("old_price"),
            "currency": c.get("currency"),
        }
    if sku and c.get("cart_id"):
        name = names.get(str(sku)) or str(sku)
        extra["cart"] = {"lines": [{"sku": sku, "name": name, "quantity": c.get("quantity", 1)}]}
    if store:
        stock = f.stock.get((str(sku), str(store)))
        extra["store"] = {
            "code": store,
            "name": places.get(str(store)),
            "stock": stock,
            "available": stock,
        }
    return extra
