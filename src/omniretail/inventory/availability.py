"""Read-side use cases: available to promise, nearby store stock, ledger verification."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownChannel, UnknownLocation, UnknownSku
from omniretail.catalog.schemas import LocationKind
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import repository as repo
from omniretail.inventory import totals
from omniretail.inventory.models import HoldKind
from omniretail.inventory.schemas import (
    AvailabilityRead,
    DriftRow,
    LocationAvailability,
    NearbyStock,
    VerifyReport,
)

EARTH_RADIUS_KM = 6371.0088


def availability(
    uow: UnitOfWork,
    skus: Sequence[str],
    *,
    channel: str | None = None,
    locations: Sequence[str] | None = None,
) -> list[AvailabilityRead]:
    """ATP per SKU: per location on hand - held - safety stock; for a channel, the sum over the
    locations it sells from, less the channel's buffer. One query for the whole batch; unknown
    codes are looked up only when they have no stock row (the hot path stays one query)."""
    buffer = 0
    scope: Sequence[str] | None = locations
    if channel is not None:
        settings = catalog.channel_settings(uow, channel)
        buffer = settings.atp_buffer
        allowed = settings.location_codes
        scope = sorted(allowed if locations is None else allowed.intersection(locations))
    by_sku: dict[str, list[LocationAvailability]] = defaultdict(list)
    unique_skus = list(dict.fromkeys(skus))
    if scope is None or scope:
        for c in repo.list_counters(uow.session, unique_skus, scope):
            # Plain ints and a code from the database: no validation needed (hot path).
            by_sku[c.sku_code].append(
                LocationAvailability.model_construct(
                    location=c.location_code,
                    available=c.available_to_promise,
                    on_hand=c.on_hand,
                    reserved=c.reserved,
                )
            )
    _require_known(uow, [s for s in unique_skus if s not in by_sku], locations, by_sku)
    return [
        AvailabilityRead(
            sku=sku,
            channel=channel,
            available=max(0, sum(loc.available for loc in by_sku[sku]) - buffer),
            locations=by_sku[sku],
        )
        for sku in unique_skus
    ]


def customer_availability(
    uow: UnitOfWork,
    skus: Sequence[str],
    *,
    channel: str | None = None,
    locations: Sequence[str] | None = None,
) -> list[AvailabilityRead]:
    """What a customer's stock query answers: the figures the web shop shows, a channel's
    available to promise (its buffer taken off) and no location's on hand. No channel: the
    self-service channel the shop sells on (``catalog.self_service_channel``); a channel
    named is one customers buy on (``auth.access``). Stores' own availability is
    ``nearby_stock``'s, as on the shop's product page; staff keep ``availability``."""
    if channel is None:
        channel = catalog.self_service_channel(uow)
        if channel is None:
            raise UnknownChannel(
                "the shop has no web or app channel to answer for", field="channel"
            )
    return [
        row.model_copy(update={"locations": []})
        for row in availability(uow, skus, channel=channel, locations=locations)
    ]


def nearby_stock(
    uow: UnitOfWork,
    sku: str,
    latitude: float,
    longitude: float,
    *,
    radius_km: float = 50.0,
    limit: int = 10,
    kinds: Sequence[str] = (LocationKind.STORE.value,),
) -> list[NearbyStock]:
    """Which stores near a point have the SKU available now, nearest first."""
    found = []
    for counters, location in repo.list_stocked_locations(uow.session, sku, kinds):
        distance = haversine_km(latitude, longitude, location.latitude, location.longitude)
        if distance <= radius_km:
            found.append(
                NearbyStock(
                    location=location.code,
                    name=location.name,
                    kind=location.kind,
                    address=location.address,
                    latitude=location.latitude,
                    longitude=location.longitude,
                    distance_km=round(distance, 2),
                    available=counters.available_to_promise,
                    opening_hours=location.opening_hours,
                )
            )
    found.sort(key=lambda s: (s.distance_km, s.location))
    if not found:
        _require_known(uow, [sku], None, {})
    return found[:limit]


def _require_known(
    uow: UnitOfWork,
    skus_without_rows: Sequence[str],
    locations: Sequence[str] | None,
    found: dict[str, list[LocationAvailability]],
) -> None:
    """A typo in a code is a 404, not a silent zero."""
    if skus_without_rows:
        known = catalog.existing_sku_codes(uow, skus_without_rows)
        unknown = [s for s in skus_without_rows if s not in known]
        if unknown:
            raise UnknownSku(f"no SKU with code {', '.join(map(repr, unknown))}", field="sku")
    if locations:
        seen = {loc.location for rows in found.values() for loc in rows}
        for code in dict.fromkeys(locations):
            if code not in seen and not catalog.location_exists(uow, code):
                raise UnknownLocation(f"no location with code {code!r}", field="location")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def verify(uow: UnitOfWork) -> VerifyReport:
    """Checks every counter against the ledger, and holds and transfers against counters."""
    session = uow.session
    ledger = totals.ledger_totals(session)
    holds = totals.active_hold_totals(session)
    requested = totals.requested_transfer_totals(session)
    in_transit = totals.in_transit_totals(session)
    counters = {(c.sku_code, c.location_code): c for c in totals.all_counters(session)}
    drift: list[DriftRow] = []
    for key in sorted(set(counters) | set(ledger)):
        sku, location = key
        c = counters.get(key)
        stored = (c.on_hand, c.reserved, c.allocated, c.in_transit) if c else (0, 0, 0, 0)
        expected = ledger.get(key, (0, 0, 0, 0))
        for name, s, e in zip(
            ("on_hand", "reserved", "allocated", "in_transit"), stored, expected, strict=True
        ):
            if s != e:
                drift.append(
                    DriftRow(
                        sku=sku,
                        location=location,
                        counter=name,
                        stored=s,
                        expected=e,
                        source="ledger",
                    )
                )
        checks = (
            ("reserved", stored[1], holds.get((sku, location, HoldKind.CART.value), 0), "holds"),
            (
                "allocated",
                stored[2],
                holds.get((sku, location, HoldKind.ORDER.value), 0) + requested.get(key, 0),
                "holds",
            ),
            ("in_transit", stored[3], in_transit.get(key, 0), "transfers"),
        )
        for name, s, e, source in checks:
            if s != e:
                drift.append(
                    DriftRow(
                        sku=sku,
                        location=location,
                        counter=name,
                        stored=s,
                        expected=e,
                        source=source,
                    )
                )
    return VerifyReport(checked=len(counters), drift=drift)
