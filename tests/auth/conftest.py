from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from omniretail.auth import security


class CountingHasher(PasswordHasher):
    """Argon2 with the library's smallest parameters (tests sign in often), counting
    verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    counting = CountingHasher()
    monkeypatch.setattr(security, "_hasher", lambda: counting)
    security._dummy_hash.cache_clear()
    yield counting
    security._dummy_hash.cache_clear()
