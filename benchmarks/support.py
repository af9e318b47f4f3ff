"""The self-service assistant: answer latency, intent accuracy and containment.

    python benchmarks/support.py --db {sqlite,postgres} [--questions 1000] [--skus 2000]

Seeds a fresh migrated database through the services and the API (four stores with opening
hours, ``--skus`` named SKUs stocked at the stores, a customer with orders: click & collect made
ready, home deliveries shipped with a carrier), then asks ``--questions`` questions drawn in turn
from the project's held-out set (``support/intents/heldout.csv``, never trained on). Order
questions carry the order number and its email every other time, so the verified path (the
tracking read; the code itself goes only to a signed-in owner) is measured as well as the
"please verify" one.

- service: ``support.assistant.answer`` in-process over the database (one read transaction per
  question), wall time per call;
- API: ``POST /api/v1/support/assistant`` in-process (FastAPI TestClient), the server-side time
  from the ``Server-Timing: app`` header (the throttle's write transaction included);
- intent accuracy on the held-out set, the threshold's coverage (share answered) and the
  accuracy above it;
- containment: the share of the held-out questions answered without a handover to an agent.

The model is trained (or loaded from the cache) before timing starts, as the server does at
start. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import SECRET_KEY, fresh_database, percentile, server_timing
from fastapi.testclient import TestClient

from omniretail.app import create_app
from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import build_container
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
from omniretail.customers.schemas import CustomerCreate
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockChange
from omniretail.kernel.vault import vault_for
from omniretail.settings import Settings
from omniretail.support.assistant import AssistantConfig, AssistantContext, answer
from omniretail.support.assistant_model import evaluate, load_data, trained

HOURS = {d: "09:00-20:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat")} | {
    "sun": "11:00-17:00"
}
STORES = {
    "LON1": ("London Oxford St", 51.5154, -0.1410),
    "LON2": ("London Camden", 51.5390, -0.1426),
    "MAN1": ("Manchester Arndale", 53.4831, -2.2399),
    "BHM1": ("Birmingham Bullring", 52.4778, -1.8940),
}
EMAIL = "ada@example.com"
ADJECTIVES = "red white blue pink green vintage retro spotty jumbo mini regency wooden glass"
NOUNS = "lunch bag, t-light holder, cake stand, alarm clock, doormat, tea towel, bunting, lantern"
ORDER_INTENTS = {"where_is_my_order", "pickup_code", "cancel_order", "change_pickup_store"}


def seed(container: Any, client: TestClient, skus: int) -> tuple[list[str], int]:
    rng = random.Random(7)
    adjectives, nouns = ADJECTIVES.split(), [n.strip() for n in NOUNS.split(",")]
    codes = [f"{20000 + i}" for i in range(skus)]
    with container.uow() as uow:
        for code, (name, lat, lon) in STORES.items():
            catalog.save_location(
                uow,
                LocationWrite(
                    code=code,
                    name=name,
                    kind=LocationKind.STORE,
                    latitude=lat,
                    longitude=lon,
                    address=f"{name}, UK",
                    opening_hours=HOURS,
                    capabilities=Capabilities(ships_to_home=True, pickup=True),
                    daily_capacity=500,
                ),
            )
        catalog.save_channel(
            uow,
            ChannelWrite(
                code="WEB", name="Web shop", kind=ChannelKind.WEB, location_codes=list(STORES)
            ),
        )
        for start in range(0, skus, 500):
            catalog.create_product(
                uow,
                ProductCreate(
                    code=f"P{start}",
                    name=f"Range {start}",
                    skus=[
                        SkuCreate(
                            code=c,
                            name=" ".join(
                                (rng.choice(adjectives), rng.choice(adjectives), rng.choice(nouns))
                            ).upper()
                            + f" {i}",
                            price=5 + i % 20,
                        )
                        for i, c in enumerate(codes[start : start + 500], start)
                    ],
                ),
            )
        customer = customers.create_customer(
            uow, CustomerCreate(), vault=vault_for(container.keyring), actor="bench"
        ).customer.id
    with container.uow() as uow:
        for code in codes[:300]:
            for store in STORES:
                inventory.receive_stock(
                    uow, StockChange(sku=code, location=store, quantity=50), actor="bench"
                )
    numbers = []
    for i in range(20):
        token = client.post("/api/v1/carts", json={"channel": "WEB", "customer_id": customer})
        token = token.json()["token"]
        client.post(
            f"/api/v1/carts/{token}/lines",
            json={"sku": codes[i], "quantity": 1, "location": "LON2"},
        )
        pickup = i % 2 == 0
        fulfilment: dict[str, Any] = (
            {"method": "pickup_in_store", "pickup_location": "LON2"}
            if pickup
            else {"method": "ship_to_home", "latitude": 51.545, "longitude": -0.150}
        )
        placed = client.post(
            f"/api/v1/carts/{token}/checkout",
            json={
                "fulfilment": fulfilment,
                "payment": {"provider_token": "tok_visa"},
                "contact_email": EMAIL,
            },
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()
        fid = order["fulfilments"][0]["id"]
        for step in ("accept", "pick", "pack"):
            client.post(f"/api/v1/fulfilments/{fid}/{step}", json={})
        if pickup:
            client.post(f"/api/v1/fulfilments/{fid}/ready", json={})
        else:
            client.post(
                f"/api/v1/fulfilments/{fid}/ship",
                json={"carrier": "DPD", "tracking_number": f"DPD{i:05d}"},
            )
        numbers.append(order["number"])
    return numbers, int(customer)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--skus", type=int, default=2000)
    args = parser.parse_args()

    with fresh_database(args.db) as (url, schema), tempfile.TemporaryDirectory() as cache:
        settings = Settings(
            database_url=url,
            database_schema=schema,
            db_pool_size=5,
            cache_dir=Path(cache),
            support_assistant_requests_per_window=10**6,
            secret_key=SECRET_KEY,  # type: ignore[arg-type]
        )
        container = build_container(settings)
        config = AssistantConfig.from_settings(settings)
        data = load_data(None)
        started = time.perf_counter()
        model = trained(data, config.cache_dir)
        train_seconds = time.perf_counter() - started
        evaluation = evaluate(model, data.heldout, config.threshold)

        with container.uow() as uow:
            admin = auth.create_principal(
                uow, PrincipalCreate(username="bench-assistant", role=Role.ADMIN, kind="system")
            )
            key = auth.create_api_key(uow, admin.id, "benchmark").key
        app = create_app(container, background_sweep=False)
        with TestClient(app, headers={"X-API-Key": key}) as client:
            numbers, _customer = seed(container, client, args.skus)
            questions = [data.heldout[i % len(data.heldout)] for i in range(args.questions)]

            def extra(i: int, intent: str) -> dict[str, str]:
                if intent in ORDER_INTENTS and i % 2 == 0:
                    return {"order_number": numbers[i % len(numbers)], "email": EMAIL}
                return {}

            service_ms: list[float] = []
            handovers = 0
            for i, (intent, text) in enumerate(questions):
                t0 = time.perf_counter()
                reply = answer(
                    container, text, AssistantContext(), config=config, **extra(i, intent)
                )
                service_ms.append((time.perf_counter() - t0) * 1000)
                handovers += reply.handover

            anonymous = TestClient(app)
            api_ms: list[float] = []
            for i, (intent, text) in enumerate(questions):
                response = anonymous.post(
                    "/api/v1/support/assistant", json={"question": text, **extra(i, intent)}
                )
                assert response.status_code == 200, response.text
                api_ms.append(server_timing(response.headers)[0])

            unique = [
                answer(container, text, AssistantContext(), config=config)
                for _, text in data.heldout
            ]
        container.dispose()

    contained = sum(not r.handover for r in unique) / len(unique)
    result = {
        "benchmark": "support_assistant",
        "db": args.db,
        "questions": args.questions,
        "skus": args.skus,
        "train_seconds": round(train_seconds, 2),
        "service_p50_ms": round(percentile(service_ms, 50), 2),
        "service_p95_ms": round(percentile(service_ms, 95), 2),
        "api_p50_ms": round(percentile(api_ms, 50), 2),
        "api_p95_ms": round(percentile(api_ms, 95), 2),
        **evaluation.as_dict(),
        "containment_heldout": round(contained, 4),
        "handover_share_in_run": round(handovers / len(questions), 4),
        "targets": {"p95_ms": 100, "intent_accuracy": 0.90},
        "ok": percentile(service_ms, 95) <= 100 and evaluation.accuracy >= 0.90,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
