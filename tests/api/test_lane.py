"""The shop's lane (``api.lane``): the hot routes' database work runs ``api_lane_threads`` at a
time, on threads apart from the general pool."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from omniretail.carts import service as carts
from omniretail.inventory import service as inventory
from tests.concurrency.live_server import live_server
from tests.factories import receive
from tests.orders.network import make_orders_network

SKU = "A1"
HOME = "lat=51.545&lon=-0.15"


class Overlap:
    """Counts how many threads are inside the wrapped functions at once (each call lingers a
    little; a call made inside another, such as the stock hold of an added line, counts once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth: dict[int, int] = {}
        self.most = 0
        self.calls = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            me = threading.get_ident()
            with self._lock:
                self._depth[me] = self._depth.get(me, 0) + 1
                self.calls += 1
                self.most = max(self.most, len(self._depth))
            try:
                time.sleep(0.1)
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self._depth[me] -= 1
                    if not self._depth[me]:
                        del self._depth[me]

        return counted


@pytest.mark.parametrize("lane_threads", [1, 3])
def test_the_shops_hot_routes_share_one_lane_of_the_configured_width(
    container, monkeypatch, lane_threads
):
    make_orders_network(container)
    receive(container, SKU, "LON1", 50)
    overlap = Overlap()
    with (
        live_server(container, lane_threads=lane_threads) as base,
        httpx.Client(base_url=f"{base}/api/v1", timeout=60) as http,
    ):
        tokens = []
        for _ in range(3):
            token = http.post("/carts", json={"channel": "WEB"}).json()["token"]
            line = http.post(f"/carts/{token}/lines", json={"sku": SKU, "quantity": 1})
            assert line.status_code == 200, line.text
            tokens.append(token)
        for module, name in (
            (carts, "create_cart"),
            (carts, "add_line"),
            (carts, "options_for_cart"),
            (inventory, "reserve_stock"),
        ):
            monkeypatch.setattr(module, name, overlap.wrap(getattr(module, name)))
        requests: list[Callable[[], httpx.Response]] = []
        for token in tokens:
            requests += [
                lambda: http.post("/carts", json={"channel": "WEB"}),
                lambda t=token: http.post(f"/carts/{t}/lines", json={"sku": SKU, "quantity": 1}),
                lambda t=token: http.get(f"/carts/{t}/fulfilment-options?{HOME}"),
                lambda: http.post(
                    "/inventory/reservations",
                    json={"sku": SKU, "location": "LON1", "channel": "WEB", "quantity": 1},
                ),
            ]
        barrier = threading.Barrier(len(requests))

        def send(request: Callable[[], httpx.Response]) -> int:
            barrier.wait()
            return request().status_code

        with ThreadPoolExecutor(len(requests)) as pool:
            statuses = list(pool.map(send, requests))
    assert sorted(statuses) == [200] * 6 + [201] * 6
    assert overlap.calls >= 12
    assert overlap.most == lane_threads


def test_a_slow_request_off_the_lane_holds_no_shopper_up(container, monkeypatch):
    """A slow read on the general pool (an HQ report's kind) leaves the lane free: a cart is
    made while it waits, with a lane of one thread."""
    make_orders_network(container)
    entered, release = threading.Event(), threading.Event()
    get_cart = carts.get_cart

    def slow_get_cart(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(30)
        return get_cart(*args, **kwargs)

    with (
        live_server(container, lane_threads=1) as base,
        httpx.Client(base_url=f"{base}/api/v1", timeout=60) as http,
        ThreadPoolExecutor(1) as pool,
    ):
        token = http.post("/carts", json={"channel": "WEB"}).json()["token"]
        monkeypatch.setattr(carts, "get_cart", slow_get_cart)
        slow = pool.submit(http.get, f"/carts/{token}")
        assert entered.wait(30)
        try:
            made = http.post("/carts", json={"channel": "WEB"}, timeout=10)
            still_waiting = not slow.done()
        finally:
            release.set()
        assert made.status_code == 201, made.text
        assert still_waiting
        assert slow.result().status_code == 200
