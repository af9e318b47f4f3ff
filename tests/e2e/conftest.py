"""Browser tests: the real app under uvicorn on a loopback port, over a fresh SQLite file
seeded through the services, driven by Playwright in the system Chromium.

Chromium comes from the distribution (``apt-get install chromium``; ``.ci/run`` installs it),
never from ``playwright install``. Without it the tests are skipped with the reason, unless
``OMNIRETAIL_REQUIRE_BROWSER=1`` (as in ``.ci/run``) makes that a failure. Screenshots go to
``test-artifacts/screenshots`` (or ``OMNIRETAIL_SCREENSHOTS``)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from omniretail.app import create_app
from omniretail.bootstrap import Container, build_container
from omniretail.messaging.mail import RecordingMailer
from omniretail.orders.service import TestPaymentProvider
from omniretail.settings import Settings
from tests.e2e.server import serve_app
from tests.web.seed import PASSWORD, Seeded, seed

CHROMIUM = Path(os.environ.get("OMNIRETAIL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE, DESKTOP = 390, 1280
SHOTS = Path(os.environ.get("OMNIRETAIL_SCREENSHOTS", "test-artifacts/screenshots"))


@dataclass(frozen=True)
class Site:
    url: str
    seeded: Seeded
    container: Container
    payments: TestPaymentProvider


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("OMNIRETAIL_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; OMNIRETAIL_REQUIRE_BROWSER=1 forbids skipping")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One seeded retailer per test module, served for real."""
    folder = tmp_path_factory.mktemp("e2e")
    shutil.copy(sqlite_template, folder / "omniretail.db")
    container = build_container(
        Settings(database_url=f"sqlite:///{folder / 'omniretail.db'}", data_dir=folder)
    )
    payments = TestPaymentProvider()
    container.payments = payments
    seeded = seed(container, payments)
    app = create_app(container, background_sweep=False)
    with serve_app(app) as url:
        yield Site(url, seeded, container, payments)
    container.dispose()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def new_page(browser: object, site: Site, width: int) -> object:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=site.url, viewport={"width": width, "height": 900 if width > 600 else 844}
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def sign_in(page: object, username: str, password: str = PASSWORD) -> None:
    page.goto("/signin")  # type: ignore[attr-defined]
    page.get_by_label("Username or email").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def shoot(page: object, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def presence_code_sent(site: Site, mailer: RecordingMailer) -> str:
    """The one-time code the customer received for spending points (what they read out)."""
    site.container.relay().run_until_idle()
    [mail, *_] = [m for m in reversed(mailer.sent) if "loyalty points" in m.subject]
    found = re.search(r"\b(\d{6})\b", mail.text)
    assert found, mail.text
    return found.group(1)
