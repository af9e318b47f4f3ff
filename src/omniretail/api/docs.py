"""The API docs (Swagger UI at ``/docs``), served with no internet: the Swagger UI files
come from the ``swagger-ui-py`` package and are served under ``/docs/assets``."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = f"{DOCS_URL}/assets"
OAUTH2_REDIRECT_URL = f"{DOCS_URL}/oauth2-redirect"
_SPEC = find_spec("swagger_ui")  # located, not imported (its handlers need other frameworks)
assert _SPEC is not None and _SPEC.origin is not None, "pip install swagger-ui-py"
ASSETS_DIR = Path(_SPEC.origin).parent / "static"


def docs_page(openapi_url: str, title: str, root_path: str) -> HTMLResponse:
    """The /docs page; ``security_headers`` hashes its start-up script from the same call."""
    assets = root_path + ASSETS_URL
    return get_swagger_ui_html(
        openapi_url=root_path + openapi_url,
        title=f"{title} - Swagger UI",
        oauth2_redirect_url=root_path + OAUTH2_REDIRECT_URL,
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
    )


def install_docs(app: FastAPI) -> None:
    """Adds /docs, its OAuth2 redirect page and its assets (the app has ``docs_url=None``)."""
    openapi_url = app.openapi_url or ""

    async def docs(request: Request) -> HTMLResponse:
        root_path = str(request.scope.get("root_path", "")).rstrip("/")
        return docs_page(openapi_url, app.title, root_path)

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route(DOCS_URL, docs, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_URL, oauth2_redirect, include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
