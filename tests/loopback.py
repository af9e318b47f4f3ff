"""Real endpoints on 127.0.0.1 for tests: an HTTP webhook receiver and an SMTP server.

One server of each kind runs per test session (per xdist worker); each test gets its own view
(``receiver``, ``smtp_server`` fixtures in ``tests/conftest.py``) that records only what arrived
while the test ran. Tests in a worker run one at a time and the relay sends synchronously, so
nothing of one test reaches another's view.

The webhook receiver checks the ``Omniretail-Signature`` HMAC of every request whose view
knows the secret (``WebhookReceiver.expect_signature``) and answers 401 when it does not match,
as a real receiver would.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from omniretail.notifications.webhooks import SIGNATURE_HEADER, verify_signature


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- webhooks --------------------------------------------------------------------------------


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None = None  # the signature checked out (None: no secret to check with)
    peer_port: int = 0  # the sender's port: one per connection


@dataclass
class WebhookReceiver:
    """One test's view of the receiver: the requests that arrived and what to answer."""

    url: str
    requests: list[ReceivedRequest] = field(default_factory=list)
    # Status codes to answer with, in order; 200 once they run out.
    statuses: deque[int] = field(default_factory=deque)
    secret: str | None = None
    now: Callable[[], float] | None = None

    def expect_signature(self, secret: str, now: Callable[[], float]) -> None:
        """Verify every request with ``secret`` at time ``now()`` (the sender's clock);
        a request that fails is recorded with ``verified=False`` and answered 401."""
        self.secret, self.now = secret, now

    def take(self, request: ReceivedRequest) -> int:
        if self.secret is not None and self.now is not None:
            request.verified = verify_signature(
                self.secret, request.headers.get(SIGNATURE_HEADER, ""), request.body, now=self.now()
            )
        self.requests.append(request)
        if request.verified is False:
            return 401
        return self.statuses.popleft() if self.statuses else 200


class WebhookServer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.views: list[WebhookReceiver] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as real receivers do; an idle connection is closed after 5 s.
            protocol_version = "HTTP/1.1"
            timeout = 5

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = 404
                with server.lock:
                    for view in server.views:
                        request = ReceivedRequest(
                            self.path, dict(self.headers), body, peer_port=self.client_address[1]
                        )
                        status = view.take(request)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True)

    @contextmanager
    def view(self) -> Iterator[WebhookReceiver]:
        receiver = WebhookReceiver(url=f"{self.base_url}/hooks/omniretail")
        with self.lock:
            self.views.append(receiver)
        try:
            yield receiver
        finally:
            with self.lock:
                self.views.remove(receiver)


@contextmanager
def webhook_server() -> Iterator[WebhookServer]:
    server = WebhookServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.http.shutdown()
        server.http.server_close()
        server.thread.join(5)


# --- SMTP ------------------------------------------------------------------------------------


@dataclass
class SmtpSink:
    """One test's view of the SMTP server: (MAIL FROM, RCPT TOs, message) as they arrived."""

    host: str
    port: int
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)


class SmtpServer:
    def __init__(self) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.lock = threading.Lock()
        self.views: list[SmtpSink] = []
        self.controller = Controller(self, hostname=self.host, port=self.port)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            for view in self.views:
                view.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    @contextmanager
    def view(self) -> Iterator[SmtpSink]:
        sink = SmtpSink(self.host, self.port)
        with self.lock:
            self.views.append(sink)
        try:
            yield sink
        finally:
            with self.lock:
                self.views.remove(sink)


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()
