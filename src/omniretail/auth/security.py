"""Credentials: Argon2 password hashes, API keys (stored as SHA-256 digests) and signed
bearer tokens (JWT, HS256, key derived from the master secret)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from omniretail.kernel.keys import Keyring
from omniretail.settings import PasswordHashSettings

KEY_PREFIX = "ork_"
ISSUER = "omniretail"


@dataclass(frozen=True)
class AuthPrincipal:
    """Who is calling, as every route sees it."""

    id: int
    role: str
    name: str
    store_code: str | None = None
    customer_id: int | None = None
    via: str = "token"  # token | api_key
    kind: str = "person"  # person | system (API keys only; a token is always a person's)
    # Permissions given by name (``auth.policy.EXPLICIT_ONLY``); API keys of systems only.
    permissions: frozenset[str] = frozenset()
    version: int = 0  # the principal's token_version the token was issued under
    token_id: str | None = None  # the token's ``jti``: what signing out revokes
    expires_at: int = 0  # the token's ``exp`` (epoch seconds)
    # An API key's creator (``api_keys.created_by``): the person it was shown to, once. None
    # for a sign-in, and for a key made at the shell (the CLI) or whose creator is gone.
    owner_id: int | None = None
    owner: str | None = None  # the creator's actor

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"

    @property
    def person(self) -> str:
        """Who is behind the credential, as an actor: an API key's creator, else the
        principal (what per-person limits count against, ``loyalty.service.Goodwill``)."""
        return self.owner or self.actor


def password_hasher(settings: PasswordHashSettings) -> PasswordHasher:
    """Argon2id with the configured cost; the test profile takes the library's minimum cost
    (hash and salt lengths stay the production ones)."""
    if settings.profile == "test":
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher(
        time_cost=settings.time_cost,
        memory_cost=settings.memory_cost,
        parallelism=settings.parallelism,
    )


@cache
def _hasher() -> PasswordHasher:
    """Built on first use from the environment (nothing is read at import time)."""
    return password_hasher(PasswordHashSettings())


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@cache
def _dummy_hash() -> str:
    """A hash of a random secret with the same parameters as real ones: checking a password
    against it costs what a real check costs, and never succeeds."""
    return _hasher().hash(secrets.token_urlsafe(32))


def verify_password(stored: str | None, password: str) -> bool:
    """Exactly one Argon2 verification whatever ``stored`` is (no user, no password, a
    disabled one): the answer's timing does not tell which usernames exist."""
    try:
        return _hasher().verify(stored or _dummy_hash(), password) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


def new_reset_token() -> tuple[str, str]:
    """(token shown once, digest to store): 256 random bits, so SHA-256 is enough."""
    token = secrets.token_urlsafe(32)
    return token, digest_api_key(token)


def new_api_key() -> tuple[str, str, str]:
    """(key shown once, prefix for display, digest to store). Keys carry 256 random bits, so
    a fast digest is enough; passwords, which are guessable, get Argon2."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, digest_api_key(key)


def digest_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TokenSigner:
    """Signs with the ring's current key (its id in the ``kid`` header) and verifies with any
    key of the ring, so tokens issued before a rotation stay valid until they expire."""

    def __init__(self, keyring: Keyring, ttl_seconds: int) -> None:
        keys = keyring.derive_all("access-token-signing")
        self._kid, self._key = keys[0]
        self._keys = dict(keys)
        self._keyring = keyring
        self.ttl_seconds = ttl_seconds

    def _key_named(self, kid: str) -> bytes | None:
        return self._keys.get(kid) or self._keyring.derive_for(kid, "access-token-signing")

    def issue(self, principal: AuthPrincipal, now: datetime) -> str:
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": str(principal.id),
            "name": principal.name,
            "role": principal.role,
            "ver": principal.version,
            "jti": secrets.token_urlsafe(16),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_seconds)).timestamp()),
        }
        if principal.store_code:
            claims["store"] = principal.store_code
        if principal.customer_id is not None:
            claims["cid"] = principal.customer_id
        return jwt.encode(claims, self._key, algorithm="HS256", headers={"kid": self._kid})

    def verify(self, token: str, now: datetime) -> AuthPrincipal | None:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        # No kid: issued before key ids, by one of the ring's secrets.
        keys = list(self._keys.values()) if kid is None else [self._key_named(str(kid))]
        claims: dict[str, Any] | None = None
        for key in keys:
            if key is None:
                continue
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=["HS256"],
                    issuer=ISSUER,
                    options={"require": ["exp", "sub", "role"], "verify_exp": False},
                )
                break
            except jwt.PyJWTError:
                continue
        if claims is None:
            return None
        if int(claims["exp"]) <= int(now.timestamp()):
            return None
        return AuthPrincipal(
            id=int(claims["sub"]),
            role=str(claims["role"]),
            name=str(claims.get("name", claims["sub"])),
            store_code=claims.get("store"),
            customer_id=claims.get("cid"),
            via="token",
            version=int(claims.get("ver", 0)),
            token_id=str(claims["jti"]) if claims.get("jti") else None,
            expires_at=int(claims["exp"]),
        )
