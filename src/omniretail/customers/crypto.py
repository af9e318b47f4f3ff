"""PII at rest: AES-256-GCM encryption and keyed-hash blind indexes (``cryptography``).

A database dump holds only ciphertext (``v1:`` + base64 of nonce and sealed text, bound to its
field by the associated data) and HMAC-SHA256 digests; neither reveals who a customer is
without the key from settings. Equality look-ups (email, phone, card number) go through
``blind_index``, computed over the normalised value."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from omniretail.kernel.keys import Keyring

PREFIX = "v1:"
_SPACES = re.compile(r"\s+")


class PiiVault:
    def __init__(self, keyring: Keyring) -> None:
        self._aead = AESGCM(keyring.derive("pii-encryption"))
        self._index_key = keyring.derive("pii-blind-index")

    def encrypt(self, field: str, value: str | None) -> str | None:
        if value is None:
            return None
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), field.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, field: str, token: str | None) -> str | None:
        if token is None:
            return None
        if not token.startswith(PREFIX):
            raise ValueError("not a PII ciphertext")
        raw = base64.b64decode(token[len(PREFIX) :])
        return self._aead.decrypt(raw[:12], raw[12:], field.encode()).decode()

    def try_decrypt(self, field: str, token: str) -> str | None:
        """For audits that scan stored values: None when the value is not our ciphertext."""
        try:
            return self.decrypt(field, token)
        except (ValueError, InvalidTag):
            return None

    def blind_index(self, kind: str, value: str) -> str:
        digest = hmac.new(
            self._index_key, f"{kind}\x00{normalise(kind, value)}".encode(), hashlib.sha256
        )
        return digest.hexdigest()[:40]


def normalise(kind: str, value: str) -> str:
    """The canonical form identities are compared in (case, spaces, phone punctuation)."""
    text = _SPACES.sub(" ", value.strip())
    if kind == "email":
        return text.lower()
    if kind == "phone":
        digits = re.sub(r"[^\d+]", "", text)
        return "+44" + digits[1:] if digits.startswith("0") else digits
    if kind in ("name_postcode", "social"):
        return text.lower()
    return text.upper()


@lru_cache(maxsize=8)
def vault_for(keyring: Keyring) -> PiiVault:
    return PiiVault(keyring)
