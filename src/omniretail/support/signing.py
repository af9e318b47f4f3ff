"""The inbound webhook's signature: ``Omniretail-Signature: t=<unix seconds>,v1=<hex>``, where
the hex is HMAC-SHA256 with the shared secret over ``"<t>." + body``. A signature outside the
tolerance window (either way) is refused; inside it a replay re-sends the same message id,
which adds nothing."""

from __future__ import annotations

import hashlib
import hmac

from omniretail.kernel.keys import same_secret
from omniretail.kernel.limits import whole_number

SIGNATURE_HEADER = "Omniretail-Signature"


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: float) -> bool:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = whole_number(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures or abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, body)
    return any(same_secret(expected, s) for s in signatures)
