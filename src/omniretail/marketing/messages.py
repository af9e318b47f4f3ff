"""Messages: written once, rendered per channel for one customer, with tracked links.

Context a template sees (``personal_context``; anything missing renders as nothing):
``customer.first_name``, ``customer.tier``, ``customer.points`` (the loyalty face; None when
not enrolled) and ``buy_again``: up to 3 of ``{sku, name, quantity}`` the customer bought most
(orders on every channel, net of returns).

Links: the call to action goes through ``/r/<token>`` and the opt-out through
``/u/<token>``; a token is the JSON of what it names, signed with HMAC-SHA256 under a key of
the keyring's own purpose, so only the token is trusted (never a query parameter).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from sqlalchemy import select

from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentWrite
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.loyalty import service as loyalty
from omniretail.marketing.errors import MessageExists, UnknownLink, UnknownMessage
from omniretail.marketing.messages_models import MarketingMessage, MessageClick
from omniretail.marketing.messages_rendering import Links, Rendition, check_template, render_channel
from omniretail.marketing.schemas import (
    MessageCreate,
    MessageRead,
    MessageUpdate,
    RenditionRead,
    SmsRead,
    SuppressionWrite,
)
from omniretail.marketing.sending_models import MarketingSend
from omniretail.marketing.sending_policy import suppress
from omniretail.orders import service as orders

BUY_AGAIN = 3
CONSENT_CHANNELS = ("email", "sms", "push")


def _read(row: MarketingMessage) -> MessageRead:
    return MessageRead.model_validate(row, from_attributes=True)


def _get(uow: UnitOfWork, code: str) -> MarketingMessage:
    row = uow.session.scalar(select(MarketingMessage).where(MarketingMessage.code == code))
    if row is None:
        raise UnknownMessage(f"no message {code!r}", field="code")
    return row


def _check(data: MessageUpdate) -> None:
    check_template(data.subject, "subject")
    check_template(data.body, "body")


def create_message(uow: UnitOfWork, data: MessageCreate) -> MessageRead:
    _check(data)
    if uow.session.scalar(select(MarketingMessage.id).where(MarketingMessage.code == data.code)):
        raise MessageExists(f"a message {data.code!r} exists", field="code")
    row = MarketingMessage(**data.model_dump(), created_at=uow.now, updated_at=uow.now)
    uow.session.add(row)
    uow.session.flush()
    return _read(row)


def update_message(uow: UnitOfWork, code: str, data: MessageUpdate) -> MessageRead:
    _check(data)
    row = _get(uow, code)
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    row.updated_at = uow.now
    uow.session.flush()
    return _read(row)


def delete_message(uow: UnitOfWork, code: str) -> None:
    row = _get(uow, code)
    uow.session.query(MessageClick).filter(MessageClick.message_id == row.id).delete()
    uow.session.delete(row)
    uow.session.flush()


def get_message(uow: UnitOfWork, code: str) -> MessageRead:
    return _read(_get(uow, code))


def list_messages(uow: UnitOfWork) -> list[MessageRead]:
    rows = uow.session.scalars(select(MarketingMessage).order_by(MarketingMessage.code))
    return [_read(r) for r in rows]


def personal_context(uow: UnitOfWork, customer_id: int) -> dict[str, Any]:
    """What a template may say about one customer (see the module docstring)."""
    profile = customers.get_customer(uow, customer_id, vault=uow.vault)
    first_name = (profile.name or "").split(" ")[0] or None
    tier: str | None = None
    points: int | None = None
    try:
        account = loyalty.account_status(uow, profile.id)
        if account.enrolled:
            tier, points = account.tier.tier, account.available
    except DomainError:
        pass
    buy_again = [
        {"sku": r.sku_code, "name": r.name, "quantity": int(r.quantity)}
        for r in orders.most_bought_skus(uow.session, profile.id, BUY_AGAIN)
    ]
    return {
        "customer": {"id": profile.id, "first_name": first_name, "tier": tier, "points": points},
        "buy_again": buy_again,
    }


# --- signed links ------------------------------------------------------------------------


def _key(uow: UnitOfWork, kind: str) -> bytes:
    assert uow.keyring is not None, "the unit of work has no keyring"
    return uow.keyring.derive(f"marketing-{kind}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(uow: UnitOfWork, kind: str, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(_key(uow, kind), body.encode(), hashlib.sha256).digest()[:16]
    return f"{body}.{_b64(mac)}"


def verify(uow: UnitOfWork, kind: str, token: str) -> dict[str, Any]:
    """The payload of a token this system signed for ``kind``, else ``UnknownLink`` (404)."""
    body, _, mac = token.partition(".")
    expected = _b64(hmac.new(_key(uow, kind), body.encode(), hashlib.sha256).digest()[:16])
    if not mac or not hmac.compare_digest(mac.encode(), expected.encode()):
        raise UnknownLink("no such link")
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise UnknownLink("no such link") from exc
    if not isinstance(payload, dict):
        raise UnknownLink("no such link")
    return payload


def links_for(
    uow: UnitOfWork,
    message: MessageRead,
    customer_id: int,
    channel: str,
    *,
    send_id: int | None = None,
) -> Links:
    """The signed links; ``send_id`` (a send's rendition) makes a click count for its
    journey, step and channel."""
    link = None
    if message.link_url:
        payload: dict[str, Any] = {
            "m": message.id,
            "c": customer_id,
            "ch": channel,
            "u": message.link_url,
        }
        if send_id is not None:
            payload["s"] = send_id
        link = f"/r/{sign(uow, 'click', payload)}"
    unsubscribe = None
    if channel in CONSENT_CHANNELS:
        unsubscribe = f"/u/{sign(uow, 'unsubscribe', {'c': customer_id, 'ch': channel})}"
    return Links(link=link, unsubscribe=unsubscribe)


def render_for(uow: UnitOfWork, code: str, customer_id: int, channel: str) -> RenditionRead:
    """The message as ``customer_id`` would receive it on ``channel``."""
    message = get_message(uow, code)
    context = personal_context(uow, customer_id)
    rendition = render_channel(
        channel,
        subject=message.subject,
        body=message.body,
        link_label=message.link_label,
        image_url=message.image_url,
        context=context,
        links=links_for(uow, message, context["customer"]["id"], channel),
    )
    return _rendition_read(rendition)


def _rendition_read(r: Rendition) -> RenditionRead:
    return RenditionRead(
        channel=r.channel,
        title=r.title,
        text=r.text,
        html=r.html,
        image_url=r.image_url,
        link=r.link,
        sms=SmsRead(encoding=r.sms.encoding, length=r.sms.length, segments=r.sms.segments)
        if r.sms
        else None,
        limits=r.limits,
    )


def follow_link(uow: UnitOfWork, token: str) -> str:
    """Record the click a signed token names and return its http(s) target."""
    p = verify(uow, "click", token)
    url, message_id, customer_id = p.get("u"), p.get("m"), p.get("c")
    if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise UnknownLink("no such link")
    if not (isinstance(message_id, int) and isinstance(customer_id, int)):
        raise UnknownLink("no such link")
    if uow.session.get(MarketingMessage, message_id) is None:
        raise UnknownLink("no such link")
    send_id = p.get("s")  # absent from previews' tokens and those minted before sends had it
    if not isinstance(send_id, int) or uow.session.get(MarketingSend, send_id) is None:
        send_id = None
    uow.session.add(
        MessageClick(
            message_id=message_id,
            customer_id=customer_id,
            channel=str(p.get("ch", ""))[:20],
            url=url[:2000],
            clicked_at=uow.now,
            send_id=send_id,
        )
    )
    uow.session.flush()
    return url


def unsubscribe_target(uow: UnitOfWork, token: str) -> tuple[int, str]:
    p = verify(uow, "unsubscribe", token)
    customer_id, channel = p.get("c"), p.get("ch")
    if not isinstance(customer_id, int) or channel not in CONSENT_CHANNELS:
        raise UnknownLink("no such link")
    return customer_id, str(channel)


def unsubscribe(uow: UnitOfWork, token: str) -> str:
    """Withdraw marketing consent for the token's customer and channel (customers' face) and
    suppress that channel."""
    customer_id, channel = unsubscribe_target(uow, token)
    customers.set_consent(
        uow,
        customer_id,
        ConsentWrite.model_validate(
            {
                "purpose": "marketing",
                "channel": channel,
                "granted": False,
                "source": "unsubscribe-link",
                "method": "link",
            }
        ),
        actor=f"customer:{customer_id}",
    )
    suppress(uow, SuppressionWrite(customer_id=customer_id, channel=channel, reason="unsubscribed"))
    return channel


def clicks_of(uow: UnitOfWork, code: str) -> int:
    row = _get(uow, code)
    return len(
        uow.session.scalars(select(MessageClick.id).where(MessageClick.message_id == row.id)).all()
    )
