"""Principals (people and systems), their API keys, and the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from omniretail.db.base import Base, BigIntPK, JSONType


class Role(StrEnum):
    ADMIN = "admin"
    STORE_ASSOCIATE = "store_associate"
    SERVICE_AGENT = "service_agent"
    MARKETER = "marketer"
    CUSTOMER = "customer"


class Principal(Base):
    __tablename__ = "principals"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Staff and systems sign in by username; customers by a verified email (no username here,
    # so the table holds no customer's personal data).
    username: Mapped[str | None] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # person | system
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    store_code: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Permissions granted to this principal by name, on top of its role; never implied by a
    # role or by "*" (``auth.policy.EXPLICIT_ONLY``). Systems only.
    permissions: Mapped[list[str]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    # Tokens carry the version they were issued under; disabling the principal or changing
    # its password bumps it, so every earlier token stops working at once.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")

    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'store_associate', 'service_agent', 'marketer', 'customer')",
            name="role_known",
        ),
        CheckConstraint("kind IN ('person', 'system')", name="kind_known"),
        CheckConstraint("role <> 'store_associate' OR store_code IS NOT NULL", name="store_scoped"),
        CheckConstraint("role <> 'customer' OR customer_id IS NOT NULL", name="customer_scoped"),
    )


class ApiKey(Base):
    """Only a SHA-256 digest of the key is stored; the key is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Who created it (the person the key was shown to): per-person limits count the key's
    # use against them. No foreign key (erasure removes principals; ``delete_principals``
    # clears it); None for keys made at the shell and before 0057.
    created_by: Mapped[int | None] = mapped_column(BigIntPK)


class RevokedToken(Base):
    """A signed-out bearer token (its ``jti``), refused until it would have expired anyway.
    No foreign key: erasure removes principals, and these rows expire on their own."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[int] = mapped_column(BigIntPK)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(200))  # "POST /inventory/receipts"
    area: Mapped[str] = mapped_column(String(40))  # inventory, orders, customers, loyalty, ...
    subject: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_audit_log_area_time", "area", "occurred_at"),)


class SignInThrottle(Base):
    """Failed sign-ins per account and per client address (``key_hash``: a keyed digest of
    ``account:<name>`` or ``address:<ip>``, so no email is stored here)."""

    __tablename__ = "sign_in_throttles"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    # When the row no longer matters (quiet for a whole window after its lock-out).
    forget_after: Mapped[datetime] = mapped_column(index=True)


class PasswordReset(Base):
    """A one-time reset token; only its SHA-256 digest is stored."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PasswordResetCode(Base):
    """A one-time code a customer asked for by email ("forgot password",
    ``auth.password_reset``): kept as a keyed hash; its ciphertext lives only until the relay
    has sent it. ``identity_id`` is the verified email it goes to (no foreign key: erasure
    removes identities before principals, and these rows go with the principal)."""

    __tablename__ = "password_reset_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    identity_id: Mapped[int] = mapped_column(BigIntPK)
    code_hash: Mapped[str] = mapped_column(String(100))
    code_enc: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'used', 'superseded', 'locked', 'expired')",
            name="status_known",
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_password_reset_codes_principal", "principal_id", "created_at"),
    )
