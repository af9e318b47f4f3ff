"""A sink for downstream systems: every outbox event, published to NATS JetStream.

The relay delivers every event (pattern ``*``) to the handler ``nats.jetstream``, which
publishes the CloudEvent (structured JSON, as webhooks get it) to the subject
``<prefix>.<event type without "omniretail.">``, e.g. ``omniretail.orders.order_confirmed``, with
the event id as ``Nats-Msg-Id``: JetStream drops a second copy of the same id within the
stream's duplicate window, so the relay's at-least-once redelivery does not show downstream as
a second message. A pass's events go in one batch: all are published, then every
acknowledgement is awaited; a missing one fails the batch and the relay retries (the copies
that did land are dropped as duplicates). The stream (subjects ``<prefix>.>``) is created at
the first publish when missing.

The relay is synchronous; the sink runs the asyncio client on an event-loop thread of its own,
started at the first publish. The client reconnects by itself a few times, then closes and the
next publish connects afresh; while it is disconnected, or for ``retry_after`` seconds after a
failed connection, publishing fails at once (no delivery waits for a timeout it would hit
anyway)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import re
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from omniretail.kernel.events import EVENT_TYPE_PREFIX
from omniretail.messaging.handlers import CloudEvent, HandlerRegistry, UowFactory

log = logging.getLogger(__name__)
T = TypeVar("T")

HANDLER_NAME = "nats.jetstream"
RECONNECT_ATTEMPTS = 3
# What a NATS subject token may not contain: whitespace and the wildcards.
_UNSAFE = re.compile(r"[\s*>]")


class SinkUnavailable(RuntimeError):
    """NATS could not take the events now; the relay retries the delivery."""


def subject_for(prefix: str, event_type: str) -> str:
    """``<prefix>.<type>``, the type without its ``omniretail.`` prefix."""
    name = event_type.removeprefix(EVENT_TYPE_PREFIX)
    return f"{prefix}.{_UNSAFE.sub('_', name)}"


class JetStreamSink:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "omniretail",
        stream: str = "OMNIRETAIL",
        timeout: float = 5.0,
        duplicate_window: float = 120.0,
        retry_after: float = 1.0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.stream = stream
        self.timeout = timeout
        self.duplicate_window = duplicate_window
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Used on the loop's thread only.
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = False
        self._down_until = 0.0
        self._connecting: asyncio.Lock | None = None

    def install(self, registry: HandlerRegistry) -> None:
        """Every event, one at a time or in batches, to this sink."""
        registry.add("*", HANDLER_NAME, self._one, batch=self._many)

    def _one(self, event: CloudEvent, _uow_factory: UowFactory) -> None:
        self.publish([event])

    def _many(self, events: list[CloudEvent], _uow_factory: UowFactory) -> None:
        self.publish(events)

    def publish(self, events: list[CloudEvent]) -> None:
        """Publish ``events`` and wait for JetStream to acknowledge each; raises
        ``SinkUnavailable`` (or the client's error) when any is not acknowledged."""
        if events:
            self._run(self._publish(events))

    def close(self) -> None:
        """Drains the connection and stops the loop's thread (a later publish starts again)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._disconnect(), loop).result(self.timeout + 1)
        except Exception as exc:  # closing anyway
            log.debug("closing the NATS connection: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        self._connecting = None  # bound to that loop
        thread.join(self.timeout + 1)
        loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._started_loop())
        try:
            # The coroutine bounds its own waits; this only guards against a stuck loop.
            return future.result(self.timeout * 3 + 1)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise SinkUnavailable(f"NATS at {self.url}: no answer in time") from None

    def _started_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="nats-jetstream-sink", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _publish(self, events: list[CloudEvent]) -> None:
        js = await self._jetstream()
        publishes = [
            js.publish(
                subject_for(self.prefix, event["type"]),
                json.dumps(event, separators=(",", ":"), default=str).encode(),
                timeout=self.timeout,
                stream=self.stream,
                headers={
                    "Nats-Msg-Id": str(event["id"]),
                    "Content-Type": "application/cloudevents+json",
                    "Ce-Type": str(event["type"]),
                },
            )
            for event in events
        ]
        results = await asyncio.gather(*publishes, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            self._stream_ready = False  # a server that lost the stream gets it back next time
            raise SinkUnavailable(
                f"NATS JetStream acknowledged {len(events) - len(failed)} of {len(events)}"
                f" events ({type(failed[0]).__name__}: {failed[0]})"
            )

    async def _jetstream(self) -> JetStreamContext:
        # Publishes from several relay threads share the connection: one of them connects.
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            return await self._connected()

    async def _connected(self) -> JetStreamContext:
        client = self._client
        if client is None or client.is_closed:
            if time.monotonic() < self._down_until:
                raise SinkUnavailable(f"NATS at {self.url} was unreachable a moment ago")
            try:
                client = await nats.connect(
                    self.url,
                    name="omniretail-relay",
                    connect_timeout=self.timeout,
                    # A dropped connection is tried again a few times; then the client closes
                    # and the next publish connects afresh (the first connection is tried
                    # the same number of times, so a down server fails the delivery quickly).
                    allow_reconnect=True,
                    max_reconnect_attempts=RECONNECT_ATTEMPTS,
                    reconnect_time_wait=0.5,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
            except Exception as exc:
                self._down_until = time.monotonic() + self.retry_after
                raise SinkUnavailable(f"NATS at {self.url} is unreachable ({exc!r})") from exc
            self._client, self._js = client, client.jetstream(timeout=self.timeout)
        elif not client.is_connected:
            raise SinkUnavailable(f"NATS at {self.url}: reconnecting")
        assert self._js is not None
        if not self._stream_ready:
            await self._ensure_stream(self._js)
            self._stream_ready = True
        return self._js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        subjects = f"{self.prefix}.>"
        try:
            info = await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[subjects],
                    duplicate_window=self.duplicate_window,
                )
            )
            log.info("created the JetStream stream %s (%s)", self.stream, subjects)
            return
        if subjects not in (info.config.subjects or []):
            raise SinkUnavailable(
                f"the JetStream stream {self.stream} does not take {subjects}"
                f" (its subjects: {info.config.subjects}); add them or set nats_stream"
            )

    async def _disconnect(self) -> None:
        client, self._client, self._js = self._client, None, None
        self._stream_ready = False
        if client is not None and not client.is_closed:
            await client.close()

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS: %s", exc)

    async def _on_disconnected(self) -> None:
        if self._client is None:
            return  # closed by us
        log.warning("NATS at %s: disconnected, reconnecting", self.url)

    async def _on_reconnected(self) -> None:
        log.info("NATS at %s: reconnected", self.url)
