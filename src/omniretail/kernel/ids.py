from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping


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


def redacted_path(path: str, path_params: Mapping[str, object]) -> str:
    """``path`` with every bearer token in it (a path parameter named like ``token``: a cart's,
    a chat's, a survey's, a tracking link's) replaced by ``~`` and the start of its digest, for
    the audit log and the server's log: the row still tells one cart from another, and whoever
    reads it cannot act with it."""
    for name, value in path_params.items():
        if "token" in name and isinstance(value, str) and value:
            path = path.replace(value, "~" + token_digest(value)[:16])
    return path
