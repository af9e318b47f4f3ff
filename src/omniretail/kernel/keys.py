"""Purpose-bound keys derived from one master secret (HKDF-SHA256, no home-made crypto).

Each use (PII encryption, blind indexes, token signing) gets its own key, so a leak or a
rotation of one never weakens another."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@dataclass(frozen=True)
class Keyring:
    master: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.master) < 16:
            raise ValueError("the master secret must be at least 16 bytes")

    def derive(self, purpose: str, length: int = 32) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(),
            length=length,
            salt=b"omniretail.v1",
            info=purpose.encode(),
        ).derive(self.master)
