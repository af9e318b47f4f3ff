"""HQ operations screens: the transfers list (filters, names, CSV), receiving part of a
transfer in the store app, customer search by each key, product names beside codes, and CSV
downloads (content and formula-injection escaping)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from omniretail.auth import service as auth
from omniretail.auth.models import Principal, Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.customers import service as customers
from omniretail.customers.models import Customer
from omniretail.customers.schemas import Address, CustomerCreate
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockLevelRead, TransferCreate, TransferLineIn
from omniretail.kernel.vault import vault_for
from omniretail.orders import service as lookup
from omniretail.web.hq.export import cell
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL, CUSTOMER_PHONE, PASSWORD


def _transfer(container, to="LON1", lines=(("A1", 5), ("B2", 2)), ship=True, reference=None):
    with container.uow() as uow:
        t = inventory.request_transfer(
            uow,
            TransferCreate(
                from_location="DC1",
                to_location=to,
                reference=reference,
                lines=[TransferLineIn(sku=s, quantity=q) for s, q in lines],
            ),
            actor="test",
        )
        if ship:
            inventory.ship_transfer(uow, t.id, actor="test")
    return t.id


def _level(container, sku, location) -> StockLevelRead:
    with container.read_uow() as uow:
        return inventory.get_stock_level(uow, sku, location)


def _rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_the_transfers_list_filters_shows_names_and_downloads(web, container):
    shipped = _transfer(container)
    requested = _transfer(container, to="MAN1", lines=(("C3", 1),), ship=False, reference="=1+2")
    sign_in(web, ADMIN)
    page = web.get("/hq/transfers")
    assert page.status_code == 200
    assert shipped in page.text and requested in page.text
    assert "Enamel mug" in page.text and "Soy candle" in page.text  # names beside codes
    only_moving = web.get("/hq/transfers", params={"status": "in_transit"})
    assert shipped in only_moving.text and requested not in only_moving.text
    to_man1 = web.get("/hq/transfers", params={"to_location": "MAN1"})
    assert requested in to_man1.text and shipped not in to_man1.text
    bad_day = web.get("/hq/transfers", params={"since": "soon"})
    assert bad_day.status_code == 422 and "YYYY-MM-DD" in bad_day.text
    download = web.get("/hq/transfers", params={"status": "requested", "format": "csv"})
    assert download.headers["content-disposition"] == 'attachment; filename="transfers.csv"'
    rows = _rows(download.text)
    assert rows[0][:4] == ["transfer", "status", "from", "to"]
    assert [r[0] for r in rows[1:]] == [requested]
    assert rows[1][4] == "'=1+2"  # the reference cannot run as a formula
    assert rows[1][9:] == ["C3", "Soy candle", "1", "0"]
    detail = web.get(f"/hq/transfers/{shipped}")
    assert "Linen tote" in detail.text and "Received" in detail.text


def test_the_store_receives_part_of_a_transfer_then_the_rest(web, container):
    tid = _transfer(container)
    before = _level(container, "A1", "LON1").on_hand
    sign_in(web, ASSOCIATE)
    incoming = web.get("/store/transfers")
    assert tid in incoming.text and "Enamel mug" in incoming.text
    page = f"/store/transfers/{tid}"
    too_many = post(web, page, f"{page}/receive", {"qty-A1": "6"})
    assert too_many.status_code == 422 and "only 5 of A1 still due" in too_many.text
    nothing = post(web, page, f"{page}/receive", {"qty-A1": "", "qty-B2": ""})
    assert nothing.status_code == 422 and "at least one line" in nothing.text
    assert _level(container, "A1", "LON1").on_hand == before
    part = post(web, page, f"{page}/receive", {"qty-A1": "3"})
    assert part.status_code == 303
    assert _level(container, "A1", "LON1").on_hand == before + 3
    assert _level(container, "A1", "LON1").in_transit == 2
    assert "3 of 5 in; 2 still due" in web.get(page).text
    rest = post(web, page, f"{page}/receive", {"qty-A1": "2", "qty-B2": "2"})
    assert rest.status_code == 303 and "complete" in rest.headers["location"]
    with container.read_uow() as uow:
        assert inventory.get_transfer(uow, tid).status == "received"
    assert _level(container, "A1", "LON1").on_hand == before + 5
    assert _level(container, "B2", "LON1").in_transit == 0


def test_another_store_cannot_receive(web, container):
    tid = _transfer(container, to="MAN1", lines=(("A1", 1),))
    sign_in(web, ASSOCIATE)  # works at LON1
    token = csrf_of(web.get("/store/transfers").text)
    refused = web.post(f"/store/transfers/{tid}/receive", data={"qty-A1": "1", "csrf_token": token})
    assert refused.status_code == 403
    assert _level(container, "A1", "MAN1").in_transit == 1


def _people(container):
    vault = vault_for(container.keyring)
    with container.uow() as uow:
        for name, postcode in (
            ("Grace Hopper", "SW1A 1AA"),
            ("Alan Hopper", "SW1A 2BB"),
            ("Mary Somerville", "EH1 1YZ"),
        ):
            customers.create_customer(
                uow,
                CustomerCreate(
                    name=name, address=Address(line1="1 Road", city="Town", postcode=postcode)
                ),
                vault=vault,
                actor="test",
            )


def _search(web, kind, value):
    return post(web, "/hq/customers", "/hq/customers/lookup", {"kind": kind, "value": value})


def test_customer_search_by_each_key(web, container, seeded):
    _people(container)
    sign_in(web, ADMIN)
    by_email = _search(web, "email", CUSTOMER_EMAIL)
    assert by_email.headers["location"] == f"/hq/customers/{seeded.customer_id}"
    by_phone = _search(web, "phone", CUSTOMER_PHONE)
    assert by_phone.headers["location"] == f"/hq/customers/{seeded.customer_id}"
    surname = _search(web, "name", "hopper")
    assert surname.status_code == 200
    assert "Grace Hopper" in surname.text and "Alan Hopper" in surname.text
    assert "Somerville" not in surname.text
    full_name = _search(web, "name", "grace HOPPER")
    assert full_name.status_code == 303  # one match opens the profile
    district = _search(web, "postcode", "sw1a")
    assert "Grace Hopper" in district.text and "Alan Hopper" in district.text
    exact = _search(web, "postcode", "SW1A1AA")
    assert exact.status_code == 303
    nobody = _search(web, "name", "Babbage")
    assert "Nobody matches" in nobody.text
    empty = _search(web, "postcode", " ")
    assert empty.status_code == 422
    download = post(
        web,
        "/hq/customers",
        "/hq/customers/lookup",
        {"kind": "name", "value": "Hopper", "format": "csv"},
    )
    rows = _rows(download.text)
    assert rows[0] == ["id", "name", "postcode", "city", "home_store", "customer_number"]
    assert sorted(r[1] for r in rows[1:]) == ["Alan Hopper", "Grace Hopper"]


def test_search_keys_are_keyed_hashes_and_erasure_removes_them(container, seeded):
    _people(container)
    vault = vault_for(container.keyring)
    with container.read_uow() as uow:
        rows = list(
            uow.session.scalars(select(Customer).where(Customer.surname_index.is_not(None)))
        )
    stored = {(r.surname_index, r.postcode_index) for r in rows}
    assert all(len(s) == 40 and "hopper" not in s.lower() for s, _ in stored)
    assert (
        vault.blind_index("surname", "hopper"),
        vault.blind_index("postcode_outward", "SW1A"),
    ) in stored
    grace = next(
        r.id
        for r in rows
        if r.postcode_index and vault.decrypt("name", r.name_enc) == "Grace Hopper"
    )
    with container.uow() as uow:
        customers.erase_customer(uow, grace, actor="test")
    with container.read_uow() as uow:
        gone = uow.session.get(Customer, grace)
        assert (gone.surname_index, gone.postcode_index) == (None, None)
        found = customers.search_customers(uow, "name", "Hopper", vault=vault)
    assert [m.name for m in found] == ["Alan Hopper"]


def test_search_is_refused_to_roles_without_customer_access(web, container):
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="mark-eting", role=Role.MARKETER, password=PASSWORD)
        )
    sign_in(web, "mark-eting")
    token = csrf_of(web.get("/hq/planning").text)
    refused = web.post(
        "/hq/customers/lookup", data={"kind": "name", "value": "Hopper", "csrf_token": token}
    )
    assert refused.status_code == 403


def test_the_api_searches_by_name_and_postcode(client, container, seeded):
    _people(container)
    found = client.post("/api/v1/customers/search", json={"by": "postcode", "value": "EH1 1YZ"})
    assert found.status_code == 200
    assert [m["name"] for m in found.json()] == ["Mary Somerville"]
    assert (
        client.post("/api/v1/customers/search", json={"by": "shoe", "value": "x"}).status_code
        == 422
    )


def test_csv_cells_that_could_run_as_formulas_are_quoted():
    assert [cell(v) for v in ("=SUM(A1)", "+1", "-2", "@cmd", "\tx", "plain", -3, None)] == [
        "'=SUM(A1)",
        "'+1",
        "'-2",
        "'@cmd",
        "'\tx",
        "plain",
        -3,
        "",
    ]


def test_every_hq_table_downloads_its_current_filters(web, container):
    _transfer(container)
    with container.uow() as uow:
        admin = uow.session.scalars(select(Principal).where(Principal.username == ADMIN)).one()
        auth.record_audit(
            uow, auth.as_auth(admin), action="=HYPERLINK(evil)", area="things", subject="-1"
        )
    sign_in(web, ADMIN)
    grid = _rows(web.get("/hq/inventory", params={"q": "A1", "format": "csv"}).text)
    assert grid[0] == ["sku", "product", "location", "available", "on_hand"]
    assert {r[0] for r in grid[1:]} == {"A1"} and grid[1][1] == "Enamel mug"
    assert ["A1", "Enamel mug", "LON2", "3", "3"] in grid
    only_lon1 = _rows(web.get("/hq/inventory?location=LON1&format=csv").text)
    assert {r[2] for r in only_lon1[1:]} == {"LON1"} and len(only_lon1) == 4  # 3 SKUs
    audit = _rows(web.get("/hq/audit", params={"area": "things", "format": "csv"}).text)
    assert audit[1][4:] == ["'=HYPERLINK(evil)", "'-1"]
    people = _rows(web.get("/hq/people", params={"role": "store_associate", "format": "csv"}).text)
    assert [r[1] for r in people[1:]] == [ASSOCIATE]
    assert "password" not in web.get("/hq/people?format=csv").text
    locations = _rows(web.get("/hq/network", params={"kind": "warehouse", "format": "csv"}).text)
    assert [r[0] for r in locations[1:]] == ["DC1"]
    channels = _rows(web.get("/hq/network?format=channels.csv").text)
    assert sorted(r[0] for r in channels[1:]) == ["POS", "WEB"]
    orders = _rows(
        web.get("/hq/orders", params={"status": "ready_for_pickup", "format": "csv"}).text
    )
    assert orders[0][:4] == ["number", "placed_at", "channel", "status"]
    assert [r[3] for r in orders[1:]] == ["ready_for_pickup"]
    with container.read_uow() as uow:  # the export's batched read says what the order page says
        placed = lookup.get_order(uow, orders[1][0])
    assert orders[1][4:] == [
        str(placed.total),
        placed.currency,
        "; ".join(f"{f.method} @ {f.location} ({f.status})" for f in placed.fulfilments),
    ]
    assert orders[1][6]
    assert web.get("/hq/planning?format=plan.csv").status_code == 303  # not run yet
    pages = ("/hq/inventory", "/hq/transfers", "/hq/audit", "/hq/people", "/hq/network")
    for page in (*pages, "/hq/orders"):
        assert "Download CSV" in web.get(page).text, page
