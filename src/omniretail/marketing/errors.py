"""Marketing's domain errors (rendered as problem+json)."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


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
