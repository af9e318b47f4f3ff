"""Security headers on every response: Content-Security-Policy, X-Frame-Options,
Referrer-Policy, X-Content-Type-Options, and Strict-Transport-Security on HTTPS.

The console and the public pages load scripts and styles from ``/static`` only (no inline
script, style or event handler), so their policy allows ``'self'`` and nothing inline. The
Swagger UI at ``/docs`` loads its bundle from ``/docs/assets`` and its start-up script from
``/static`` (no CDN, nothing inline); its OAuth2 redirect page, as FastAPI renders it, has one
inline script: the policy allows ``'self'``, exactly the inline scripts the two pages carry
(by hash, computed from the functions that render them), and inline styles, which the
bundle sets as it draws.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache

from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniretail.api.docs import docs_page

# Nothing inline: htmx's config (templates/base.html, read before htmx starts) turns off its
# indicator stylesheet and settles no style attribute.
PAGES_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
COMMON = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
# Browsers take it only over HTTPS; a year, as the HSTS preload list asks (no subdomains:
# the deployment's other hosts are not ours to decide).
HSTS = (b"strict-transport-security", b"max-age=31536000")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _hashes(html: str) -> str:
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    )


@cache
def docs_csp(openapi_url: str, title: str, root_path: str) -> str:
    """The policy for /docs and its OAuth2 redirect page, as they are rendered."""
    page = docs_page(openapi_url, title, root_path).body
    redirect = bytes(get_swagger_ui_oauth2_redirect_html().body).decode()
    scripts = f"{_hashes(bytes(page).decode())} {_hashes(redirect)}"
    return (
        f"default-src 'none'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data:; connect-src 'self';"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    """A plain ASGI middleware: adds the headers to ``http.response.start`` (a header the
    route already set is kept)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        docs_url: str | None = None,
        openapi_url: str = "",
        title: str = "",
    ) -> None:
        self.app = app
        self.docs_url = docs_url
        self.docs = (openapi_url, title)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root_path = str(scope.get("root_path", "")).rstrip("/")
        path = str(scope.get("path", "")).removeprefix(root_path)
        if self.docs_url and (path == self.docs_url or path.startswith(self.docs_url + "/")):
            csp = docs_csp(*self.docs, root_path)
        else:
            csp = PAGES_CSP
        added = [(b"content-security-policy", csp.encode()), *COMMON]
        if scope.get("scheme") == "https":  # over TLS, or behind a named TLS-terminating proxy
            added.append(HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in added if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
