"""Marketing errors (problem+json)."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


class InvalidSegmentRule(InvalidRequest):
    slug = "invalid-segment-rule"
    title = "The segment rule is not valid CEL"


class UnknownSegment(NotFound):
    slug = "unknown-segment"
    title = "Unknown segment"


class DuplicateSegment(Conflict):
    slug = "duplicate-segment"
    title = "A segment has this name already"
