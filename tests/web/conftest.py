"""Console tests through the app (TestClient): a seeded retailer and signed-in clients."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from omniretail.app import create_app
from omniretail.bootstrap import Container
from omniretail.orders.service import TestPaymentProvider
from tests.conftest import WEB_BASELINE
from tests.web.seed import PASSWORD, Seeded

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def payments() -> TestPaymentProvider:
    return TestPaymentProvider()


@pytest.fixture
def seeded(
    container: Container, payments: TestPaymentProvider, request: pytest.FixtureRequest
) -> Seeded:
    """The retailer of tests/web/seed.py: the ``container`` fixture starts a test that asks
    for it from a copy seeded once per worker (tests/conftest.py), and ``payments`` knows the
    seeded orders' authorisations as if it had taken them."""
    baseline = request.node.stash[WEB_BASELINE]
    payments.authorisations.update(copy.deepcopy(baseline.authorisations))
    payments.instructions.update(copy.deepcopy(baseline.instructions))
    return baseline.seeded  # type: ignore[no-any-return]


@pytest.fixture
def web(
    container: Container, payments: TestPaymentProvider, seeded: Seeded
) -> Iterator[TestClient]:
    """A browser-like client (no API key; cookies kept, redirects not followed)."""
    container.payments = payments
    app = create_app(container, background_sweep=False)
    with TestClient(app, raise_server_exceptions=True, follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Signs in through the form; returns where the console sent the person."""
    page = client.get("/signin")
    response = client.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def post(client: TestClient, page_url: str, action: str, data: dict[str, str]) -> object:
    """Submits a form the way a browser does: the token comes from the page it is on."""
    token = csrf_of(client.get(page_url).text)
    return client.post(action, data={**data, "csrf_token": token})
