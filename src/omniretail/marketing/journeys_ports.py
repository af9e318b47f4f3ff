"""The journeys' way to sending: send steps become ``SendRequest``s, attribute steps
``set_attribute``. Tests replace these functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.marketing import sending


def queue_sends(uow: UnitOfWork, requests: Sequence[Mapping[str, Any]]) -> int:
    """Each mapping holds ``SendRequest``'s fields; existing keys are ignored by sending."""
    if not requests:
        return 0
    return sending.queue_sends(uow, [sending.SendRequest(**r) for r in requests])


def set_attribute(uow: UnitOfWork, customer_id: int, name: str, value: str) -> None:
    sending.set_attribute(uow, customer_id, name, value)
