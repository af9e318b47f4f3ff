"""Intelligence events (``omniretail.intelligence.*`` in the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class ForecastRefreshed(Event):
    """A new demand forecast snapshot replaced the old one; ``rows`` is its number of rows."""

    type: ClassVar[str] = "intelligence.forecast_refreshed"
    subject_template: ClassVar[str] = "forecasts"
    rows: int


@dataclass(frozen=True, kw_only=True)
class ScoresRefreshed(Event):
    """New customer scores (RFM segment, lifetime value) replaced the old ones; ``rows`` is the
    number of customers scored."""

    type: ClassVar[str] = "intelligence.scores_refreshed"
    subject_template: ClassVar[str] = "customer_scores"
    rows: int
