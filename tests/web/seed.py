"""A small synthetic retailer for the console's tests, built through the services: a DC and
three stores, two channels, three SKUs with stock, three sign-ins (HQ admin, an associate of
LON1, a customer) and two live orders of that customer (one waiting for pickup at LON1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.carts import service as carts
from omniretail.carts.schemas import CartCreate, CartLineAdd
from omniretail.catalog import service as catalog
from omniretail.catalog.models import ChannelKind, LocationKind
from omniretail.catalog.schemas import (
    Capabilities,
    ChannelWrite,
    LocationWrite,
    ProductCreate,
    SkuCreate,
)
from omniretail.customers import service as customers
from omniretail.customers.models import IdentityKind, VerifiedVia
from omniretail.customers.schemas import CustomerCreate, IdentityCreate, OrderActivity
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import ShipBody
from omniretail.intelligence import markdown_repository
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockChange
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.orders import service as checkout
from omniretail.orders import service as lookup
from omniretail.orders.schemas import CheckoutCreate, FulfilmentChoice, PaymentIn
from omniretail.orders.service import PaymentProvider
from omniretail.routing.service import policy_from

HOURS = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-24:00")
PASSWORD = "correct-horse-battery"
ADMIN, ASSOCIATE, CUSTOMER_EMAIL, CUSTOMER_PHONE = (
    "hq-admin",
    "store-lon1",
    "ada@example.com",
    "07700 900123",
)
STORES = [
    ("DC1", "Midlands DC", LocationKind.WAREHOUSE, 52.4862, -1.8904, "Unit 4, Birmingham"),
    ("LON1", "London Oxford St", LocationKind.STORE, 51.5154, -0.1410, "310 Oxford St, London"),
    ("LON2", "London Camden", LocationKind.STORE, 51.5390, -0.1426, "12 High St, Camden"),
    ("MAN1", "Manchester", LocationKind.STORE, 53.4831, -2.2399, "42 Market St, Manchester"),
]
SKUS = {"A1": ("Enamel mug", "20.00"), "B2": ("Linen tote", "35.50"), "C3": ("Soy candle", "15.00")}
STOCK = [
    ("A1", "DC1", 100),
    ("B2", "DC1", 50),
    ("C3", "DC1", 20),
    ("A1", "LON1", 10),
    ("B2", "LON1", 5),
    ("A1", "LON2", 3),
    ("B2", "MAN1", 2),
]


@dataclass(frozen=True)
class Seeded:
    customer_id: int
    pickup_order: str
    pickup_code: str
    tracking_token: str
    home_order: str


def seed(container: Container, payments: PaymentProvider) -> Seeded:
    _network(container)
    customer_id = _people(container)
    return _orders(container, customer_id, payments)


def _network(container: Container) -> None:
    with container.uow() as uow:
        for code, name, kind, lat, lon, address in STORES:
            store = kind is LocationKind.STORE
            catalog.save_location(
                uow,
                LocationWrite(
                    code=code,
                    name=name,
                    kind=kind,
                    latitude=lat,
                    longitude=lon,
                    address=address,
                    opening_hours=HOURS,
                    capabilities=Capabilities(
                        ships_to_home=True,
                        pickup=store,
                        ship_to_store_target=store,
                        accepts_returns=store,
                    ),
                    daily_capacity=20 if store else 0,
                ),
            )
        catalog.save_channel(
            uow,
            ChannelWrite(
                code="WEB",
                name="Web shop",
                kind=ChannelKind.WEB,
                location_codes=[s[0] for s in STORES],
            ),
        )
        catalog.save_channel(
            uow,
            ChannelWrite(
                code="POS",
                name="Store tills",
                kind=ChannelKind.STORE_POS,
                location_codes=["LON1", "LON2", "MAN1"],
            ),
        )
        catalog.create_product(
            uow,
            ProductCreate(
                code="HOME",
                name="Home goods",
                skus=[
                    SkuCreate(code=code, name=name, price=Decimal(price))
                    for code, (name, price) in SKUS.items()
                ],
            ),
        )
        for sku, location, quantity in STOCK:
            inventory.receive_stock(
                uow, StockChange(sku=sku, location=location, quantity=quantity), actor="seed"
            )


def _people(container: Container) -> int:
    vault = vault_for(container.keyring)
    with container.uow() as uow:
        created = customers.create_customer(
            uow,
            CustomerCreate(
                name="Ada Lovelace",
                home_store="LON1",
                identities=[IdentityCreate(kind=IdentityKind.PHONE, value=CUSTOMER_PHONE)],
            ),
            vault=vault,
            actor="seed",
        )
        customer_id = created.customer.id
        customers.add_verified_identity(
            uow,
            customer_id,
            IdentityCreate(kind=IdentityKind.EMAIL, value=CUSTOMER_EMAIL),
            via=VerifiedVia.LOGIN.value,
            reference="seed",
            vault=vault,
            actor="system:seed",
        )
        loyalty.enrol(uow, customer_id, actor="seed")
        for username, role, store in (
            (ADMIN, Role.ADMIN, None),
            (ASSOCIATE, Role.STORE_ASSOCIATE, "LON1"),
        ):
            auth.create_principal(
                uow,
                PrincipalCreate(username=username, role=role, password=PASSWORD, store_code=store),
            )
        auth.create_principal(
            uow,
            PrincipalCreate(role=Role.CUSTOMER, customer_id=customer_id, password=PASSWORD),
        )
    return customer_id


def add_staff(container: Container, username: str, role: Role) -> None:
    """A member of staff with the seed's password, to sign in as."""
    with container.uow() as uow:
        auth.create_principal(uow, PrincipalCreate(username=username, role=role, password=PASSWORD))


def place_web_order(
    container: Container,
    customer_id: int,
    payments: PaymentProvider,
    sku: str,
    quantity: int,
    choice: FulfilmentChoice,
    location: str | None,
    more: tuple[tuple[str, int], ...] = (),
) -> str:
    """An order placed on the web shop by the customer (``sku`` and ``more`` lines);
    returns its number."""
    with container.uow() as uow:
        cart = carts.create_cart(
            uow, CartCreate(channel="WEB", customer_id=customer_id), actor="seed"
        )
        for code, units in ((sku, quantity), *more):
            carts.add_line(
                uow,
                cart.token,
                CartLineAdd(sku=code, quantity=units, location=location),
                actor="seed",
            )
        order = checkout.place_order(
            uow,
            cart.token,
            CheckoutCreate(
                fulfilment=choice,
                payment=PaymentIn(provider_token="tok_visa"),
                contact_email=CUSTOMER_EMAIL,
            ),
            payments=payments,
            policy=policy_from(container.settings),
            actor="seed",
        )
    return order.number


def shipped_web_order(
    container: Container,
    customer_id: int,
    payments: PaymentProvider,
    sku: str,
    quantity: int,
    more: tuple[tuple[str, int], ...] = (),
) -> str:
    """A home delivery bought on the web and shipped (so it can be returned at a store)."""
    choice = FulfilmentChoice(method="ship_to_home", latitude=52.48, longitude=-1.89)
    number = place_web_order(container, customer_id, payments, sku, quantity, choice, None, more)
    with container.uow() as uow:
        fid = lookup.get_order(uow, number).fulfilments[0].id
        for step in (fulfilment.accept, fulfilment.start_picking, fulfilment.pack):
            step(uow, fid, actor="seed")
        fulfilment.ship(uow, fid, ShipBody(carrier="DPD"), actor="seed")
    return number


def _orders(container: Container, customer_id: int, payments: PaymentProvider) -> Seeded:
    policy = policy_from(container.settings)

    def place(sku: str, quantity: int, choice: FulfilmentChoice, location: str | None) -> str:
        return place_web_order(container, customer_id, payments, sku, quantity, choice, location)

    pickup = place(
        "A1", 2, FulfilmentChoice(method="pickup_in_store", pickup_location="LON1"), "LON1"
    )
    home = place(
        "B2", 1, FulfilmentChoice(method="ship_to_home", latitude=52.48, longitude=-1.89), None
    )
    with container.uow() as uow:
        fid = lookup.get_order(uow, pickup).fulfilments[0].id
        for step in (fulfilment.accept, fulfilment.start_picking, fulfilment.pack):
            step(uow, fid, actor="seed")
        fulfilment.ready_for_pickup(uow, fid, policy=policy, actor="seed")
    with container.read_uow() as uow:
        order = lookup.get_order(uow, pickup)
        assert order.tracking_url is not None
        token = order.tracking_url.rsplit("/", 1)[-1]
        code = next(iter(lookup.pickup_codes(uow, pickup).values()), None)
    assert code is not None
    return Seeded(customer_id, pickup, code, token, home)


def record_till_receipt(
    container: Container,
    customer_id: int,
    *,
    number: str = "POS-RECEIPT-7",
    channel: str = "POS",
    total: Decimal = Decimal("12.00"),
) -> None:
    """Another till system's receipt on the customer's timeline (activity, no order here),
    then the relay run so that the seeded orders are on it too."""
    with container.uow() as uow:
        customers.record_order(
            uow,
            OrderActivity(
                customer_id=customer_id,
                number=number,
                channel=channel,
                placed_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
                total=total,
                lines=1,
            ),
        )
    container.relay().run_until_idle()


def seed_markdown_suggestion(container: Container) -> int:
    """An undecided markdown suggestion for A1 at DC1: full price, then half price."""
    day = container.clock.now().date() + timedelta(days=1)
    with container.uow() as uow:
        return markdown_repository.insert_suggestion(
            uow.session,
            {
                "sku_code": "A1",
                "location_code": "DC1",
                "channel_code": "WEB",
                "currency": "GBP",
                "status": "suggested",
                "full_price": Decimal("20.00"),
                "on_hand": 100,
                "forecast_units": 40.0,
                "starts_on": day,
                "clear_by": day + timedelta(weeks=4),
                "expected_units": 100.0,
                "expected_revenue": Decimal("1600.00"),
                "baseline_units": 40.0,
                "baseline_revenue": Decimal("800.00"),
                "expected_leftover": 0.0,
                "clears": True,
                "elasticity": -2.0,
                "guardrails": {
                    "floor_fraction": 0.5,
                    "max_step": 0.5,
                    "max_steps_per_month": 2,
                    "weeks_per_step": 2,
                },
                "created_at": uow.now,
            },
            [
                {
                    "step": 1,
                    "starts_on": day,
                    "weeks": 2,
                    "discount": Decimal("0"),
                    "price": Decimal("20.00"),
                    "expected_units": 20.0,
                    "expected_revenue": Decimal("400.00"),
                },
                {
                    "step": 2,
                    "starts_on": day + timedelta(weeks=2),
                    "weeks": 2,
                    "discount": Decimal("0.5"),
                    "price": Decimal("10.00"),
                    "expected_units": 80.0,
                    "expected_revenue": Decimal("800.00"),
                },
            ],
        )
