"""Segment tables: a saved rule and the customers it holds (``segment_members``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class Segment(Base):
    __tablename__ = "marketing_segments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    rule: Mapped[str] = mapped_column(Text)
    member_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    refreshed_at: Mapped[datetime | None]


class SegmentMember(Base):
    __tablename__ = "marketing_segment_members"
    __table_args__ = (Index("ix_marketing_segment_members_customer", "customer_id"),)

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("marketing_segments.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    entered_at: Mapped[datetime]
