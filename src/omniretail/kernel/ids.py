from __future__ import annotations

import secrets
import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def new_token(nbytes: int = 24) -> str:
    """An unguessable URL-safe token (tracking links, pickup secrets)."""
    return secrets.token_urlsafe(nbytes)
