"""Every error leaves the API as RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from omniretail.api.limits import BodyTooLarge, problem_body
from omniretail.kernel.errors import PROBLEM_BASE, DomainError
from omniretail.kernel.ids import redacted_path

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("omniretail.api")


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    field: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if field:
        body["field"] = field
    if extra:
        # Extension members never replace the standard ones (``status`` stays the HTTP code).
        body.update({k: v for k, v in extra.items() if k not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class ReplayedResponse(Exception):
    """Raised to answer a retried request with the response stored for its Idempotency-Key."""

    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.status_code = status_code
        self.body = body


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_error(error: dict[str, Any]) -> dict[str, str]:
    if error.get("type") == "json_invalid":
        # FastAPI puts the character position where the field would be.
        position = error.get("loc", ("body", "?"))[-1]
        reason = (error.get("ctx") or {}).get("error", "malformed JSON")
        return {"field": "body", "message": f"not valid JSON ({reason} at character {position})"}
    return {"field": _field_of(error.get("loc", ())), "message": error.get("msg", "invalid")}


def retry_after_header(exc: DomainError) -> dict[str, str] | None:
    """A refusal that says how long to wait (``retry_after`` or ``retry_after_seconds`` in its
    extension members) says it in the Retry-After header too."""
    seconds = exc.extra.get("retry_after", exc.extra.get("retry_after_seconds"))
    if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0:
        return {"Retry-After": str(seconds)}
    return None


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem(
            exc.status,
            exc.slug,
            exc.title,
            exc.detail,
            instance=request.url.path,
            field=exc.field,
            extra=exc.extra or None,
            headers=retry_after_header(exc),
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_validation_error(e) for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return problem(
            422,
            "validation-error",
            "The request is not valid",
            f"{first['field']}: {first['message']}",
            instance=request.url.path,
            field=first["field"],
            extra={"errors": errors},
        )

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc, BodyTooLarge):
            return JSONResponse(
                json.loads(problem_body(exc.limit, request.url.path)),
                status_code=413,
                media_type=PROBLEM_JSON,
                headers={"Connection": "close"},
            )
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI could not parse the body at all (e.g. an integer of thousands of digits).
            return problem(
                400,
                "malformed-body",
                "The request body could not be parsed",
                f"body: {exc.__cause__}",
                instance=request.url.path,
                field="body",
            )
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(
            exc.status_code,
            slug,
            str(exc.detail) if exc.status_code != 404 else "Not found",
            str(exc.detail),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(ReplayedResponse)
    async def on_replay(_request: Request, exc: ReplayedResponse) -> JSONResponse:
        media = PROBLEM_JSON if exc.status_code >= 400 else "application/json"
        return JSONResponse(
            exc.body,
            status_code=exc.status_code,
            media_type=media,
            headers={"Idempotent-Replayed": "true"},
        )

    @app.exception_handler(IntegrityError)
    async def on_integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("constraint violation on %s: %s", _logged_path(request), exc.orig)
        return problem(
            409,
            "constraint-violation",
            "The change conflicts with the stored data",
            "the database refused the change because it would break a rule of the data"
            " (a duplicate, a missing reference or a limit); nothing was written",
            instance=request.url.path,
        )

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def on_out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # A value the schema let through but the database cannot hold (an id of 10**30):
        # PostgreSQL raises a data exception, SQLite's driver an OverflowError.
        log.info("value out of range on %s: %s", _logged_path(request), exc)
        return problem(
            422,
            "value-out-of-range",
            "A value is out of range",
            "a number or text in the request is too large for the field it is meant for"
            " (ids are at most 9223372036854775807); nothing was written",
            instance=request.url.path,
        )

    @app.exception_handler(OperationalError)
    async def on_operational(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable on %s: %s", _logged_path(request), exc.orig)
        return problem(
            503,
            "database-unavailable",
            "The database is busy or unavailable",
            "the request could not be completed now; nothing was written, retry shortly",
            instance=request.url.path,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(PoolTimeout)
    async def on_pool_busy(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every connection of this process's budget stayed busy for db_pool_timeout_seconds.
        log.warning("connection pool busy on %s: %s", _logged_path(request), exc)
        return problem(
            503,
            "database-busy",
            "The database is busy",
            "every database connection stayed busy; nothing was written, retry shortly",
            instance=request.url.path,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", _logged_path(request))
        return problem(
            500,
            "internal-error",
            "Internal error",
            "an unexpected error occurred; nothing was written",
            instance=request.url.path,
        )


def _logged_path(request: Request) -> str:
    """The path as the server's log keeps it: no bearer token of the path in clear."""
    return redacted_path(request.url.path, request.path_params)
