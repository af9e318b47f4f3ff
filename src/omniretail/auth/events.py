"""Auth events (``omniretail.auth.*`` in the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class PasswordResetCodeRequested(Event):
    """A customer asked for a password reset code; the handler emails the code stored under
    ``code_id`` (never the code itself). ``principal_id`` names the subject."""

    type: ClassVar[str] = "auth.password_reset_code_requested"
    subject_template: ClassVar[str] = "auth/principals/{principal_id}"
    code_id: int
    principal_id: int
