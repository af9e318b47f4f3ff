from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from omniretail.auth.models import Role
from omniretail.kernel.limits import Id


class PrincipalCreate(BaseModel):
    username: str | None = Field(default=None, min_length=3, max_length=120)
    role: Role
    password: str | None = Field(default=None, min_length=12, max_length=200)
    store_code: str | None = Field(default=None, max_length=40)
    customer_id: Id | None = None
    kind: Literal["person", "system"] = "person"
    # Systems only: permissions no role grants (auth.policy.EXPLICIT_ONLY).
    permissions: list[Literal["identities:verify"]] = Field(default_factory=list, max_length=5)


class PrincipalRead(BaseModel):
    id: int
    username: str | None
    kind: str
    role: Role
    store_code: str | None
    customer_id: int | None
    active: bool
    created_at: datetime
    permissions: list[str] = Field(default_factory=list)


class ApiKeyCreate(BaseModel):
    label: str = Field(min_length=1, max_length=120)


class ApiKeyCreated(BaseModel):
    id: int
    principal_id: int
    label: str
    prefix: str
    key: str = Field(description="shown once; only a digest is stored")


class ApiKeyRead(BaseModel):
    """A key as listed: its prefix, never the key or its digest. Use is not recorded (a write
    on every API call), so there is no "last used"."""

    id: int
    principal_id: int
    principal: str
    label: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: Role


class WhoAmI(BaseModel):
    id: int
    name: str
    role: Role
    store_code: str | None
    customer_id: int | None
    via: str


class AuditRead(BaseModel):
    id: int
    occurred_at: datetime
    actor: str
    role: str
    action: str
    area: str
    subject: str | None


class PrincipalUpdate(BaseModel):
    active: bool | None = Field(default=None, description="false: every token and key stops")


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class PasswordResetIssued(BaseModel):
    principal_id: int
    token: str = Field(description="shown once; the person redeems it at POST /auth/password-reset")
    expires_at: datetime


class PasswordResetRedeem(BaseModel):
    """Either an admin's one-time ``token``, or the ``email`` and the ``code`` emailed to it
    (``POST /auth/password-reset/request``)."""

    token: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=320)
    code: str | None = Field(default=None, min_length=1, max_length=20)
    new_password: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_credential(self) -> PasswordResetRedeem:
        by_token = self.token is not None and self.email is None and self.code is None
        by_code = self.token is None and self.email is not None and self.code is not None
        if not (by_token or by_code):
            raise ValueError("give either a token, or the email and the code emailed to it")
        return self


class PasswordResetRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320)


class PasswordResetRequested(BaseModel):
    detail: str
    expires_in_minutes: int
