"""Every input the API accepts is bounded in its OpenAPI document (so a new field cannot
forget it): text has a maxLength, numbers a minimum and a maximum, lists a maxItems and
free-form objects a maxProperties, in request bodies, query and path parameters alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

from fastapi.routing import APIRoute
from pydantic import BaseModel

from omniretail.app import create_app
from omniretail.bootstrap import build_container
from omniretail.settings import Settings

# Formats pydantic parses itself, refusing anything that is not one (a length is implied).
PARSED_FORMATS = {"date-time", "date", "time", "uuid", "binary", "duration"}


def openapi(tmp_path: Path) -> dict[str, Any]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path)
    container = build_container(settings)
    try:
        return create_app(container, background_sweep=False).openapi()
    finally:
        container.dispose()


class Walker:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.components = doc.get("components", {}).get("schemas", {})
        self.unbounded: list[str] = []

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def walk(self, schema: dict[str, Any], where: str, depth: int = 0) -> None:
        if depth > 12:
            return
        schema = self.resolve(schema)
        branches = [self.resolve(b) for k in ("anyOf", "oneOf", "allOf") for b in schema.get(k, [])]
        numeric = [b for b in branches if b.get("type") in ("number", "integer")]
        for branch in branches:
            if numeric and branch.get("type") == "string":
                continue  # a Decimal's text form: bounded by the number branch beside it
            self.walk(branch, where, depth + 1)
        kind = schema.get("type")
        if kind == "string":
            if not ({"maxLength", "enum", "const"} & schema.keys()) and (
                schema.get("format") not in PARSED_FORMATS
            ):
                self.unbounded.append(f"{where}: text without maxLength")
        elif kind in ("integer", "number"):
            has_min = {"minimum", "exclusiveMinimum"} & schema.keys()
            has_max = {"maximum", "exclusiveMaximum"} & schema.keys()
            if not (has_min and has_max):
                self.unbounded.append(f"{where}: {kind} without minimum and maximum")
        elif kind == "array":
            if "maxItems" not in schema:
                self.unbounded.append(f"{where}: list without maxItems")
            self.walk(schema.get("items", {}), f"{where}[]", depth + 1)
        elif kind == "object":
            for name, prop in schema.get("properties", {}).items():
                self.walk(prop, f"{where}.{name}", depth + 1)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) or extra is True:
                if "maxProperties" not in schema:
                    self.unbounded.append(f"{where}: object without maxProperties")
                if isinstance(extra, dict):
                    self.walk(extra, f"{where}.*", depth + 1)


def test_every_request_input_is_bounded(tmp_path: Path) -> None:
    doc = openapi(tmp_path)
    walker = Walker(doc)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "path"):
                    where = f"{name} {parameter['in']} {parameter['name']}"
                    walker.walk(parameter.get("schema", {}), where)
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                walker.walk(content.get("schema", {}), f"{name} body ({media})")
    assert not walker.unbounded, "\n".join(walker.unbounded)


def _naive_datetimes(annotation: Any, where: str, seen: set[Any]) -> list[str]:
    """Where a plain ``datetime`` (which accepts a naive timestamp) is among the inputs."""
    if annotation is datetime:
        return [where]
    found: list[str] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return []
        seen.add(annotation)
        for name, field in annotation.model_fields.items():
            found += _naive_datetimes(field.annotation, f"{where}.{name}", seen)
        return found
    for arg in get_args(annotation):
        found += _naive_datetimes(arg, where, seen)
    return found


def _inputs(dependant: Any) -> list[tuple[str, Any]]:
    params = [
        *dependant.path_params,
        *dependant.query_params,
        *dependant.header_params,
        *dependant.body_params,
    ]
    found = [(p.name, p.field_info.annotation) for p in params]
    model = getattr(dependant.call, "model", None)  # api.deps.JsonBody
    if isinstance(model, type) and issubclass(model, BaseModel):
        found.append(("body", model))
    for sub in dependant.dependencies:
        found += _inputs(sub)
    return found


def test_every_timestamp_input_needs_a_time_zone(tmp_path: Path) -> None:
    """One rule for every datetime a request carries: it must say its time zone
    (``kernel.limits.Timestamp``, pydantic's ``AwareDatetime``); a naive one is a 422."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path)
    container = build_container(settings)
    try:
        app = create_app(container, background_sweep=False)
    finally:
        container.dispose()
    naive: list[str] = []
    routes = list(_api_routes(app.routes))
    assert len(routes) > 100
    for route in routes:
        for name, annotation in _inputs(route.dependant):
            naive += _naive_datetimes(annotation, f"{route.path} {name}", set())
    assert not naive, naive


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # an included router
        if included is not None:
            yield from _api_routes(included.routes)
