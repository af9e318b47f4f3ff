"""The OpenAPI document: security schemes and the problem+json errors of every operation.

Added centrally, so a new route is documented like the others: operations under /api/v1 that
the access policy does not mark public (``is_public``, which the app passes in from
``auth.policy``) need an API key (``X-API-Key``) or a bearer token from the OAuth2 password
flow; every operation lists the ``application/problem+json`` answers it can give (a route may
add its own, e.g. 402 at checkout, with ``responses=``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

# Whether an operation (method, path under /api/v1) is open to anyone, per the access policy.
IsPublic = Callable[[str, str], bool]

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/v1"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "OAuth2": {
        "type": "oauth2",
        "flows": {"password": {"tokenUrl": f"{API_PREFIX}/auth/token", "scopes": {}}},
    },
}

DESCRIPTIONS = {
    400: "The body could not be parsed",
    401: "Not signed in, or the credentials are not valid",
    402: "The payment was declined",
    403: "The role or scope of the caller does not allow this",
    404: "Something the request names does not exist",
    409: "The change conflicts with the current state",
    410: "The customer was erased",
    413: "The request body is too large",
    422: "The request is not valid",
    429: "Too many requests from this client address; retry after the Retry-After seconds",
    503: "The database or a provider is busy; retry shortly",
}
WRITES = {"post", "put", "patch", "delete"}


def needs_sign_in(method: str, path: str, is_public: IsPublic) -> bool:
    if not path.startswith(API_PREFIX):
        return False
    return not is_public(method.upper(), path.removeprefix(API_PREFIX))


def error_statuses(
    method: str,
    path: str,
    operation: dict[str, Any],
    is_public: IsPublic,
    is_throttled: IsPublic,
) -> list[int]:
    statuses = {404, 422}
    if path.startswith(API_PREFIX):
        statuses.add(503)
        if is_throttled(method.upper(), path.removeprefix(API_PREFIX)):
            statuses.add(429)
        if needs_sign_in(method, path, is_public):
            statuses |= {401, 403, 410}
    if "requestBody" in operation:
        statuses |= {400, 413}
    if method in WRITES:
        statuses.add(409)
    return sorted(statuses)


def install_openapi(
    app: FastAPI, *, is_public: IsPublic, is_throttled: IsPublic | None = None
) -> None:
    throttled: IsPublic = is_throttled or (lambda _method, _path: False)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = doc.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        components["securitySchemes"] = SECURITY_SCHEMES
        problem = {"$ref": "#/components/schemas/Problem"}
        for path, operations in doc.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                # FastAPI's own 422 (HTTPValidationError) is not what is sent: a problem is.
                responses.pop("422", None)
                for status in error_statuses(method, path, operation, is_public, throttled):
                    content = responses.setdefault(
                        str(status), {"description": DESCRIPTIONS[status]}
                    ).setdefault("content", {})
                    content.pop("application/json", None)
                    content[PROBLEM_JSON] = {"schema": problem}
                for status, response in responses.items():
                    if status.startswith(("4", "5")):
                        content = response.setdefault("content", {})
                        content.pop("application/json", None)
                        content.setdefault(PROBLEM_JSON, {"schema": problem})
                if needs_sign_in(method, path, is_public):
                    operation["security"] = [{"ApiKey": []}, {"OAuth2": []}]
                elif path.startswith(API_PREFIX):
                    operation["security"] = []
        for unused in ("HTTPValidationError", "ValidationError"):
            components["schemas"].pop(unused, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
