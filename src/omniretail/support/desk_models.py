"""The desk's table (imported by ``models``): the satisfaction survey asked after a
conversation is resolved, answered once per link with a rating of 1 to 5."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class SatisfactionSurvey(Base):
    """One per resolution: ``token_hash`` (SHA-256 of the link's token) is the credential;
    ``rating`` stays null until the customer answers."""

    __tablename__ = "support_surveys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("support_conversations.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    asked_at: Mapped[datetime]
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(500))
    answered_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_1_to_5"),
    )
