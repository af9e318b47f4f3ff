"""Personal data at rest: AES-256-GCM encryption and keyed-hash blind indexes (``cryptography``).

A database dump holds only ciphertext and HMAC-SHA256 digests; neither reveals who a
customer is without the key ring. Ciphertext is ``v2:<kid>:`` + base64 of nonce and sealed
text, bound to its field by the associated data, so a value copied into another column does
not decrypt. ``v1:`` (before key ids) is still read, with every key of the ring. Equality
look-ups (email, phone, card number) go through ``blind_index`` over the normalised value,
under the ring's pinned index key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from omniretail.kernel.keys import Keyring

PREFIX = "v2:"
LEGACY_PREFIX = "v1:"
PURPOSE = "pii-encryption"
_SPACES = re.compile(r"\s+")


class UnknownKeyId(ValueError):
    """Ciphertext written under a key id that is not in the ring."""


def is_ciphertext(value: object) -> bool:
    return isinstance(value, str) and value.startswith((PREFIX, LEGACY_PREFIX))


def key_id_of(token: str) -> str:
    """The key id a ciphertext names ("v1" for ciphertext from before key ids)."""
    if token.startswith(LEGACY_PREFIX):
        return "v1"
    return token[len(PREFIX) :].split(":", 1)[0]


class PiiVault:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self.kid = keyring.kid
        self._aeads = {kid: AESGCM(key) for kid, key in keyring.derive_all(PURPOSE)}
        self._index_key = keyring.index_key()

    def encrypt(self, field: str, value: str | None) -> str | None:
        return None if value is None else self.encrypt_bytes(field, value.encode())

    def decrypt(self, field: str, token: str | None) -> str | None:
        return None if token is None else self.decrypt_bytes(field, token).decode()

    def encrypt_bytes(self, field: str, data: bytes) -> str:
        """Bytes (a file) sealed into the same text token as ``encrypt``'s, so a sealed binary
        column is re-encrypted, counted and checked like every other."""
        nonce = os.urandom(12)
        sealed = self._aeads[self.kid].encrypt(nonce, data, field.encode())
        return f"{PREFIX}{self.kid}:" + base64.b64encode(nonce + sealed).decode()

    def decrypt_bytes(self, field: str, token: str) -> bytes:
        if token.startswith(LEGACY_PREFIX):
            raw = base64.b64decode(token[len(LEGACY_PREFIX) :])
            for aead in reversed(self._aeads.values()):  # v1 came from the oldest secret
                try:
                    return aead.decrypt(raw[:12], raw[12:], field.encode())
                except InvalidTag:
                    continue
            raise InvalidTag()
        if not token.startswith(PREFIX):
            raise ValueError("not a PII ciphertext")
        kid, _, body = token[len(PREFIX) :].partition(":")
        aead = self._aeads.get(kid) or self._aead_by_alias(kid)
        raw = base64.b64decode(body)
        return aead.decrypt(raw[:12], raw[12:], field.encode())

    def _aead_by_alias(self, kid: str) -> AESGCM:
        key = self.keyring.derive_for(kid, PURPOSE)
        if key is None:
            raise UnknownKeyId(
                f"ciphertext under key id {kid!r}, which is not in the key ring "
                f"({', '.join(self.keyring.kids)}); add that secret to OMNIRETAIL_SECRET_KEYS"
            )
        return AESGCM(key)

    def try_decrypt(self, field: str, token: str) -> str | None:
        """For audits that scan stored values: None when the value is not our ciphertext."""
        try:
            return self.decrypt(field, token)
        except (ValueError, InvalidTag):
            return None

    def reencrypt(self, field: str, token: str) -> str:
        """The same value under the current key (unchanged when it already is)."""
        if token.startswith(f"{PREFIX}{self.kid}:"):
            return token
        # at the byte level: the same for text and for sealed files
        plain = self.decrypt_bytes(field, token) if is_ciphertext(token) else token.encode()
        return self.encrypt_bytes(field, plain)

    def encrypt_json(self, field: str, value: Any) -> str | None:
        return None if value is None else self.encrypt(field, json.dumps(value, sort_keys=True))

    def decrypt_json(self, field: str, token: str | None) -> Any:
        plain = self.decrypt(field, token)
        return None if plain is None else json.loads(plain)

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
