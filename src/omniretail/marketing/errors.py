"""Marketing errors (problem+json)."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


class InvalidSegmentRule(InvalidRequest):
    slug = "invalid-segment-rule"
    title = "The segment rule is not valid CEL or too costly to evaluate"


class SegmentRuleTooSlow(InvalidRequest):
    slug = "segment-rule-too-slow"
    title = "The segment rule took too long to preview"


class UnknownSegment(NotFound):
    slug = "unknown-segment"
    title = "Unknown segment"


class DuplicateSegment(Conflict):
    slug = "duplicate-segment"
    title = "A segment has this name already"


class UnknownMessage(NotFound):
    slug = "unknown-message"
    title = "Unknown marketing message"


class MessageExists(Conflict):
    slug = "message-exists"
    title = "A message with this code exists"


class MessageTemplateRefused(InvalidRequest):
    slug = "message-template-refused"
    title = "The message template cannot be rendered"


class UnknownLink(NotFound):
    slug = "unknown-link"
    title = "Unknown link"


class UnknownStockAlert(NotFound):
    slug = "unknown-stock-alert"
    title = "Unknown stock alert"


class UnknownClassic(NotFound):
    slug = "unknown-classic"
    title = "No classic journey has this code"


class UnknownJourney(NotFound):
    slug = "unknown-journey"
    title = "Unknown journey"


class JourneyExists(Conflict):
    slug = "journey-exists"
    title = "A journey with this code exists"


class JourneyStateRefused(Conflict):
    slug = "journey-state-refused"
    title = "The journey cannot do this in its current status"


class UnknownSuppression(NotFound):
    slug = "unknown-suppression"
    title = "Unknown suppression"


class UnknownCard(NotFound):
    slug = "unknown-card"
    title = "Unknown card"


class NotACustomer(InvalidRequest):
    slug = "not-a-customer"
    title = "Only a signed-in customer has an inbox"
