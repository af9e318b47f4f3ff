"""Auth events (``omniretail.auth.*`` in the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class PasswordResetAsked(Event):
    """Someone asked for a password reset code for an email, known or not (``email_index``:
    its blind index, a keyed digest that gives the address back to no one); the relay keeps
    a code if it is a customer's (``auth.password_reset.keep_code``)."""

    type: ClassVar[str] = "auth.password_reset_asked"
    subject_template: ClassVar[str] = "auth/password-resets"
    email_index: str


@dataclass(frozen=True, kw_only=True)
class PasswordResetCodeRequested(Event):
    """A customer asked for a password reset code; the handler emails the code stored under
    ``code_id`` (never the code itself). ``principal_id`` names the subject."""

    type: ClassVar[str] = "auth.password_reset_code_requested"
    subject_template: ClassVar[str] = "auth/principals/{principal_id}"
    code_id: int
    principal_id: int


@dataclass(frozen=True, kw_only=True)
class SignUpForExistingAccount(Event):
    """Someone tried to sign up in the shop with the verified email ``identity_id`` of a
    customer who already signs in; the handler tells the owner (nothing else changes)."""

    type: ClassVar[str] = "auth.sign_up_for_existing_account"
    subject_template: ClassVar[str] = "auth/principals/{principal_id}"
    principal_id: int
    identity_id: int
