"""Domain errors carry their RFC 9457 problem type, title and HTTP status."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://omniretail.dev/problems/"


class DomainError(Exception):
    """Base of every error a use case may raise on purpose; rendered as problem+json."""

    slug: ClassVar[str] = "domain-error"
    title: ClassVar[str] = "The request could not be completed"
    status: ClassVar[int] = 400

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug


class NotFound(DomainError):
    slug = "not-found"
    title = "Not found"
    status = 404


class Conflict(DomainError):
    slug = "conflict"
    title = "Conflict with the current state"
    status = 409


class InvalidRequest(DomainError):
    slug = "invalid-request"
    title = "The request is not valid"
    status = 422
