from __future__ import annotations

from omniretail.kernel.errors import Conflict, DomainError, InvalidRequest, NotFound


class InvalidCredentials(DomainError):
    slug = "invalid-credentials"
    title = "Invalid credentials"
    status = 401


class UnknownPrincipal(NotFound):
    slug = "unknown-principal"
    title = "Unknown principal"


class UnknownApiKey(NotFound):
    slug = "unknown-api-key"
    title = "Unknown API key"


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


class SignInThrottled(DomainError):
    """Too many failed sign-ins for the account or the client address (``retry_after``
    seconds, also sent as the Retry-After header)."""

    slug = "too-many-sign-in-attempts"
    title = "Too many failed sign-ins"
    status = 429


class WeakPassword(InvalidRequest):
    slug = "weak-password"
    title = "The password is too weak"


class InvalidResetToken(InvalidRequest):
    slug = "invalid-reset-token"
    title = "The reset token is not valid"


class PrincipalConflict(Conflict):
    slug = "principal-conflict"
    title = "This cannot be done to this principal"


class InvalidResetCode(InvalidRequest):
    """One answer for every failure (unknown email, no code, wrong, used, expired, locked), so
    redemption tells nobody which emails have an account."""

    slug = "invalid-reset-code"
    title = "The reset code is not valid"


class PasswordResetThrottled(DomainError):
    """Too many reset requests for this email or from this client (``retry_after`` seconds,
    also sent as the Retry-After header)."""

    slug = "too-many-password-reset-requests"
    title = "Too many password reset requests"
    status = 429


class PublicRequestsThrottled(DomainError):
    """Too many requests from this client address to the public routes the policy counts
    (``retry_after`` seconds, also sent as the Retry-After header)."""

    slug = "too-many-requests"
    title = "Too many requests"
    status = 429
