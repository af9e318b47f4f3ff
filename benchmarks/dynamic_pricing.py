"""A dynamic pricing run over many SKUs, in one process (no HTTP).

    python benchmarks/dynamic_pricing.py --db {sqlite,postgres} [--skus 2000]

Builds a fresh database (SQLite file, or a new schema on ``OMNIRETAIL_TEST_PG_URL``, with
``OMNIRETAIL_SECRET_KEY`` set as for any shared database), one
channel served by one warehouse, ``--skus`` SKUs in stock with their catalog price and a rule
that lowers every price by 3 %; then times a dry run (the preview), the applied run, and a
second run the same day (which changes nothing). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text

from omniretail.bootstrap import build_container
from omniretail.catalog import service as catalog
from omniretail.catalog.models import ChannelKind, LocationKind
from omniretail.catalog.schemas import ChannelWrite, LocationWrite, ProductCreate, SkuCreate
from omniretail.intelligence.schemas import DynamicRuleWrite
from omniretail.intelligence.service import dynamic_pricing
from omniretail.inventory import service as inventory
from omniretail.settings import Settings

PG_URL = os.environ.get(
    "OMNIRETAIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--skus", type=int, default=2000)
    args = parser.parse_args()
    schema = None
    if args.db == "sqlite":
        path = Path(tempfile.mkdtemp()) / "dynamic.db"
        settings = Settings(database_url=f"sqlite:///{path}")
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with create_engine(PG_URL).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        settings = Settings(database_url=PG_URL, database_schema=schema)
    container = build_container(settings)
    try:
        container.migrate()
        codes = [f"S{i:06d}" for i in range(args.skus)]
        with container.uow() as uow:
            catalog.save_location(
                uow,
                LocationWrite(
                    code="DC1", name="DC", kind=LocationKind.WAREHOUSE, latitude=52, longitude=-1
                ),
            )
            catalog.save_channel(
                uow,
                ChannelWrite(code="WEB", name="Web", kind=ChannelKind.WEB, location_codes=["DC1"]),
            )
            for start in range(0, args.skus, 1000):
                catalog.create_product(
                    uow,
                    ProductCreate(
                        code=f"P{start:06d}",
                        name=f"Product {start}",
                        skus=[
                            SkuCreate(code=c, name=c, price=Decimal("20.00"))
                            for c in codes[start : start + 1000]
                        ],
                    ),
                )
        with container.uow() as uow:
            inventory.receive_stock_bulk(
                uow, [inventory.BulkReceipt(c, "DC1", 10) for c in codes], actor="bench"
            )
            dynamic_pricing.save_rule(
                uow, "SLOW", DynamicRuleWrite(name="All", channel="WEB", percent=Decimal("-3"))
            )
        figures: dict[str, float | int | str] = {"db": args.db, "skus": args.skus}
        for name, dry in (("preview", True), ("run", False), ("second_run", False)):
            started = time.perf_counter()
            with container.read_uow() if dry else container.uow() as uow:
                result = dynamic_pricing.run(uow, actor="bench", dry_run=dry)
            figures[f"{name}_seconds"] = round(time.perf_counter() - started, 3)
            figures[f"{name}_changed"] = result.changed
            print(
                f"{name}: {result.evaluated} evaluated, {result.changed} changed in"
                f" {figures[f'{name}_seconds']} s"
            )
        print(json.dumps(figures))
    finally:
        container.dispose()
        if schema is not None:
            with create_engine(PG_URL).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
