"""HQ network: stores, warehouses, lockers and curbside points, and the channels that sell
from them; listed, created and edited as the API's ``PUT /locations/{code}`` and
``PUT /channels/{code}`` (``catalog.service``), with the schema's messages on the form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import (
    Capabilities,
    ChannelKind,
    ChannelWrite,
    LocationKind,
    LocationWrite,
)
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors, convert, errors_of
from omniretail.web.hq.export import csv_link, csv_response

router = APIRouter(prefix="/hq", route_class=PageRoute, include_in_schema=False)
CAPABILITIES = list(Capabilities.model_fields)
LOCATION_FIELDS = (
    "code",
    "name",
    "kind",
    "latitude",
    "longitude",
    "address",
    "timezone",
    "opening_hours",
    "daily_capacity",
    *(f"capabilities.{c}" for c in CAPABILITIES),
)
CHANNEL_FIELDS = ("code", "name", "kind", "reservation_ttl_seconds", "atp_buffer", "location_codes")


@router.get("/network", response_model=None)
def network(request: Request, viewer: HqDep, kind: str = "", format: str = "") -> Response:
    authorize_as(request, viewer, "GET /locations")
    kinds = {k.value for k in LocationKind}
    chosen = kind if kind in kinds else None

    def load(uow: UnitOfWork) -> dict[str, Any]:
        return {
            "locations": catalog.list_locations(uow, chosen),
            "channels": catalog.list_channels(uow),
        }

    found = read(request, load)
    if format == "csv":
        return csv_response(
            "locations.csv",
            ["code", "name", "kind", "address", "latitude", "longitude", "timezone",
             "daily_capacity", *CAPABILITIES, "channels", "active"],
            (
                [loc.code, loc.name, loc.kind.value, loc.address, loc.latitude, loc.longitude,
                 loc.timezone, loc.daily_capacity,
                 *(getattr(loc.capabilities, c) for c in CAPABILITIES),
                 " ".join(loc.channel_codes), loc.active]
                for loc in found["locations"]
            ),
        )  # fmt: skip
    if format == "channels.csv":
        return csv_response(
            "channels.csv",
            ["code", "name", "kind", "reservation_ttl_seconds", "atp_buffer", "locations"],
            (
                [c.code, c.name, c.kind.value, c.reservation_ttl_seconds, c.atp_buffer,
                 " ".join(c.location_codes)]
                for c in found["channels"]
            ),
        )  # fmt: skip
    return render(
        request,
        "hq/network.html",
        viewer=viewer,
        kind=kind,
        kinds=sorted(kinds),
        csv=csv_link("/hq/network", kind=kind),
        channels_csv="/hq/network?format=channels.csv",
        **found,
    )


# --- locations -------------------------------------------------------------------------------


def _location_values(loc: Any) -> dict[str, str]:
    values = {
        "code": loc.code,
        "name": loc.name,
        "kind": loc.kind.value,
        "latitude": str(loc.latitude),
        "longitude": str(loc.longitude),
        "address": loc.address,
        "timezone": loc.timezone,
        "daily_capacity": str(loc.daily_capacity),
        "opening_hours": "\n".join(f"{d}: {h}" for d, h in loc.opening_hours.items()),
    }
    for c in CAPABILITIES:
        if getattr(loc.capabilities, c):
            values[f"capabilities.{c}"] = "on"
    return values


def _location_form(
    request: Request,
    viewer: Viewer,
    *,
    code: str | None,
    values: dict[str, str],
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "hq/location.html",
        viewer=viewer,
        status=status,
        code=code,
        kinds=[k.value for k in LocationKind],
        capabilities=CAPABILITIES,
        values=values,
        errors=errors or {},
    )


@router.get("/locations/new", response_class=HTMLResponse)
def new_location(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "PUT /locations/{code}", {"code": ""})
    return _location_form(
        request, viewer, code=None, values={"kind": "store", "timezone": "Europe/London"}
    )


@router.get("/locations/{code}", response_class=HTMLResponse)
def edit_location(request: Request, viewer: HqDep, code: str) -> HTMLResponse:
    code = code.strip().upper()
    authorize_as(request, viewer, "GET /locations/{code}", {"code": code})
    found = read(request, lambda uow: catalog.get_location(uow, code))
    return _location_form(request, viewer, code=code, values=_location_values(found))


def _opening_hours(text: str, errors: Errors) -> dict[str, str]:
    hours: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        day, sep, value = line.partition(":")
        if not sep or not day.strip() or not value.strip():
            errors["opening_hours"] = f"write one day a line, as “mon: 09:00-17:30” (not {line!r})"
            break
        hours[day.strip().lower()] = value.strip()
    return hours


@router.post("/locations", response_model=None)
def save_location(request: Request, posted: PostedDep) -> Response:
    values = posted.values
    editing = values.get("editing", "")
    code = (editing or values.get("code", "")).strip().upper()
    errors: Errors = {}
    data: dict[str, Any] = {
        "code": code,
        "name": values.get("name", "").strip(),
        "kind": values.get("kind", ""),
        "address": values.get("address", "").strip(),
        "timezone": values.get("timezone", "").strip() or "Europe/London",
        "opening_hours": _opening_hours(values.get("opening_hours", ""), errors),
        "capabilities": {c: f"capabilities.{c}" in values for c in CAPABILITIES},
    }
    for name, kind in (("latitude", float), ("longitude", float), ("daily_capacity", int)):
        text = values.get(name, "").strip()
        if text:
            data[name] = convert(text, kind)
    decided = authorize_as(request, posted.viewer, "PUT /locations/{code}", {"code": code}, data)
    try:
        body = LocationWrite.model_validate(data)
        if not editing and read(request, lambda uow: catalog.location_exists(uow, body.code)):
            errors["code"] = f"location {body.code} exists: edit it from the list"
        if "code" in errors:
            raise DomainError(errors["code"], field="code")
        if errors:
            raise DomainError(errors["opening_hours"], field="opening_hours")
        change(request, decided, lambda uow: catalog.save_location(uow, body))
    except (ValidationError, DomainError) as exc:
        found = {**errors_of(exc, fields=LOCATION_FIELDS), **errors}
        return _location_form(
            request,
            posted.viewer,
            code=editing or None,
            values=values,
            errors=found,
            status=422,
        )
    return redirect("/hq/network", notice=f"Location {code} saved.")


# --- channels --------------------------------------------------------------------------------


def _channel_form(
    request: Request,
    viewer: Viewer,
    *,
    code: str | None,
    values: dict[str, str],
    chosen: list[str],
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "hq/channel.html",
        viewer=viewer,
        status=status,
        code=code,
        kinds=[k.value for k in ChannelKind],
        locations=read(request, lambda uow: catalog.list_locations(uow)),
        chosen=chosen,
        values=values,
        errors=errors or {},
    )


@router.get("/channels/new", response_class=HTMLResponse)
def new_channel(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "PUT /channels/{code}", {"code": ""})
    values = {"kind": "web", "reservation_ttl_seconds": "900", "atp_buffer": "0"}
    return _channel_form(request, viewer, code=None, values=values, chosen=[])


@router.get("/channels/{code}", response_class=HTMLResponse)
def edit_channel(request: Request, viewer: HqDep, code: str) -> HTMLResponse:
    code = code.strip().upper()
    authorize_as(request, viewer, "GET /channels/{code}", {"code": code})
    found = read(request, lambda uow: catalog.get_channel(uow, code))
    values = {
        "code": found.code,
        "name": found.name,
        "kind": found.kind.value,
        "reservation_ttl_seconds": str(found.reservation_ttl_seconds),
        "atp_buffer": str(found.atp_buffer),
    }
    return _channel_form(request, viewer, code=code, values=values, chosen=found.location_codes)


@router.post("/channels", response_model=None)
def save_channel(request: Request, posted: PostedDep) -> Response:
    values = posted.values
    editing = values.get("editing", "")
    code = (editing or values.get("code", "")).strip().upper()
    chosen = posted.lists.get("location_codes", [])
    data: dict[str, Any] = {
        "code": code,
        "name": values.get("name", "").strip(),
        "kind": values.get("kind", ""),
        "location_codes": chosen,
    }
    for name in ("reservation_ttl_seconds", "atp_buffer"):
        text = values.get(name, "").strip()
        if text:
            data[name] = convert(text, int)
    decided = authorize_as(request, posted.viewer, "PUT /channels/{code}", {"code": code}, data)
    try:
        body = ChannelWrite.model_validate(data)
        if not editing and body.code in read(
            request, lambda uow: {c.code for c in catalog.list_channels(uow)}
        ):
            raise DomainError(f"channel {body.code} exists: edit it from the list", field="code")
        change(request, decided, lambda uow: catalog.save_channel(uow, body))
    except (ValidationError, DomainError) as exc:
        return _channel_form(
            request,
            posted.viewer,
            code=editing or None,
            values=values,
            chosen=chosen,
            errors=errors_of(exc, fields=CHANNEL_FIELDS),
            status=422,
        )
    return redirect("/hq/network", notice=f"Channel {code} saved.")
