"""Who a credential is, kept per process on PostgreSQL so most requests need no statement
and no thread: the answer of ``service.current_principal`` (a bearer token, keyed by principal,
token id and token version) or ``service.principal_for_key`` (an API key, keyed by digest).

Revocation stays prompt: migration 0048's triggers ``pg_notify`` the principal's id on every
change that can end its access, and a ``db.notify.Listener`` drops that principal's entries
(anything it does not understand drops them all). It fails closed: entries are served only
while LISTEN is in place and the server answered within ``3 x ping_seconds``; a lost connection
clears the cache, which is bypassed until LISTEN is back. A read that raced a notification is
not stored (``generation``). Only grants are cached, never a refusal."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any

import psycopg

from omniretail.auth.security import AuthPrincipal
from omniretail.db.notify import Listener

MAX_ENTRIES = 10_000

_CHANNEL = """
SELECT left('omniretail_auth:' || n.nspname, 63)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = 'principals'::regclass
"""

_caches: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


def forget_everywhere(principal_id: int | None) -> None:
    """This process's own revocations drop its entries at once (before and after the commit)
    without waiting for their notification; ``None``: every principal."""
    for cache in list(_caches):
        cache.forget(principal_id)


def token_key(claimed: AuthPrincipal) -> Hashable:
    return ("token", claimed.id, claimed.token_id, claimed.version)


def api_key_key(digest: str) -> Hashable:
    return ("key", digest)


class PrincipalCache:
    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        *,
        max_age: float,
        max_entries: int = MAX_ENTRIES,
        ping_seconds: float = 1.0,
    ) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self.generation = 0
        self._entries: dict[Hashable, tuple[int, float, AuthPrincipal]] = {}
        self._lock = threading.RLock()
        self._up = False
        self._started = False
        self.listener = Listener(
            connect,
            _channel,
            on_up=self._on_up,
            on_down=self._on_down,
            on_notify=self._on_notify,
            ping_seconds=ping_seconds,
            name="auth-cache",
        )
        _caches.add(self)

    @property
    def serving(self) -> bool:
        """LISTEN is in place and the server answered lately (starts the listener)."""
        if not self._started:
            with self._lock:
                if not self._started:
                    self._started = True
                    self.listener.start()
        silent = time.monotonic() - self.listener.alive_at
        return self._up and silent < 3 * self.listener.ping_seconds

    def get(self, key: Hashable, now: float) -> AuthPrincipal | None:
        """The stored answer, unless too old or (``now``: epoch seconds) its token expired."""
        if not self.serving:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        _id, stored_at, principal = entry
        expired = principal.via == "token" and principal.expires_at <= now
        if expired or time.monotonic() - stored_at > self.max_age:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return principal

    def put(self, key: Hashable, principal: AuthPrincipal, generation: int) -> bool:
        """Stores an answer read after ``generation`` was taken, unless a notification or a
        lost connection came in since (the read may predate a revocation)."""
        with self._lock:
            if generation != self.generation or not self.serving:
                return False
            while len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (principal.id, time.monotonic(), principal)
            return True

    def forget(self, principal_id: int | None) -> None:
        with self._lock:
            self.generation += 1
            if principal_id is None:
                self._entries.clear()
                return
            for key in [k for k, e in self._entries.items() if e[0] == principal_id]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def stop(self) -> None:
        _caches.discard(self)
        if self._started:
            self.listener.stop()
        self._on_down()

    def _on_notify(self, payload: str) -> None:
        try:
            principal_id: int | None = int(payload)
        except ValueError:
            principal_id = None
        self.forget(principal_id)

    def _on_up(self) -> None:
        with self._lock:
            self._entries.clear()
            self.generation += 1
            self._up = True

    def _on_down(self) -> None:
        with self._lock:
            self._up = False
            self._entries.clear()
            self.generation += 1


def _channel(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute(_CHANNEL).fetchone()
    assert row is not None
    return str(row[0])
