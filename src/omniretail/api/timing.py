"""``Server-Timing: app;dur=<ms>, sql;desc="<n>"`` on the responses to staff.

``app`` is the time the application spent on the request, from the request reaching the app to
the response headers leaving it (routing, validation, database, serialisation; not the socket
or the HTTP parser). ``sql`` is the number of SQL statements the request sent (benchmarks read
both; with several server processes the /metrics counter is per process, this is per request).

Only a request the API authorised for a staff principal (any role but a customer's: an admin's
API key, an associate's token) gets it. To anyone else the statement count was an oracle: a
password reset request or a failed sign-in for an email with an account ran more statements
than one for an unknown email, though both answer the same.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniretail.db.engine import request_statements


class ServerTimingMiddleware:
    """A plain ASGI middleware (no per-request task or body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        statements = [0]
        token = request_statements.set(statements)

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start" and _staff(scope):
                elapsed_ms = (time.perf_counter() - started) * 1000
                value = f'app;dur={elapsed_ms:.3f}, sql;desc="{statements[0]}"'
                headers = [*message.get("headers", []), (b"server-timing", value.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            request_statements.reset(token)


def _staff(scope: Scope) -> bool:
    """Whether ``auth.api.authorize`` let this request in for a staff principal (public routes
    and the console's pages set none)."""
    principal = scope.get("state", {}).get("principal")
    return principal is not None and getattr(principal, "role", "customer") != "customer"
