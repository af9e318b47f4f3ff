"""Webhook targets (security probe: SSRF): loopback, private, link-local and other non-public
addresses are refused when subscribing and at every send, unless
``webhook_allow_private_networks`` is set; redirects are never followed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from omniretail.kernel.events import DomainEvent
from omniretail.notifications import service, targets
from omniretail.notifications.errors import UnsafeWebhookTarget
from omniretail.notifications.schemas import SubscriptionCreate
from omniretail.notifications.webhooks import WebhookSource
from tests.loopback import WebhookServer
from tests.messaging.conftest import deliveries, record

EVENT = DomainEvent("inventory.written_off", "stock/1@LON1", {"sku": "1", "quantity": 1})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_subscribing_a_non_public_address_is_a_clear_problem(client: Any, url: str) -> None:
    r = client.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"].endswith("/unsafe-webhook-target")
    assert problem["field"] == "url"
    assert client.get("/api/v1/webhooks").json() == []


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://a/b"])
def test_only_http_and_https_urls_are_taken(client: Any, url: str) -> None:
    r = client.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})
    assert r.status_code == 422, r.text
    assert client.get("/api/v1/webhooks").json() == []


def test_a_name_is_judged_by_every_address_it_resolves_to(container: Any) -> None:
    def resolver(answers: list[str]) -> targets.Resolver:
        return lambda host, port: answers

    data = SubscriptionCreate.model_validate(
        {"url": "https://hooks.example.com/x", "event_types": ["*"]}
    )
    with container.uow() as uow, pytest.raises(UnsafeWebhookTarget, match=r"10\.0\.0\.7"):
        service.create_subscription(
            uow, data, actor="t", resolver=resolver(["93.184.216.34", "10.0.0.7"])
        )
    with container.uow() as uow:
        service.create_subscription(uow, data, actor="t", resolver=resolver(["93.184.216.34"]))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_stored_private_target_is_not_reached_at_send_time(
    container: Any, _webhook_server: WebhookServer
) -> None:
    """A subscription whose address is private by now (allowed once, or its name re-resolved)
    is refused at the socket: the receiver hears nothing, the delivery is retried."""
    assert container.settings.webhook_allow_private_networks is False
    with _webhook_server.view() as receiver, container.uow() as uow:
        data = SubscriptionCreate.model_validate({"url": receiver.url, "event_types": ["*"]})
        service.create_subscription(uow, data, actor="t", allow_private_networks=True)
    with _webhook_server.view() as receiver:
        record(container, EVENT)
        container.relay().run_until_idle()
        assert receiver.requests == []
    (delivery,) = deliveries(container)
    assert delivery.status != "delivered"
    assert "refused" in (delivery.last_error or "")


class _Redirecting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.hits.append(self.path)
        self.send_response(307)
        self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def redirecting() -> Iterator[str]:
    _Redirecting.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("allow_private", [True, False])
def test_redirects_are_never_followed(
    container: Any, clock: Any, redirecting: str, allow_private: bool
) -> None:
    source = WebhookSource(clock, allow_private_networks=allow_private)
    with container.uow() as uow:
        data = SubscriptionCreate.model_validate({"url": redirecting, "event_types": ["*"]})
        created = service.create_subscription(uow, data, actor="t", allow_private_networks=True)
    event: Any = {"id": "e1", "type": "omniretail.x", "source": "s", "specversion": "1.0"}
    with pytest.raises(Exception, match=r"307|refused"):
        source.deliver(created.id, event, container.uow)
    source.close()
    assert _Redirecting.hits == (["/hook"] if allow_private else [])
