"""Support errors (problem+json)."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


class UnknownConversation(NotFound):
    slug = "unknown-conversation"
    title = "Unknown support conversation"


class UnknownTeam(NotFound):
    slug = "unknown-support-team"
    title = "Unknown support team"


class UnknownCannedReply(NotFound):
    slug = "unknown-canned-reply"
    title = "Unknown canned reply"


class CannedReplyExists(Conflict):
    slug = "canned-reply-exists"
    title = "A canned reply with this code exists"


class TemplateRefused(InvalidRequest):
    slug = "support-template-refused"
    title = "The canned reply cannot be rendered"


class ConversationClosed(Conflict):
    slug = "conversation-closed"
    title = "The conversation is closed or merged"


class InvalidSupportRequest(InvalidRequest):
    slug = "invalid-support-request"
    title = "The support request is not valid"


class BadSignature(InvalidRequest):
    slug = "bad-webhook-signature"
    title = "The webhook signature is missing, wrong or too old"
    # 400, not 401: the route needs no sign-in (its signature is the credential), and 401
    # means "sign in" everywhere else in the API.
    status = 400
