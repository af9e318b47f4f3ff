"""The NATS JetStream sink, against the real server (OMNIRETAIL_TEST_NATS_URL, default the
local one): every event lands once on its subject with its id as ``Nats-Msg-Id``; a second
publish of the same id is dropped by JetStream; an unreachable server fails the delivery, which
the relay retries until it lands (SQLite and PostgreSQL).

Each test uses a stream and subject prefix of its own, deleted at the end. Without a reachable
server the tests are skipped, unless OMNIRETAIL_REQUIRE_NATS=1 (as in .ci/run)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import nats
import pytest

from omniretail.bootstrap import build_container
from omniretail.kernel.events import DomainEvent, cloud_event
from omniretail.messaging.handlers import HandlerRegistry
from omniretail.messaging.jetstream import HANDLER_NAME, JetStreamSink, subject_for
from omniretail.messaging.relay import Relay, RetryPolicy
from omniretail.settings import Settings
from tests.messaging.conftest import deliveries, record

NATS_URL = os.environ.get("OMNIRETAIL_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 4222), 3).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def nats_url() -> str:
    if not _reachable(NATS_URL):
        message = f"NATS not reachable at {NATS_URL}"
        if os.environ.get("OMNIRETAIL_REQUIRE_NATS") == "1":
            pytest.fail(message + "; OMNIRETAIL_REQUIRE_NATS=1 forbids skipping")
        pytest.skip(message)
    return NATS_URL


@dataclass
class StoredMessage:
    subject: str
    headers: dict[str, str]
    body: dict[str, Any]


T = TypeVar("T")


def in_own_thread(coroutine: Callable[[], Awaitable[T]]) -> T:
    """Runs ``coroutine`` on an event loop of its own thread: a browser test earlier in this
    worker (Playwright's sync API) may leave an event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine())).result()  # type: ignore[arg-type]


class Stream:
    """A stream name and prefix of this test's own, read back through a client of its own."""

    def __init__(self, url: str) -> None:
        tag = uuid.uuid4().hex[:10]
        self.url = url
        self.name = f"REPLICA_{tag.upper()}"
        self.prefix = f"replica_{tag}"

    def sink(self, url: str | None = None) -> JetStreamSink:
        return JetStreamSink(url or self.url, prefix=self.prefix, stream=self.name, timeout=3.0)

    def messages(self) -> list[StoredMessage]:
        async def read() -> list[StoredMessage]:
            client = await nats.connect(self.url)
            try:
                js = client.jetstream()
                info = await js.stream_info(self.name)
                found = []
                for seq in range(info.state.first_seq, info.state.last_seq + 1):
                    if info.state.messages == 0:
                        break
                    msg = await js.get_msg(self.name, seq)
                    found.append(
                        StoredMessage(
                            msg.subject or "", dict(msg.headers or {}), json.loads(msg.data or b"")
                        )
                    )
                return found
            finally:
                await client.close()

        return in_own_thread(read)

    def delete(self) -> None:
        async def drop() -> None:
            client = await nats.connect(self.url)
            try:
                await client.jetstream().delete_stream(self.name)
            except Exception:  # never created
                pass
            finally:
                await client.close()

        in_own_thread(drop)


@pytest.fixture
def stream(nats_url: str) -> Iterator[Stream]:
    made = Stream(nats_url)
    yield made
    made.delete()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def made(n: int) -> DomainEvent:
    return DomainEvent("test.thing_made", f"things/{n}", {"n": n})


def _cloud(event: DomainEvent) -> dict[str, Any]:
    return cloud_event(
        id=event.id,
        source="test",
        type=event.full_type,
        subject=event.subject,
        time=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        data=event.data,
    )


def _relay(container: Any, sink: JetStreamSink) -> Relay:
    registry = HandlerRegistry()
    sink.install(registry)
    return Relay(
        container.uow, registry, policy=RetryPolicy(max_attempts=5, base_seconds=10, cap_seconds=60)
    )


def test_every_event_is_published_on_its_subject_with_its_id_as_msg_id(container, stream):
    ids = record(container, made(1), made(2)) + record(container, made(3))
    sink = stream.sink()
    try:
        report = _relay(container, sink).run_until_idle()
    finally:
        sink.close()

    assert report.delivered == 3
    stored = stream.messages()
    assert [m.body["id"] for m in stored] == ids
    assert {m.subject for m in stored} == {f"{stream.prefix}.test.thing_made"}
    assert [m.headers["Nats-Msg-Id"] for m in stored] == ids
    assert {m.headers["Ce-Type"] for m in stored} == {"omniretail.test.thing_made"}
    assert [m.body["data"] for m in stored] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert {m.body["type"] for m in stored} == {"omniretail.test.thing_made"}
    assert {(d.handler, d.status) for d in deliveries(container)} == {(HANDLER_NAME, "delivered")}


def test_publishing_the_same_event_again_is_deduplicated_by_jetstream(stream):
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "test",
        "type": "omniretail.orders.order_confirmed",
        "subject": "orders/1",
        "time": "2026-11-02T09:00:00Z",
        "datacontenttype": "application/json",
        "data": {"number": "W-1"},
    }
    sink = stream.sink()
    try:
        sink.publish([event])
        sink.publish([event])  # a relay retry after a lost acknowledgement
        sink.publish([event, {**event, "id": str(uuid.uuid4())}])
    finally:
        sink.close()

    stored = stream.messages()
    assert len(stored) == 2
    assert stored[0].subject == f"{stream.prefix}.orders.order_confirmed"
    assert stored[0].body == event


def test_an_unreachable_server_fails_the_delivery_and_the_retry_lands_it(container, clock, stream):
    ids = record(container, made(1), made(2))
    down = stream.sink(f"nats://127.0.0.1:{_free_port()}")
    try:
        report = _relay(container, down).run_once()
    finally:
        down.close()

    assert report.delivered == 0
    assert report.retried == 2
    pending = deliveries(container)
    assert {(d.status, d.attempts) for d in pending} == {("pending", 1)}
    assert all("unreachable" in (d.last_error or "") for d in pending)

    clock.advance(minutes=5)  # past the backoff
    up = stream.sink()
    try:
        report = _relay(container, up).run_until_idle()
    finally:
        up.close()

    assert report.delivered == 2
    assert [m.body["id"] for m in stream.messages()] == ids
    assert {(d.status, d.attempts) for d in deliveries(container)} == {("delivered", 2)}


def test_a_connection_lost_for_good_is_replaced_at_the_next_publish(stream):
    """After the client gives up reconnecting it is closed; the next publish connects again."""
    sink = stream.sink()
    first, second = (_cloud(made(n)) for n in (1, 2))
    try:
        sink.publish([first])
        client = sink._client
        assert client is not None
        sink._run(client.close())  # as when its reconnection attempts ran out
        sink.publish([second])
        assert sink._client is not client
    finally:
        sink.close()
    assert [m.body["id"] for m in stream.messages()] == [first["id"], second["id"]]


def test_the_container_wires_the_sink_only_when_configured(tmp_path: Path, stream):
    def settings(**extra: Any) -> Settings:
        return Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path, **extra)

    plain = build_container(settings())
    try:
        assert plain.jetstream is None
        assert HANDLER_NAME not in {r.name for r in plain.handlers.registrations}
    finally:
        plain.dispose()

    wired = build_container(
        settings(nats_url=stream.url, nats_subject_prefix=stream.prefix, nats_stream=stream.name)
    )
    try:
        assert wired.jetstream is not None
        assert [r.pattern for r in wired.handlers.registrations if r.name == HANDLER_NAME] == ["*"]
        wired.migrate()
        ids = record(wired, made(7))
        assert wired.relay().run_until_idle().delivered >= 1
    finally:
        wired.dispose()
    assert [m.body["id"] for m in stream.messages()] == ids


def test_subjects_drop_the_omniretail_prefix_of_the_type_and_unsafe_characters():
    assert subject_for("shop", "omniretail.orders.order_confirmed") == "shop.orders.order_confirmed"
    assert subject_for("shop", "x.a b*c>") == "shop.x.a_b_c_"
