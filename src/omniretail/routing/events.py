"""Routing events (``omniretail.orders.routing_*`` in the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class RoutingRulesSaved(Event):
    """A new version of the routing rules was saved; it is in force from now on."""

    type: ClassVar[str] = "orders.routing_rules_saved"
    subject_template: ClassVar[str] = "routing/{version}"
    version: int
    name: str
    actor: str
