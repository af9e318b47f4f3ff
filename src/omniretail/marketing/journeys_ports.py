"""The journeys' way to sending (``marketing.sending``), imported when first used so the
engine does not depend on its module at import time. Tests replace these functions."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from omniretail.db.uow import UnitOfWork

SENDING = "omniretail.marketing.sending"


def _sending() -> Any:
    return importlib.import_module(SENDING)


def queue_sends(uow: UnitOfWork, requests: Sequence[Mapping[str, Any]]) -> int:
    """Each mapping holds ``SendRequest``'s fields; existing keys are ignored by sending."""
    if not requests:
        return 0
    sending = _sending()
    return int(sending.queue_sends(uow, [sending.SendRequest(**r) for r in requests]))


def set_attribute(uow: UnitOfWork, customer_id: int, name: str, value: str) -> None:
    _sending().set_attribute(uow, customer_id, name, value)


def deliver_due() -> Callable[..., int] | None:
    """Sending's ``deliver_due`` when sending is installed (the background loop calls it)."""
    try:
        return _sending().deliver_due  # type: ignore[no-any-return]
    except ModuleNotFoundError:
        return None
