"""The module paths cited in the docs exist, and so do the console pages the README and the
guides send people to.

A backticked span is checked when it clearly names code, so prose is never flagged:
- a file or folder path: ``orders/checkout/place.py``, ``web/hq/``, ``src/omniretail/db/sql.py``,
  ``tests/fakes.py``, ``scripts/check_structure.py`` (it ends in ``.py`` or ``/``, or starts with
  ``src/omniretail/``; its first part is a top-level package of ``omniretail``, or ``src``,
  ``tests``, ``scripts``, ``docs``, ``benchmarks``);
- a dotted name under ``omniretail``: ``omniretail.carts.service``, ``customers.service.cluster``,
  ``runtime.Runtime`` (its first part is a top-level package; without the ``omniretail.``
  prefix it needs three parts or a capitalised one, so event types such as
  ``customers.identity_verified`` are left alone). It resolves by importing the longest module
  prefix and looking the rest up as attributes (dataclass fields and annotations count);
- a console page: ``/hq/orders/<number>``, ``/store/till``, ``/track/...`` (a backticked span
  that starts with ``/`` and a page prefix); a ``<placeholder>`` or ``...`` stands for one
  path segment, and the page must be one of the console's routes.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "src" / "omniretail"
DOCS = ("docs/architecture.md", "docs/development.md", "docs/operations.md")
USER_DOCS = ("README.md", "docs/guide-hq.md", "docs/guide-store.md", "docs/guide-shop.md")
PAGE_PREFIXES = ("/hq", "/store", "/shop", "/account", "/signin", "/signup", "/password", "/track")
PLACEHOLDER = re.compile(r"<[^>/]+>|\.\.\.")
REPO_DIRS = {"src", "tests", "scripts", "docs", "benchmarks"}
SPAN = re.compile(r"`([^`\n]+)`")
PATH = re.compile(r"[A-Za-z_][\w.-]*(?:/[\w.-]+)*/?")
DOTTED = re.compile(r"[a-z_][a-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def top_level_packages(package_dir: Path = PACKAGE_DIR) -> set[str]:
    return {
        p.stem if p.suffix == ".py" else p.name
        for p in package_dir.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"
    } - {"__init__", "__main__"}


def cited_paths(text: str, packages: set[str]) -> list[str]:
    """Backticked file paths under ``src/omniretail`` (or the repository's own folders)."""
    found = []
    for span in SPAN.findall(text):
        if not PATH.fullmatch(span) or "/" not in span:
            continue
        first = span.split("/", 1)[0]
        if first in packages or first == "omniretail":
            if span.endswith((".py", "/")):
                found.append(span)
        elif first in REPO_DIRS and (
            span.endswith((".py", "/")) or span.startswith("src/omniretail/")
        ):
            found.append(span)
    return found


def cited_names(text: str, packages: set[str]) -> list[str]:
    """Backticked dotted names of ``omniretail`` modules and their members."""
    found = []
    for span in SPAN.findall(text):
        if not DOTTED.fullmatch(span) or span.endswith(".py"):
            continue
        parts = span.split(".")
        prefixed = parts[0] == "omniretail"
        if prefixed:
            parts = parts[1:]
        if not parts or parts[0] not in packages:
            continue
        if prefixed or len(parts) >= 3 or any(p[:1].isupper() for p in parts):
            found.append(span)
    return found


def path_exists(path: str, root: Path = ROOT) -> bool:
    first = path.split("/", 1)[0]
    if first in REPO_DIRS:
        target = root / path
    elif first == "omniretail":
        target = root / "src" / path
    else:
        target = root / "src" / "omniretail" / path
    return target.is_dir() if path.endswith("/") else target.exists()


def name_exists(name: str) -> bool:
    parts = name.split(".")
    if parts[0] != "omniretail":
        parts = ["omniretail", *parts]
    for cut in range(len(parts), 1, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if hasattr(obj, attribute):
                obj = getattr(obj, attribute)
            elif attribute in getattr(obj, "__dataclass_fields__", {}) or attribute in getattr(
                obj, "__annotations__", {}
            ):
                obj = None
            else:
                return _is_event_type(parts)
        return True
    return False


def _is_event_type(parts: list[str]) -> bool:
    """``omniretail.<domain>.<event>``: a stored event type, not a module."""
    if len(parts) != 3 or not parts[2].islower():
        return False
    from omniretail.kernel.events import EVENT_CLASSES

    for events in sorted(PACKAGE_DIR.glob("*/events.py")):
        importlib.import_module(f"omniretail.{events.parent.name}.events")
    return ".".join(parts[1:]) in EVENT_CLASSES


def test_the_matchers_find_code_and_leave_prose_alone():
    packages = {"orders", "carts", "web", "runtime", "customers"}
    text = (
        "see `orders/checkout/place.py`, `orders/carts.py`, `web/hq/`, `tests/fakes.py`,"
        " `src/omniretail/migrations/versions/`, `omniretail.carts.service`,"
        " `customers.service.cluster`, `runtime.Runtime`; not `customers.identity_verified`,"
        " `/orders/{number}`, `and/or`, `fulfilment/<step>`, `uow.record(event)`,"
        " `OMNIRETAIL_ARGON2_PROFILE=test`, `bash scripts/check`"
    )
    assert cited_paths(text, packages) == [
        "orders/checkout/place.py",
        "orders/carts.py",
        "web/hq/",
        "tests/fakes.py",
        "src/omniretail/migrations/versions/",
    ]
    assert cited_names(text, packages) == [
        "omniretail.carts.service",
        "customers.service.cluster",
        "runtime.Runtime",
    ]


def test_the_resolvers_refuse_what_does_not_exist():
    assert path_exists("orders/checkout/place.py")
    assert path_exists("src/omniretail/migrations/versions/")
    assert not path_exists("orders/carts.py")
    assert not path_exists("messaging/notifications.py")
    assert not path_exists("db/migrations/")
    assert name_exists("omniretail.carts.service")
    assert name_exists("runtime.Runtime")
    assert name_exists("bootstrap.Container.payments")
    assert name_exists("omniretail.orders.order_confirmed")
    assert not name_exists("omniretail.orders.carts")
    assert not name_exists("customers.merges.undo")
    assert not name_exists("runtime.Container")


@pytest.mark.parametrize("doc", DOCS)
def test_every_module_path_cited_in_the_docs_exists(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    packages = top_level_packages()
    missing = [p for p in cited_paths(text, packages) if not path_exists(p)]
    missing += [n for n in cited_names(text, packages) if not name_exists(n)]
    assert missing == [], f"{doc} cites what does not exist: {missing}"


def cited_pages(text: str) -> list[str]:
    """Backticked console pages, without their query string."""
    found = []
    for span in SPAN.findall(text):
        page = span.split("?", 1)[0]
        if " " in page or not page.startswith(PAGE_PREFIXES):
            continue
        first = "/" + page.split("/")[1]
        if first in PAGE_PREFIXES:
            found.append(page)
    return found


def console_app() -> Any:
    """The console's pages and the public tracking page, as ``create_app`` mounts them."""
    from fastapi import FastAPI

    from omniretail.fulfilment.web import router as tracking
    from omniretail.web.router import install_web

    app = FastAPI()
    install_web(app)
    app.include_router(tracking)
    return app


def page_exists(page: str, app: Any) -> bool:
    """A GET of the page (placeholders filled in) reaches one of the app's routes."""
    from starlette.routing import Match

    scope = {"type": "http", "method": "GET", "path": PLACEHOLDER.sub("X1", page)}
    scope |= {"root_path": "", "query_string": b"", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in app.routes)


def test_the_page_matcher_reads_placeholders():
    text = (
        "open `/store/orders/<number>`, `/hq`, `/track/...`, `/shop?q=heart`;"
        " not `/api/v1/orders`, `/etc/nginx/x.conf`, `omniretail demo`"
    )
    assert cited_pages(text) == ["/store/orders/<number>", "/hq", "/track/...", "/shop"]
    app = console_app()
    assert page_exists("/store/orders/<number>", app)
    assert page_exists("/track/...", app)
    assert not page_exists("/store/orders", app)
    assert not page_exists("/hq/nowhere", app)
    assert not page_exists("/store/till/receipts/<number>/email", app)  # a form's POST only


@pytest.mark.parametrize("doc", USER_DOCS)
def test_every_console_page_cited_for_people_exists(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    app = console_app()
    pages = cited_pages(text)
    assert pages, f"{doc} names no console page"
    missing = [p for p in pages if not page_exists(p, app)]
    missing += [p for p in cited_paths(text, top_level_packages()) if not path_exists(p)]
    assert missing == [], f"{doc} sends people to pages that do not exist: {missing}"
