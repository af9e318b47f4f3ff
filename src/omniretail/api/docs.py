"""The API docs (Swagger UI at ``/docs``), served with no internet: the Swagger UI files
come from the ``swagger-ui-py`` package under ``/docs/assets``, and the page starts them
with ``/static/docs-start.js`` (settings in data attributes), so it has no inline script."""

from __future__ import annotations

from html import escape
from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = f"{DOCS_URL}/assets"
OAUTH2_REDIRECT_URL = f"{DOCS_URL}/oauth2-redirect"
START_URL = "/static/docs-start.js"
_SPEC = find_spec("swagger_ui")  # located, not imported (its handlers need other frameworks)
assert _SPEC is not None and _SPEC.origin is not None, "pip install swagger-ui-py"
ASSETS_DIR = Path(_SPEC.origin).parent / "static"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}" data-oauth2-redirect-url="{redirect}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{start}"></script>
</body>
</html>
"""


def docs_page(openapi_url: str, title: str, root_path: str) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(
            title=escape(f"{title} - Swagger UI"),
            assets=escape(root_path + ASSETS_URL),
            openapi=escape(root_path + openapi_url),
            redirect=escape(root_path + OAUTH2_REDIRECT_URL),
            start=escape(root_path + START_URL),
        )
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
