"""Inbound email at volume: 1,000 emails threaded and linked (issue 16: <= 60 s).

    python benchmarks/support_mail.py --db {postgres,sqlite} [--emails 1000] [--smtp]

On a fresh database (``_server.fresh_database``): a small network, 200 customers with a
verified email and 50 orders placed through the real checkout (the API in process). Then
``--emails`` emails, each in its own transaction through ``support.mail_in.ingest_one`` (the
function the SMTP listener and the IMAP poller call): 60 % open a conversation (half of them
naming an order number in the subject), 40 % answer an earlier one by ``In-Reply-To``; and a
re-delivery of 50 of them, which must add nothing. ``--smtp`` sends the same mix through the
real listener (aiosmtpd) with smtplib instead, one SMTP session per email.

Checked after the run: conversations = new emails, every reply in its parent's conversation,
every sender linked to their customer, every named order linked. The last line is one JSON
object (``seconds``: the 1,000 emails; ``per_email_ms``; ``target_s``: 60).
"""

from __future__ import annotations

import argparse
import json
import random
import smtplib
import socket
import sys
import time
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import SECRET_KEY, fresh_database
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from omniretail.app import create_app
from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container, build_container
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
from omniretail.customers.models import IdentityKind
from omniretail.customers.schemas import CustomerCreate, IdentityCreate
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockChange
from omniretail.settings import Settings
from omniretail.support import mail_in
from omniretail.support.models import Conversation, Message

CUSTOMERS = 200
ORDERS = 50
HOURS = {day: "09:00-20:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def setup(container: Container) -> tuple[list[tuple[int, str]], dict[int, str]]:
    """(customer id, email) of every customer, and order number by customer."""
    with container.uow() as uow:
        catalog.save_location(
            uow,
            LocationWrite(
                code="DC1",
                name="DC",
                kind=LocationKind.WAREHOUSE,
                latitude=52.48,
                longitude=-1.89,
                address="DC, UK",
                opening_hours={},
                capabilities=Capabilities(ships_to_home=True),
                daily_capacity=0,
            ),
        )
        catalog.save_channel(
            uow, ChannelWrite(code="WEB", name="Web", kind=ChannelKind.WEB, location_codes=["DC1"])
        )
        catalog.create_product(
            uow,
            ProductCreate(
                code="P1", name="Mug", skus=[SkuCreate(code="A1", name="Mug", price=Decimal("9"))]
            ),
        )
        inventory.receive_stock(
            uow, StockChange(sku="A1", location="DC1", quantity=ORDERS * 2), actor="bench"
        )
        people = []
        for i in range(CUSTOMERS):
            address = f"customer{i}@example.com"
            created = customers.create_customer(
                uow, CustomerCreate(name=f"Customer {i}"), vault=uow.vault, actor="bench"
            )
            customers.add_verified_identity(
                uow,
                created.customer.id,
                IdentityCreate(kind=IdentityKind.EMAIL, value=address),
                via="code",
                reference="bench",
                vault=uow.vault,
                actor="system:bench",
            )
            people.append((created.customer.id, address))
        admin = auth.create_principal(
            uow, PrincipalCreate(username="support-bench", role=Role.ADMIN, kind="system")
        )
        key = auth.create_api_key(uow, admin.id, "bench").key
    orders: dict[int, str] = {}
    app = create_app(container, background_sweep=False)
    with TestClient(app, headers={"X-API-Key": key}) as client:
        for customer_id, address in people[:ORDERS]:
            cart = client.post("/api/v1/carts", json={"channel": "WEB", "customer_id": customer_id})
            token = cart.json()["token"]
            client.post(f"/api/v1/carts/{token}/lines", json={"sku": "A1", "quantity": 1})
            placed = client.post(
                f"/api/v1/carts/{token}/checkout",
                json={
                    "fulfilment": {"method": "ship_to_home", "latitude": 51.5, "longitude": -0.1},
                    "payment": {"provider_token": "tok_visa"},
                    "contact_email": address,
                },
            )
            assert placed.status_code == 201, placed.text
            orders[customer_id] = placed.json()["number"]
    return people, orders


def mix(
    n: int, people: list[tuple[int, str]], orders: dict[int, str], rng: random.Random
) -> tuple[list[bytes], dict[str, object]]:
    """The emails, and what the run must find afterwards."""
    emails: list[bytes] = []
    threads: list[tuple[str, int]] = []  # (message id, index of the thread's first email)
    expected_links: dict[int, tuple[int, str | None]] = {}  # thread -> (customer, order)
    for i in range(n):
        message = EmailMessage()
        customer_id, address = people[rng.randrange(len(people))]
        message_id = f"<bench-{i}@mail.example.com>"
        message["Message-ID"] = message_id
        message["To"] = "help@shop.example"
        if threads and rng.random() < 0.4:
            parent_id, root = threads[rng.randrange(len(threads))]
            customer_id = expected_links[root][0]
            address = f"customer{[c for c, _ in people].index(customer_id)}@example.com"
            message["Subject"] = "Re: my question"
            message["In-Reply-To"] = parent_id
            message["References"] = parent_id
            body = f"Any news?\n\nOn Mon, someone wrote:\n> earlier text {i}"
            threads.append((message_id, root))
        else:
            number = orders.get(customer_id) if rng.random() < 0.5 else None
            message["Subject"] = f"Order {number}" if number else "A question"
            body = "Hello, where is my parcel?" if number else "Do you sell gift cards?"
            expected_links[i] = (customer_id, number)
            threads.append((message_id, i))
        message["From"] = f"Customer <{address}>"
        message.set_content(body)
        emails.append(message.as_bytes())
    return emails, {"threads": len(expected_links), "links": expected_links}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--smtp", action="store_true", help="through the SMTP listener")
    args = parser.parse_args()
    rng = random.Random(16)

    with fresh_database(args.db) as (url, schema):
        container = build_container(
            Settings(
                database_url=url,
                database_schema=schema,
                db_pool_size=5,
                secret_key=SECRET_KEY,  # type: ignore[arg-type]
            )
        )
        try:
            people, orders = setup(container)
            emails, expected = mix(args.emails, people, orders, rng)
            redelivered = rng.sample(emails, 50)
            controller = None
            if args.smtp:
                controller = mail_in.listener(container, "127.0.0.1", free_port())
                controller.start()
            started = time.perf_counter()
            if controller is not None:
                for raw in emails:
                    with smtplib.SMTP(controller.hostname, controller.port) as smtp:
                        smtp.sendmail("customer@example.com", ["help@shop.example"], raw)
            else:
                for raw in emails:
                    mail_in.ingest_one(container, raw)
            seconds = time.perf_counter() - started
            duplicates = 0
            for raw in redelivered:
                duplicates += mail_in.ingest_one(container, raw).duplicate
            if controller is not None:
                controller.stop()
            figures = verify(container, expected, args.emails)
            print(
                json.dumps(
                    {
                        "benchmark": "support_mail",
                        "db": args.db,
                        "path": "smtp" if args.smtp else "ingest",
                        "emails": args.emails,
                        "seconds": round(seconds, 2),
                        "per_email_ms": round(seconds * 1000 / args.emails, 2),
                        "redelivered": len(redelivered),
                        "redelivered_ignored": duplicates,
                        **figures,
                        "target_s": 60,
                        "ok": seconds <= 60 and duplicates == len(redelivered),
                    }
                )
            )
        finally:
            container.dispose()


def verify(container: Container, expected: dict[str, object], n: int) -> dict[str, object]:
    links = expected["links"]
    assert isinstance(links, dict)
    with container.read_uow() as uow:
        conversations = int(uow.session.scalar(select(func.count()).select_from(Conversation)) or 0)
        messages = int(uow.session.scalar(select(func.count()).select_from(Message)) or 0)
        rows = {
            m.message_id: c
            for m, c in uow.session.execute(
                select(Message, Conversation).join(
                    Conversation, Conversation.id == Message.conversation_id
                )
            )
        }
    customer_ok = order_ok = orders_named = 0
    for index, (customer_id, number) in links.items():
        conversation = rows[f"<bench-{index}@mail.example.com>"]
        customer_ok += conversation.customer_id == customer_id
        if number:
            orders_named += 1
            order_ok += conversation.order_id is not None
    assert conversations == expected["threads"], (conversations, expected["threads"])
    assert messages == n, (messages, n)
    assert customer_ok == len(links) and order_ok == orders_named
    return {
        "conversations": conversations,
        "messages": messages,
        "customers_linked": customer_ok,
        "orders_named": orders_named,
        "orders_linked": order_ok,
    }


if __name__ == "__main__":
    main()
