"""Routing errors: each carries its problem type, title and HTTP status."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest


class NoRoute(Conflict):
    slug = "no-route"
    title = "No location can fulfil these lines under the routing rules"


class InvalidRoutingRules(InvalidRequest):
    slug = "invalid-routing-rules"
    title = "The routing rules are not valid"


class OverCapacity(Conflict):
    slug = "over-capacity"
    title = "The location has no ship-from-store capacity left today"
