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


@dataclass(frozen=True, kw_only=True)
class MarkdownApproved(Event):
    """A person approved a markdown ladder: its steps are scheduled price lists
    (``MD:<id>:<step>``)."""

    type: ClassVar[str] = "intelligence.markdown_approved"
    subject_template: ClassVar[str] = "markdowns/{suggestion_id}"
    suggestion_id: int
    sku: str
    location: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class MarkdownRejected(Event):
    """A person rejected a markdown ladder; nothing was scheduled."""

    type: ClassVar[str] = "intelligence.markdown_rejected"
    subject_template: ClassVar[str] = "markdowns/{suggestion_id}"
    suggestion_id: int
    sku: str
    location: str
    actor: str
