"""Purpose-bound keys derived from master secrets (HKDF-SHA256, no home-made crypto).

Each use (PII encryption, blind indexes, token signing) gets its own key, so a leak or a
rotation of one never weakens another. A ``Keyring`` holds one or more master secrets, each
with a key id (kid): the first is current (new ciphertext, new tokens), the others stay
readable until ``omniretail keys re-encrypt`` has moved everything to the current one.

Blind indexes do not rotate with the ring: they are equality look-ups and unique keys, so
their key is pinned (``index_key``): an ``index:<base64>`` entry of the ring when given, else
derived from the oldest master (the last entry)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INDEX_KID = "index"
INDEX_PURPOSE = "pii-blind-index"


class KeyringError(ValueError):
    """The configured secrets cannot form a key ring (the message says what to fix)."""


@lru_cache(maxsize=256)
def _hkdf(master: bytes, purpose: str, length: int = 32) -> bytes:
    # cached per process: signing a link per send derived the same key each time
    return HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=b"omniretail.v1",
        info=purpose.encode(),
    ).derive(master)


def _index_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.encode() + b"=" * (-len(text) % 4))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise KeyringError("the index: entry must be the one `omniretail keys index-key` prints")
    return key


def derived_kid(master: bytes) -> str:
    """A stable id for an unnamed secret (names it in ciphertext and tokens, reveals nothing)."""
    return "k" + hashlib.sha256(_hkdf(master, "key-id")).hexdigest()[:8]


def generate_secret() -> str:
    return secrets.token_urlsafe(48)


def same_secret(expected: str | bytes, given: str | bytes) -> bool:
    """Constant-time equality of a secret (a MAC, a CSRF token, a code) and what a caller sent.

    ``hmac.compare_digest`` raises TypeError for text with a non-ASCII character, so a form
    field or header of "é" was a 500: both sides are compared as UTF-8 bytes."""
    return hmac.compare_digest(_bytes(expected), _bytes(given))


def _bytes(value: str | bytes) -> bytes:
    # surrogatepass: JSON may carry a lone surrogate ("\ud800"), which strict UTF-8 refuses
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


@dataclass(frozen=True)
class Keyring:
    """``master`` is the current secret; ``older`` the (kid, secret) pairs still readable."""

    master: bytes = field(repr=False)
    kid: str = ""
    older: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    # A pinned blind-index key (already derived), when the oldest master has been dropped.
    pinned_index_key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for master in (self.master, *(m for _, m in self.older)):
            if len(master) < 16:
                raise KeyringError("a master secret must be at least 16 bytes")
        if not self.kid:
            object.__setattr__(self, "kid", derived_kid(self.master))
        ids = [self.kid, *(k for k, _ in self.older)]
        if len(set(ids)) != len(ids) or INDEX_KID in ids:
            raise KeyringError(f"key ids must be distinct and not {INDEX_KID!r}: {ids}")

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """``"k2:<secret>,k1:<secret>"`` (first is current; the id ends at the first ":", so a
        secret may contain ":" but not ","); an entry without ":" is a bare secret with a
        derived id; ``index:<base64>`` pins the blind-index key (``omniretail keys index-key``)."""
        entries: list[tuple[str, bytes]] = []
        pinned: bytes | None = None
        for raw in (part.strip() for part in text.split(",")):
            if not raw:
                continue
            kid, sep, secret = raw.partition(":")
            if not sep:
                kid, secret = "", raw
            if kid == INDEX_KID:
                pinned = _index_key(secret.strip())
                continue
            entries.append((kid.strip(), secret.strip().encode()))
        if not entries:
            raise KeyringError("no secret key given")
        named = [(kid or derived_kid(secret), secret) for kid, secret in entries]
        (kid, master), *older = named
        return cls(master, kid, tuple(older), pinned)

    @property
    def kids(self) -> tuple[str, ...]:
        """Current first."""
        return (self.kid, *(k for k, _ in self.older))

    def master_of(self, kid: str) -> bytes | None:
        """The secret named ``kid`` (its given id or its derived one)."""
        for name, master in ((self.kid, self.master), *self.older):
            if kid in (name, derived_kid(master)):
                return master
        return None

    def derive(self, purpose: str, length: int = 32) -> bytes:
        """A key of the current secret."""
        return _hkdf(self.master, purpose, length)

    def derive_for(self, kid: str, purpose: str, length: int = 32) -> bytes | None:
        master = self.master_of(kid)
        return None if master is None else _hkdf(master, purpose, length)

    def derive_all(self, purpose: str, length: int = 32) -> list[tuple[str, bytes]]:
        """(kid, key) of every secret, current first."""
        return [(k, _hkdf(m, purpose, length)) for k, m in ((self.kid, self.master), *self.older)]

    def index_key(self) -> bytes:
        """The blind-index key: pinned, else derived from the oldest secret."""
        if self.pinned_index_key is not None:
            return self.pinned_index_key
        oldest = self.older[-1][1] if self.older else self.master
        return _hkdf(oldest, INDEX_PURPOSE)

    def index_entry(self) -> str:
        """The ``index:<base64>`` ring entry that keeps blind indexes once old secrets go."""
        return f"{INDEX_KID}:" + base64.urlsafe_b64encode(self.index_key()).decode().rstrip("=")
