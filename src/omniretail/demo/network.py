"""The demo network: a UK distribution centre, twelve stores, a parcel locker bank, a curbside
point and six channels, created through the catalog services.

Every name starts with "Demo" so that nobody takes them for real shops; the streets, towns
and coordinates are real places so that maps and distance searches behave realistically.
"""

from __future__ import annotations

from dataclasses import dataclass

from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownLocation
from omniretail.catalog.models import ChannelKind, LocationKind
from omniretail.catalog.schemas import Capabilities, ChannelWrite, LocationWrite
from omniretail.db.uow import UnitOfWork

DC = "DEMO-DC-LUT"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS_OPEN = dict.fromkeys(WEEKDAYS, "00:00-24:00")


def _hours(weekday: str, saturday: str, sunday: str) -> dict[str, str]:
    return {**dict.fromkeys(WEEKDAYS[:5], weekday), "sat": saturday, "sun": sunday}


# England and Wales limit large shops to six hours on Sunday; Scotland does not.
HIGH_STREET = _hours("09:00-20:00", "09:00-19:00", "11:00-17:00")
CITY_CENTRE = _hours("09:30-19:00", "09:00-18:00", "11:00-17:00")
SCOTLAND = _hours("09:00-19:00", "09:00-18:00", "10:00-18:00")
NORTHERN_IRELAND = _hours("09:00-18:00", "09:00-18:00", "13:00-18:00")


@dataclass(frozen=True)
class Store:
    code: str
    city: str
    address: str
    latitude: float
    longitude: float
    hours: dict[str, str]
    ships_from_store: bool
    daily_capacity: int
    weight: float  # share of the stores' demand


STORES = (
    Store("DEMO-LDN-OXF", "London Oxford Street", "310 Oxford Street, London W1C 1DX",
          51.5152, -0.1447, HIGH_STREET, True, 150, 1.6),
    Store("DEMO-LDN-CGN", "London Covent Garden", "21 Long Acre, London WC2E 9LY",
          51.5125, -0.1257, HIGH_STREET, True, 90, 1.2),
    Store("DEMO-MAN", "Manchester", "42 Market Street, Manchester M1 1PW",
          53.4827, -2.2403, HIGH_STREET, True, 110, 1.2),
    Store("DEMO-BHM", "Birmingham", "130 New Street, Birmingham B2 4JH",
          52.4786, -1.8964, HIGH_STREET, True, 110, 1.1),
    Store("DEMO-LDS", "Leeds", "68 Briggate, Leeds LS1 6LH",
          53.7983, -1.5425, CITY_CENTRE, False, 70, 0.9),
    Store("DEMO-LIV", "Liverpool", "25 Church Street, Liverpool L1 3AQ",
          53.4054, -2.9820, CITY_CENTRE, False, 70, 0.9),
    Store("DEMO-BRS", "Bristol", "47 Broadmead, Bristol BS1 3EA",
          51.4584, -2.5889, CITY_CENTRE, True, 80, 0.8),
    Store("DEMO-EDI", "Edinburgh", "84 Princes Street, Edinburgh EH2 2ER",
          55.9521, -3.1975, SCOTLAND, False, 70, 0.9),
    Store("DEMO-GLA", "Glasgow", "120 Buchanan Street, Glasgow G1 2JW",
          55.8624, -4.2535, SCOTLAND, True, 90, 1.0),
    Store("DEMO-CDF", "Cardiff", "75 Queen Street, Cardiff CF10 2BG",
          51.4816, -3.1748, CITY_CENTRE, False, 60, 0.7),
    Store("DEMO-NCL", "Newcastle", "94 Northumberland Street, Newcastle upon Tyne NE1 7DF",
          54.9764, -1.6110, CITY_CENTRE, False, 60, 0.7),
    Store("DEMO-BFS", "Belfast", "32 Donegall Place, Belfast BT1 5BB",
          54.5985, -5.9301, NORTHERN_IRELAND, False, 50, 0.6),
)  # fmt: skip


# Stores with a car park where orders are handed over at the kerb.
CURBSIDE_STORES = frozenset({"DEMO-MAN", "DEMO-BHM", "DEMO-GLA"})


def locations() -> list[LocationWrite]:
    dc = LocationWrite(
        code=DC,
        name="Demo National Distribution Centre (Magna Park, Lutterworth)",
        kind=LocationKind.WAREHOUSE,
        latitude=52.4601,
        longitude=-1.2470,
        address="Argosy Way, Magna Park, Lutterworth LE17 4XN",
        opening_hours=ALWAYS_OPEN,
        capabilities=Capabilities(ships_to_home=True, accepts_returns=True),  # the returns desk
        daily_capacity=6000,
    )
    stores = [
        LocationWrite(
            code=s.code,
            name=f"Demo store {s.city}",
            kind=LocationKind.STORE,
            latitude=s.latitude,
            longitude=s.longitude,
            address=s.address,
            opening_hours=s.hours,
            capabilities=Capabilities(
                ships_to_home=s.ships_from_store,
                pickup=True,
                ship_to_store_target=True,
                accepts_returns=True,
                curbside=s.code in CURBSIDE_STORES,
            ),
            daily_capacity=s.daily_capacity,
        )
        for s in STORES
    ]
    locker = LocationWrite(
        code="DEMO-LKR-KGX",
        name="Demo parcel lockers King's Cross station",
        kind=LocationKind.LOCKER,
        latitude=51.5308,
        longitude=-0.1238,
        address="King's Cross Station, Euston Road, London N1C 4AX",
        opening_hours=ALWAYS_OPEN,
        capabilities=Capabilities(pickup=True),
        daily_capacity=120,
    )
    curbside = LocationWrite(
        code="DEMO-CURB-TFD",
        name="Demo curbside collection Trafford Park",
        kind=LocationKind.CURBSIDE,
        latitude=53.4667,
        longitude=-2.3472,
        address="Car park B, Barton Dock Road, Trafford Park, Manchester M41 7ZA",
        opening_hours=_hours("08:00-20:00", "08:00-20:00", "10:00-16:00"),
        capabilities=Capabilities(pickup=True, curbside=True),
        daily_capacity=80,
    )
    return [dc, *stores, locker, curbside]


def channels() -> list[ChannelWrite]:
    """Which stock each channel sells: online channels ship from the DC and the ship-from-store
    stores; tills sell their own store's stock; third-party channels only the DC's, with a
    buffer against the delay before their listings catch up with our stock."""
    stores = [s.code for s in STORES]
    shipping = [DC, *(s.code for s in STORES if s.ships_from_store)]
    return [
        ChannelWrite(code="WEB", name="Demo web shop", kind=ChannelKind.WEB,
                     reservation_ttl_seconds=15 * 60, location_codes=shipping),
        ChannelWrite(code="APP", name="Demo mobile app", kind=ChannelKind.APP,
                     reservation_ttl_seconds=15 * 60, location_codes=shipping),
        ChannelWrite(code="POS", name="Demo store tills", kind=ChannelKind.STORE_POS,
                     reservation_ttl_seconds=5 * 60, location_codes=stores),
        ChannelWrite(code="MARKETPLACE", name="Demo marketplace listings",
                     kind=ChannelKind.MARKETPLACE, reservation_ttl_seconds=30 * 60,
                     atp_buffer=2, location_codes=[DC]),
        ChannelWrite(code="SOCIAL", name="Demo social shop", kind=ChannelKind.SOCIAL,
                     reservation_ttl_seconds=10 * 60, atp_buffer=1, location_codes=[DC]),
        ChannelWrite(code="CALL_CENTRE", name="Demo call centre", kind=ChannelKind.CALL_CENTRE,
                     reservation_ttl_seconds=60 * 60, location_codes=[DC, *stores]),
    ]  # fmt: skip


def network_exists(uow: UnitOfWork) -> bool:
    try:
        catalog.get_location(uow, DC)
    except UnknownLocation:
        return False
    return True


def create_network(uow: UnitOfWork) -> tuple[int, int]:
    """Saves the demo locations and channels (saving is an upsert, so this is safe to repeat);
    returns how many of each."""
    wanted_locations = locations()
    for location in wanted_locations:
        catalog.save_location(uow, location)
    wanted_channels = channels()
    for channel in wanted_channels:
        catalog.save_channel(uow, channel)
    return len(wanted_locations), len(wanted_channels)
