"""Marketing messages (written once, rendered per channel) and the clicks on their links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class MarketingMessage(Base):
    """One message: ``subject`` and ``body`` are sandboxed Jinja2 templates (see
    ``messages_rendering``); ``link_url`` is the call to action every rendition carries."""

    __tablename__ = "marketing_messages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    link_url: Mapped[str | None] = mapped_column(String(2000))
    link_label: Mapped[str | None] = mapped_column(String(100))
    image_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MessageClick(Base):
    """A click through ``/r/<token>``: which message, customer, channel and target, and the
    send it came with (``None`` for a preview's link or a token minted before sends)."""

    __tablename__ = "marketing_message_clicks"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("marketing_messages.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(2000))
    clicked_at: Mapped[datetime]
    send_id: Mapped[int | None] = mapped_column(ForeignKey("marketing_sends.id"), index=True)

    __table_args__ = (Index("ix_marketing_message_clicks_message", "message_id", "clicked_at"),)
