"""Webhooks: each active subscription whose patterns match an event gets its own delivery
(handler ``webhook:<id>``), so one failing endpoint is retried without resending to others.

The request::

    POST <url>
    Content-Type: application/cloudevents+json
    Omniretail-Event-Id: <CloudEvent id, the same on every retry: dedupe on it>
    Omniretail-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

    <the CloudEvent as JSON>

A 2xx answer means delivered; anything else, a timeout or a connection error is retried with
back-off. Redirects are not followed. A receiver checks ``verify_signature`` on the raw body
before parsing it (see ``docs/messaging.md`` for a standalone version).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from functools import partial

import httpx
from sqlalchemy.orm import Session

from omniretail.kernel.clock import Clock
from omniretail.kernel.keys import same_secret
from omniretail.kernel.limits import whole_number
from omniretail.messaging.handlers import (
    CloudEvent,
    Handler,
    SkipDelivery,
    UnknownHandler,
    UowFactory,
    matches,
)
from omniretail.notifications import repository, targets
from omniretail.notifications.events import INTERNAL_TYPE_PREFIX
from omniretail.notifications.models import SECRET_FIELD

PREFIX = "webhook:"
CONTENT_TYPE = "application/cloudevents+json"
SIGNATURE_HEADER = "Omniretail-Signature"
EVENT_ID_HEADER = "Omniretail-Event-Id"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookRejected(Exception):
    """The endpoint answered, but not with 2xx."""


def encode_event(event: CloudEvent) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Omniretail-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs exactly ``body`` with ``secret`` and its timestamp is within
    ``tolerance`` seconds of ``now`` (default: the current time), which bounds replays.

    Several ``v1=`` entries are allowed (any one matching is enough)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = whole_number(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, body)
    return any(same_secret(expected, candidate) for candidate in signatures)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def handler_name(subscription_id: int) -> str:
    return f"{PREFIX}{subscription_id}"


class WebhookSource:
    """The ``HandlerSource`` of webhook subscriptions, and their delivery over HTTP."""

    prefix = PREFIX

    def __init__(
        self,
        clock: Clock,
        *,
        timeout_seconds: float = 10.0,
        client: httpx.Client | None = None,
        allow_private_networks: bool = False,
    ) -> None:
        self.clock = clock
        self.timeout = httpx.Timeout(timeout_seconds)
        self.allow_private_networks = allow_private_networks
        # One client for every delivery, so a receiver's connection is kept for the next call;
        # made at the first delivery and ended by ``close``. A client passed in is the caller's.
        self._client = client
        self._owns_client = client is None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = (
                    httpx.Client(timeout=self.timeout, follow_redirects=False)
                    if self.allow_private_networks
                    else targets.guarded_client(self.timeout)
                )
            return self._client

    def close(self) -> None:
        """Closes the client this sender made and its connections (as an engine's ``dispose``
        does, a later delivery makes a new one)."""
        if not self._owns_client:
            return
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def planner(self, session: Session) -> Callable[[str], list[str]]:
        subscriptions = [
            (s.id, list(s.event_types))
            for s in repository.list_subscriptions(session, active_only=True)
        ]

        def names_for(event_type: str) -> list[str]:
            if event_type.startswith(INTERNAL_TYPE_PREFIX):
                return []
            return [
                handler_name(sid)
                for sid, patterns in subscriptions
                if any(matches(p, event_type) for p in patterns)
            ]

        return names_for

    def handler(self, name: str) -> Handler:
        number = name.removeprefix(PREFIX)
        if not number.isdigit():
            raise UnknownHandler(f"{name!r} is not a webhook handler name")
        return partial(self.deliver, int(number))

    def deliver(self, subscription_id: int, event: CloudEvent, uow_factory: UowFactory) -> None:
        with uow_factory() as uow:
            subscription = repository.get_subscription(uow.session, subscription_id)
            if subscription is None:
                raise SkipDelivery(f"webhook subscription {subscription_id} was deleted")
            if not subscription.active:
                raise SkipDelivery(f"webhook subscription {subscription_id} is inactive")
            url = subscription.url
            secret = uow.vault.decrypt(SECRET_FIELD, subscription.secret_enc) or ""
        try:
            targets.check_url(url, allow_private=True)  # scheme and form; addresses: at connect
        except targets.UnsafeTarget as exc:
            raise WebhookRejected(f"{url} refused: {exc}") from None
        body = encode_event(event)
        headers = {
            "Content-Type": CONTENT_TYPE,
            EVENT_ID_HEADER: str(event["id"]),
            SIGNATURE_HEADER: sign(secret, body, int(self.clock.now().timestamp())),
            "User-Agent": "Omniretail-Webhooks/1",
        }
        response = self._http().post(url, content=body, headers=headers, timeout=self.timeout)
        if not response.is_success:
            raise WebhookRejected(f"{url} answered HTTP {response.status_code}")
