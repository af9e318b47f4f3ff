"""Routing tables: ``routing_rule_sets`` (versioned routing rules) and ``capacity_usage``
(fulfilments taken per location and day)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base


class CapacityUsage(Base):
    """Ship-from-store fulfilments taken per location and local day (conditional increments)."""

    __tablename__ = "capacity_usage"

    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    used: Mapped[int] = mapped_column(default=0)

    __table_args__ = (CheckConstraint("used >= 0", name="used_not_negative"),)


class RoutingRuleSet(Base):
    """A version of the routing rules (data, not code); the highest version is in force."""

    __tablename__ = "routing_rule_sets"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(120))
    rules: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("version > 0", name="version_positive"),)
