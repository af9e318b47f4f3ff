"""No API route is shadowed by a route matched before it (the shop's hot routes are
included first, see ``create_app``): a documented path, with sample values for its
parameters, matches no path documented before it with the same method (the document lists
the paths in the order the router tries them)."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from omniretail.auth.api import authorize


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(
        (".*" if part.endswith(":path}") else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(regex + "$")


def test_no_documented_route_is_shadowed_by_an_earlier_one(client):
    app = client.app
    # the order the router tries them
    routes = [(r.path, sorted(r.methods)) for r in _api_routes(app)]
    assert any(path == "/api/v1/carts/{token}/checkout" for path, _m in routes)
    seen: list[tuple[str, str]] = []
    for path, methods in routes:
        concrete = re.sub(r"\{[^}:]+(:[a-z]+)?\}", "1", path)
        for method in methods:
            for earlier, earlier_method in seen:
                if earlier_method == method and earlier != path:
                    assert not _pattern(earlier).match(concrete), (method, path, "after", earlier)
        seen += [(path, m) for m in methods]
    assert len(seen) > 100


def _api_routes(app):
    """Every APIRoute in matching order, through FastAPI's included routers."""
    for top in app.router.routes:
        contexts = getattr(top, "effective_route_contexts", None)
        if contexts is None:
            if isinstance(top, APIRoute):
                yield top
            continue
        for context in contexts():
            route = getattr(context, "original_route", None)
            if isinstance(route, APIRoute):
                yield _Prefixed(route, context)


class _Prefixed:
    def __init__(self, route: APIRoute, context) -> None:
        self.path = getattr(context, "path_format", None) or getattr(context, "path", route.path)
        self.methods = route.methods


def test_api_routes_are_matched_by_the_app_router_itself(client):
    """Every route under /api/v1 is one of the app router's own routes, running ``authorize``
    first: FastAPI matches an included router's routes through its inclusion, three times a
    request, each time checking every route for changes (a tenth of a worker's CPU)."""
    routes = client.app.router.routes
    assert not any(hasattr(route, "effective_route_contexts") for route in routes[:3])
    api = [
        route
        for route in routes
        if getattr(route, "path", "").startswith("/api/v1/")
        and route.path != client.app.openapi_url  # FastAPI's own, public
    ]
    assert len(api) > 100
    for route in api:
        assert isinstance(route, APIRoute), route
        assert route.dependencies[0].dependency is authorize, route.path
    # the request is served by the route the router matched
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
