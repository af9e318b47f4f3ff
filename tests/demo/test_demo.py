from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from omniretail.app import create_app
from omniretail.auth.models import ApiKey, Principal
from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.models import Location
from omniretail.commands.main import app
from omniretail.demo.network import DC, STORES
from omniretail.inventory import availability
from omniretail.inventory.models import StockLevel, StockMovement
from omniretail.orders.models import Order
from tests.history.logs import write_log


def demo_env(container: Container, tmp_path: Path) -> dict[str, str | None]:
    settings = container.settings
    env: dict[str, str | None] = {
        "OMNIRETAIL_DATA_DIR": str(tmp_path / "data"),
        "OMNIRETAIL_DATA": None,
    }
    env["OMNIRETAIL_DATABASE_URL"] = settings.resolved_database_url()
    if settings.database_schema:
        env["OMNIRETAIL_DATABASE_SCHEMA"] = settings.database_schema
    return env


def run_demo(container: Container, tmp_path: Path, log: Path) -> str:
    result = CliRunner().invoke(
        app,
        # The intelligence batch is tested in tests/intelligence/test_demo_batch.py.
        ["demo", "--data", str(log), "--no-serve", "--port", "8123", "--no-intelligence"],
        env=demo_env(container, tmp_path),
    )
    assert result.exit_code == 0, result.output
    return result.output


def stock(container: Container) -> dict[tuple[str, str], tuple[int, int, int | None, int | None]]:
    with container.read_uow() as uow:
        rows = uow.session.scalars(select(StockLevel))
        return {
            (r.sku_code, r.location_code): (
                r.on_hand,
                r.safety_stock,
                r.reorder_point,
                r.order_up_to,
            )
            for r in rows
        }


def test_demo_imports_builds_the_network_and_stocks_it(container, tmp_path):
    log = write_log(tmp_path / "log.parquet")

    output = run_demo(container, tmp_path, log)

    assert f"transaction log: {log} (given)" in output.replace("\n", "")
    assert "API docs: http://127.0.0.1:8123/docs" in output
    with container.read_uow() as uow:
        locations = {loc.code: loc for loc in catalog.list_locations(uow)}
        channels = {ch.code: ch for ch in catalog.list_channels(uow)}
        orders = uow.session.scalar(
            select(func.count()).select_from(Order).where(Order.tracking_token_digest.is_(None))
        )
        report = availability.verify(uow)
    assert orders == 10  # the history's (the demo customer's live orders: test_demo_orders.py)
    assert len(locations) == 15
    assert {loc.kind.value for loc in locations.values()} == {
        "warehouse",
        "store",
        "locker",
        "curbside",
    }
    assert all(loc.name.startswith("Demo") for loc in locations.values())
    store = locations["DEMO-MAN"].capabilities
    assert (store.pickup, store.ship_to_store_target, store.accepts_returns) == (True, True, True)
    assert sorted(channels) == ["APP", "CALL_CENTRE", "MARKETPLACE", "POS", "SOCIAL", "WEB"]
    assert channels["POS"].location_codes == sorted(s.code for s in STORES)
    assert channels["MARKETPLACE"].location_codes == [DC]
    assert channels["WEB"].reservation_ttl_seconds == 900
    # Demand over the last 12 weeks of sales: 96 units of 22041 and 12 of 85123A (the write-off
    # at price 0 is not demand). The DC holds 70% of six weeks of it.
    levels = stock(container)
    # ceil(96 / 12 * 0.7 * 6) = 34 received; each of the demo customer's four web baskets
    # holds both SKUs, 22041 as (34 - 1 for the cart) // 4 = 8 units (a history line held 48
    # most often): the delivered, the shipped and the ship-to-store order (in transit) took
    # 24, the cancelled none.
    assert levels[("22041", DC)] == (10, 0, None, None)
    # ceil(12 / 12 * 0.7 * 6) = 5; (5 - 1) // 4 = 1 unit a basket: three taken.
    assert levels[("85123A", DC)] == (2, 0, None, None)
    assert len(levels) == 2 + 2 * len(STORES)
    on_hand, safety, reorder, up_to = levels[("22041", "DEMO-LDN-OXF")]
    assert on_hand == up_to and 0 < safety <= reorder <= up_to
    assert report.ok and report.checked == len(levels)


def test_the_demo_offers_curbside_pickup_at_stores_with_a_car_park(container, client, tmp_path):
    run_demo(container, tmp_path, write_log(tmp_path / "log.parquet"))

    with container.read_uow() as uow:
        curbside = {loc.code for loc in catalog.list_locations(uow) if loc.capabilities.curbside}
    assert curbside == {"DEMO-MAN", "DEMO-BHM", "DEMO-GLA", "DEMO-CURB-TFD"}
    # a shopper in Manchester, on the product page of a SKU every store holds
    answer = client.get(
        "/api/v1/fulfilment-options",
        params={"sku": "22041", "channel": "WEB", "lat": 53.48, "lon": -2.24},
    )
    assert answer.status_code == 200, answer.text
    offered = {
        o["location"]
        for o in answer.json()["options"]
        if o["method"] == "curbside" and o["available"]
    }
    assert offered == {"DEMO-MAN"}


def test_running_the_demo_again_adds_nothing(container, tmp_path):
    log = write_log(tmp_path / "log.parquet")
    run_demo(container, tmp_path, log)
    before = stock(container)
    with container.read_uow() as uow:
        movements = uow.session.scalar(select(func.count()).select_from(StockMovement))

    output = run_demo(container, tmp_path, log)

    assert "was imported before" in output
    assert "the demo network exists" in output
    assert "hold stock already" in output
    assert stock(container) == before
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(StockMovement)) == movements
        assert uow.session.scalar(select(func.count()).select_from(Location)) == 15


def test_inventory_verify_is_clean_after_the_demo(container, tmp_path):
    run_demo(container, tmp_path, write_log(tmp_path / "log.parquet"))

    result = CliRunner().invoke(app, ["inventory", "verify"], env=demo_env(container, tmp_path))

    assert result.exit_code == 0, result.output
    assert f"ok: {2 + 2 * len(STORES)} stock records match the ledger" in result.output


@pytest.mark.parametrize("backend", ["sqlite"])
def test_demo_explains_a_missing_log(container, tmp_path):
    result = CliRunner().invoke(
        app,
        ["demo", "--data", str(tmp_path / "absent.parquet"), "--no-serve"],
        env=demo_env(container, tmp_path),
    )

    assert result.exit_code == 2
    assert "demo set-up failed" in result.output
    assert "the given path names no file" in result.output.replace("\n", "")


def test_the_demo_prints_an_admin_api_key_that_opens_the_api(container, tmp_path):
    output = run_demo(container, tmp_path, write_log(tmp_path / "log.parquet"))

    found = re.search(r"shown once; 'Authorize' in the docs\):\s+(\S+)", output)
    assert found is not None, output
    with TestClient(create_app(container, background_sweep=False)) as client:
        anonymous = client.get("/api/v1/inventory/availability", params={"sku": "22041"})
        signed_in = client.get(
            "/api/v1/inventory/availability",
            params={"sku": "22041", "channel": "MARKETPLACE"},
            headers={"X-API-Key": found.group(1)},
        )
    assert anonymous.status_code == 401
    assert signed_in.status_code == 200, signed_in.text
    # the key is the demo admin's: their goodwill allowance is the one it spends
    with container.read_uow() as uow:
        makers = uow.session.execute(
            select(Principal.username)
            .join(ApiKey, ApiKey.created_by == Principal.id)
            .where(ApiKey.label == "omniretail demo")
        ).scalars()
        assert set(makers) == {"admin"}
    # The DC's 34 units, less the demo orders' 3 x 8 shipped and 1 in the open cart, less
    # the channel buffer.
    assert signed_in.json()[0]["available"] == 34 - 24 - 1 - 2


def printed_sign_ins(output: str) -> dict[str, str]:
    rows = re.findall(
        r"^  (admin|store_associate|service_agent|marketer|customer)\s+(\S+)\s+(.+)$", output, re.M
    )
    return {username: password.strip() for _role, username, password in rows}


def test_the_demo_prints_each_account_its_own_password_once(container, tmp_path):
    """Finding 9: no fixed shared password. The first run prints random passwords that sign
    in; a later run prints none (only hashes are stored) unless asked for new ones."""
    log = write_log(tmp_path / "log.parquet")
    first = printed_sign_ins(run_demo(container, tmp_path, log))
    assert set(first) == {
        "associate",
        "associate2",
        "agent",
        "marketer",
        "admin",
        "ada.demo@example.com",
    }
    assert len(set(first.values())) == 6 and "omniretail-demo" not in first.values()
    second = CliRunner().invoke(
        app,
        ["demo", "--data", str(log), "--no-serve", "--no-intelligence", "--new-passwords"],
        env=demo_env(container, tmp_path),
    )
    assert second.exit_code == 0, second.output
    renewed = printed_sign_ins(second.output)
    assert set(renewed) == set(first) and not set(renewed.values()) & set(first.values())
    plain = printed_sign_ins(run_demo(container, tmp_path, log))
    assert set(plain.values()) == {"(shown when it was set up)"}
    with TestClient(create_app(container, background_sweep=False)) as client:
        for passwords, status in ((first, 401), (renewed, 200)):
            r = client.post(
                "/api/v1/auth/token", data={"username": "admin", "password": passwords["admin"]}
            )
            assert r.status_code == status, r.text
