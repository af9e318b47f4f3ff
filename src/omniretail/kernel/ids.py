from __future__ import annotations

import hashlib
import secrets
import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def new_token(nbytes: int = 24) -> str:
    """An unguessable URL-safe token (tracking links, pickup secrets)."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """The look-up key a bearer token from ``new_token`` is stored and found by (a cart's
    token, an order's tracking link): SHA-256, hex (64 characters).

    Unkeyed on purpose, as API keys and chat tokens are: the token is 192 random bits, so
    there is no guess to test against the digest and a key would add nothing; and a look-up
    key that needs no key survives any rotation of the key ring (a keyed blind index whose key
    were lost would find no cart and no order)."""
    return hashlib.sha256(token.encode()).hexdigest()
