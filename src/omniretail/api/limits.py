"""Request bodies are refused with a 413 problem before more than the limit is read.

A plain ASGI middleware: a declared ``Content-Length`` over the limit is answered at once,
unread; a body without one (chunked) is counted as it streams in, and the read that goes over
raises ``BodyTooLarge``, which the route's body parsing lets through to the problem handler.
So a 100 MB body costs the server at most the limit, never the whole body and its parse.
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniretail.kernel.errors import PROBLEM_BASE

PROBLEM_JSON = b"application/problem+json"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


def problem_body(limit: int, path: str) -> bytes:
    return json.dumps(
        {
            "type": PROBLEM_BASE + "payload-too-large",
            "title": "The request body is too large",
            "status": 413,
            "detail": f"the request body is larger than {limit} bytes; nothing was read or written",
            "instance": path,
            "field": "body",
            "limit": limit,
        }
    ).encode()


class BodyLimitMiddleware:
    """``limit`` bytes for every request, ``larger`` for the (method, path) pairs that need
    more (event batches)."""

    def __init__(
        self, app: ASGIApp, *, limit: int, larger: dict[tuple[str, str], int] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get((scope["method"], scope["path"]), self.limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, scope["path"])
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int, path: str) -> None:
    body = problem_body(limit, path)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
