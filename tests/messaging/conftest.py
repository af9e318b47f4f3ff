"""Real endpoints for messaging tests: an HTTP webhook receiver and an SMTP server, both on
127.0.0.1, plus helpers to record events and read delivery state."""

from __future__ import annotations

import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from omniretail.bootstrap import Container
from omniretail.db.outbox import OutboxMessage
from omniretail.kernel.events import DomainEvent
from omniretail.messaging.models import Delivery


def record(container: Container, *events: DomainEvent) -> list[str]:
    """Commit events through a unit of work, as a use case would; returns their ids."""
    with container.uow() as uow:
        for event in events:
            uow.record(event)
    return [e.id for e in events]


def deliveries(container: Container) -> list[Delivery]:
    with container.read_uow() as uow:
        return list(uow.session.scalars(select(Delivery).order_by(Delivery.position, Delivery.id)))


def outbox(container: Container) -> list[OutboxMessage]:
    with container.read_uow() as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.position)))


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    url: str
    requests: list[ReceivedRequest] = field(default_factory=list)
    # Status codes to answer with, in order; 200 once they run out.
    statuses: deque[int] = field(default_factory=deque)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    state = WebhookReceiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.requests.append(ReceivedRequest(self.path, dict(self.headers), body))
                status = state.statuses.popleft() if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/omniretail"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass
class SmtpSink:
    host: str
    port: int
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()
