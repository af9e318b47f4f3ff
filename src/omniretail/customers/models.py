from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # The source system's customer number (Online Retail II "Customer ID").
    customer_number: Mapped[int | None] = mapped_column(unique=True)
    country: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
