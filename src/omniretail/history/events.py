"""Past-tense history events (``omniretail.history.*`` in the outbox)."""

from __future__ import annotations

from omniretail.history.schemas import ImportReport
from omniretail.kernel.events import DomainEvent


def history_imported(report: ImportReport) -> DomainEvent:
    return DomainEvent(
        "history.imported", f"history/{report.source}", report.model_dump(mode="json")
    )
