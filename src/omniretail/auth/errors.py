from __future__ import annotations

from omniretail.kernel.errors import Conflict, DomainError, InvalidRequest, NotFound


class InvalidCredentials(DomainError):
    slug = "invalid-credentials"
    title = "Invalid credentials"
    status = 401


class UnknownPrincipal(NotFound):
    slug = "unknown-principal"
    title = "Unknown principal"


class DuplicateUsername(Conflict):
    slug = "duplicate-username"
    title = "This username is taken"


class InvalidPrincipal(InvalidRequest):
    slug = "invalid-principal"
    title = "Invalid principal"


class Forbidden(DomainError):
    """The principal may not perform the operation (``auth.access.decide``)."""

    slug = "forbidden"
    title = "Not allowed"
    status = 403
