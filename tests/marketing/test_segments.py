"""Segments: facts and rules with the numbers written out, the preview, a full refresh, live
entry after an order and exit after a consent is withdrawn (each event emitted once), and
who may read and write them. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.commands.main import app as cli
from omniretail.customers.events import ConsentChanged
from omniretail.db.outbox import list_events
from omniretail.marketing import service
from omniretail.marketing.schemas import SegmentCreate
from omniretail.marketing.segments_facts import age_band, age_on, facts_for
from omniretail.marketing.segments_rules import FACT_NAMES, compile_rule, matches
from tests.customers.helpers import grant, make_customer, vault
from tests.messaging.conftest import deliveries
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

PASSWORD = "correct horse battery staple"
ENTERED = "omniretail.marketing.segment_entered"
EXITED = "omniretail.marketing.segment_exited"


def relay(container, clock):
    clock.advance(seconds=1)
    return container.relay().run_until_idle()


def place(container, client, customer):
    """2 x A1 at 20.00 and 1 x B2 at 35.50 on the web: 75.50."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    receive(container, "B2", "DC1", 10)
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "A1", 2))
    ok(add(client, token, "B2", 1))
    return ok(checkout(client, token), 201)


def events(container, event_type):
    with container.read_uow() as uow:
        return [
            (m.data["segment_id"], m.data["customer_id"])
            for m in list_events(uow.session, limit=1000, type_prefix=event_type)
            if m.type == event_type
        ]


def member_ids(client, segment_id):
    return [
        m["customer_id"] for m in ok(client.get(f"/api/v1/marketing/segments/{segment_id}/members"))
    ]


def test_facts_and_rules_with_the_numbers(container, client, clock):
    olu = make_customer(
        container,
        "Olu Order",
        email="olu@example.com",
        verified=True,
        country="United Kingdom",
        birth_date="1990-11-13",
    )
    grant(container, olu, "marketing", "email")
    grant(container, olu, "marketing", "sms", granted=False)
    order = place(container, client, olu)
    assert order["total"] == "75.50"
    relay(container, clock)  # the loyalty welcome and the order's pending points
    clock.advance(days=10)

    with container.read_uow() as uow:
        known = facts_for(uow.session, [olu], date(2026, 11, 12), vault(container))[olu]
        unknown_age = facts_for(uow.session, [olu], date(2026, 11, 12), None)[olu]
    assert known["country"] == "United Kingdom"
    # Born 13 Nov 1990: 35 on 12 Nov 2026 (36 the next day); without the vault, unknown.
    assert (known["age"], known["age_band"], known["birthday"]) == (35, "35-44", "11-13")
    assert (unknown_age["age"], unknown_age["age_band"]) == (-1, "")
    assert (known["orders"], known["spend"], known["channels"]) == (1, 75.5, ["WEB"])
    assert (known["last_order"], known["days_since_last_order"]) == ("2026-11-02", 10)
    assert known["consents"] == {"marketing": {"email": True, "sms": False}}
    assert known["consent"] == ["marketing:email"]
    assert (known["enrolled"], known["points"]) == (True, 100)  # the welcome; 75 pending
    assert (known["has_cart"], known["cart_units"]) == (False, 0)  # checked out
    assert (known["rfm"], known["p_alive"]) == ("", -1.0)  # not scored yet

    assert matches(compile_rule("orders >= 1 && spend >= 75.5"), known)
    assert not matches(compile_rule("spend > 75.5"), known)
    assert matches(
        compile_rule('"marketing:email" in consent && consents.marketing.sms == false'), known
    )
    assert matches(compile_rule("days_since_last_order > 9 && points == 100"), known)
    assert not matches(compile_rule("clv > 0.0"), known)
    # cel-python compares an int with a double; a real type error is "not in the segment".
    assert matches(compile_rule("spend > 75"), known)
    assert not matches(compile_rule("country > 1"), known)
    assert set(known) == set(unknown_age) == FACT_NAMES  # the names a saved rule may read


def test_a_rule_naming_no_customer_fact_is_refused_naming_it(container, client):
    for rule, unknown in (
        ("spnd > 10.0", "spnd"),
        ('tier == "Gold" && last_ordr != "" && pts > 1', "last_ordr, pts"),
    ):
        for url, body in (
            ("/api/v1/marketing/segments/preview", {"rule": rule}),
            ("/api/v1/marketing/segments", {"name": "Typo", "rule": rule}),
        ):
            refused = client.post(url, json=body)
            assert refused.status_code == 422, refused.text
            assert refused.json()["detail"].startswith(f"{unknown}: no such customer fact;")
    assert ok(client.get("/api/v1/marketing/segments")) == []
    fine = '[1, 2].exists(x, x <= orders) && channels.all(c, c != "POS") && has(consents.marketing)'
    assert ok(client.post("/api/v1/marketing/segments/preview", json={"rule": fine}))["count"] == 0


def test_age_bands():
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18
    assert [age_band(a) for a in (-1, 0, 17, 18, 24, 25, 54, 64, 65, 101)] == [
        "",
        "under 18",
        "under 18",
        "18-24",
        "18-24",
        "25-34",
        "45-54",
        "55-64",
        "65+",
        "65+",
    ]


def test_preview_counts_and_masks_and_refuses_bad_cel(container, client, clock):
    olu = make_customer(container, "Olu Quentin Order", email="olu@example.com", verified=True)
    make_customer(container, "Nia Never")
    place(container, client, olu)

    preview = ok(client.post("/api/v1/marketing/segments/preview", json={"rule": "orders >= 1"}))
    assert preview == {"count": 1, "evaluated": 2, "sample": [{"id": olu, "name": "Olu O."}]}
    every = ok(client.post("/api/v1/marketing/segments/preview", json={"rule": "orders >= 0"}))
    assert (every["count"], len(every["sample"])) == (2, 2)

    bad = client.post("/api/v1/marketing/segments/preview", json={"rule": "orders >="})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["type"].endswith("invalid-segment-rule")
    assert bad.json()["detail"]  # the parser's message
    too_long = client.post("/api/v1/marketing/segments/preview", json={"rule": "x" * 4001})
    assert too_long.status_code == 422


def test_saved_segment_refresh_then_live_entry_and_exit(container, client, clock):
    olu = make_customer(
        container, "Olu Order", email="olu@example.com", verified=True, birth_date="1990-11-13"
    )
    nia = make_customer(container, "Nia Never")
    grant(container, olu, "marketing", "email")
    grant(container, nia, "marketing", "email")

    # Olu is 35 (the handler reads the birth date through the vault).
    rule = 'orders >= 1 && "marketing:email" in consent && age_band == "35-44"'
    body = {"name": "Buyers we may email", "rule": rule}
    segment = ok(client.post("/api/v1/marketing/segments", json=body), 201)
    sid = segment["id"]
    dup = client.post("/api/v1/marketing/segments", json=body)
    assert (dup.status_code, dup.json()["type"].endswith("duplicate-segment")) == (409, True)
    assert container.job_runner().run_until_idle() == 1  # the refresh queued with it
    assert member_ids(client, sid) == []
    assert ok(client.get(f"/api/v1/marketing/segments/{sid}"))["refreshed_at"] is not None

    place(container, client, olu)
    relay(container, clock)  # order_confirmed -> re-evaluated: Olu enters
    assert member_ids(client, sid) == [olu]
    assert ok(client.get(f"/api/v1/marketing/segments/{sid}"))["member_count"] == 1
    assert events(container, ENTERED) == [(sid, olu)]

    # The order's event delivered again, and a full refresh: nothing changes, nothing emitted.
    with container.read_uow() as uow:
        [confirmed] = [
            m.as_cloud_event()
            for m in list_events(
                uow.session, limit=1000, type_prefix="omniretail.orders.order_confirmed"
            )
        ]
    container.handlers.resolve("marketing.segments.orders.order_confirmed")(
        confirmed, container.uow
    )
    report = service.refresh(container.uow, vault=vault(container))
    assert (report.customers, report.entered, report.exited) == (2, 0, 0)
    assert events(container, ENTERED) == [(sid, olu)]

    grant(container, olu, "marketing", "email", granted=False)
    relay(container, clock)  # consent_changed -> Olu leaves
    assert member_ids(client, sid) == []
    assert ok(client.get(f"/api/v1/marketing/segments/{sid}"))["member_count"] == 0
    assert events(container, EXITED) == [(sid, olu)]
    assert events(container, ENTERED) == [(sid, olu)]


def test_refresh_enters_existing_customers_and_pages_members(container, client, clock):
    ids = [make_customer(container, f"Cust {n} Omer") for n in range(5)]
    sid = ok(
        client.post("/api/v1/marketing/segments", json={"name": "All", "rule": "orders == 0"}), 201
    )["id"]
    seen: list[tuple[int, int]] = []
    report = service.refresh(
        container.uow, progress=lambda d, t: seen.append((d, t)), batch=2, vault=vault(container)
    )
    assert (report.segments, report.customers, report.entered, report.exited) == (1, 5, 5, 0)
    assert seen == [(2, 5), (4, 5), (5, 5)]
    first = member_ids(client, sid)[:2]
    page = ok(
        client.get(
            f"/api/v1/marketing/segments/{sid}/members", params={"after": first[-1], "limit": 2}
        )
    )
    assert first + [m["customer_id"] for m in page] == ids[:4]
    assert sorted(c for _, c in events(container, ENTERED)) == ids

    # A changed rule: the next refresh moves everyone out, one exit event each.
    ok(client.patch(f"/api/v1/marketing/segments/{sid}", json={"rule": "orders > 0"}))
    report = service.refresh(container.uow, vault=vault(container))
    assert (report.entered, report.exited) == (0, 5)
    assert sorted(c for _, c in events(container, EXITED)) == ids
    assert client.delete(f"/api/v1/marketing/segments/{sid}").status_code == 204
    assert client.get(f"/api/v1/marketing/segments/{sid}").status_code == 404


def test_a_slow_rule_makes_a_long_refresh_not_a_long_transaction(
    container, client, clock, monkeypatch
):
    """A batch stops taking customers once its seconds under the segments' lock are spent
    (none here: one customer a batch) and the next goes on from there: the same members,
    events and report as one batch, every transaction short (a fifth probe's rule held
    SQLite's write lock for as long as it ran)."""
    from omniretail.marketing import segments

    ids = [make_customer(container, f"Slow {n} Omer") for n in range(4)]
    sid = ok(
        client.post("/api/v1/marketing/segments", json={"name": "All", "rule": "orders == 0"}), 201
    )["id"]
    monkeypatch.setattr(segments, "BATCH_SECONDS", 0.0)
    seen: list[tuple[int, int]] = []
    report = service.refresh(
        container.uow, progress=lambda d, t: seen.append((d, t)), vault=vault(container)
    )
    assert (report.customers, report.entered, report.exited) == (4, 4, 0)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert member_ids(client, sid) == ids
    assert sorted(c for _, c in events(container, ENTERED)) == ids


def sign_in(client, username):
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _staff(container):
    """A store associate (asha), a service agent (sam) and a marketer (moira)."""
    with container.uow() as uow:
        for name, role, extra in [
            ("asha", Role.STORE_ASSOCIATE, {"store_code": "LON1"}),
            ("sam", Role.SERVICE_AGENT, {}),
            ("moira", Role.MARKETER, {}),
        ]:
            auth.create_principal(
                uow, PrincipalCreate(username=name, role=role, password=PASSWORD, **extra)
            )


def test_who_may_read_and_write_segments(container, client):
    from tests.factories import make_network

    make_network(container)
    _staff(container)
    asha, sam, moira = (sign_in(client, n) for n in ("asha", "sam", "moira"))
    body = {"name": "Gold", "rule": 'tier == "Gold"'}
    url = "/api/v1/marketing/segments"

    assert client.post(url, json=body, headers=asha).status_code == 403
    assert client.get(url, headers=asha).status_code == 403
    assert client.post(url + "/preview", json=body, headers=asha).status_code == 403
    assert client.post(url, json=body, headers=sam).status_code == 403
    rule = {"rule": body["rule"]}
    assert client.post(url + "/preview", json=rule, headers=sam).status_code == 403
    assert ok(client.post(url + "/preview", json=rule, headers=moira))["count"] == 0
    sid = ok(client.post(url, json=body, headers=moira), 201)["id"]
    assert [s["name"] for s in ok(client.get(url, headers=sam))] == ["Gold"]
    assert client.get(f"{url}/{sid}/members", headers=sam).status_code == 200
    assert client.delete(f"{url}/{sid}", headers=sam).status_code == 403


def test_cli_refresh_shows_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIRETAIL_DATA_DIR", str(tmp_path))
    db = ["--db", f"sqlite:///{tmp_path / 'segments.db'}"]
    result = CliRunner().invoke(cli, ["marketing", "segments", "refresh", *db])
    assert result.exit_code == 0, result.output
    assert '"customers": 0' in result.output


def test_a_relay_batch_of_changes_is_evaluated_together_one_about_nobody_skipped(
    container, client, clock, monkeypatch, caplog
):
    """The consent changes of a pass reach the segment handler as one batch (one transaction,
    the segments locked once): each customer enters or leaves as one by one would, once
    however many of their events the batch holds; an event about no customer is skipped
    inside the batch (no fallback to one by one) without undoing the others."""
    ann, bob, cy = (make_customer(container, f"{n} Batch") for n in ("Ann", "Bob", "Cy"))
    grant(container, bob, "marketing", "email")
    body = {"name": "Email allowed", "rule": '"marketing:email" in consent'}
    sid = ok(client.post("/api/v1/marketing/segments", json=body), 201)["id"]
    assert container.job_runner().run_until_idle() == 1
    assert member_ids(client, sid) == [bob]
    relay(container, clock)

    grant(container, ann, "marketing", "email")
    grant(container, bob, "marketing", "email", granted=False)
    grant(container, cy, "marketing", "email")
    grant(container, cy, "marketing", "sms")
    with container.uow() as uow:  # about a customer id that names nobody
        uow.record(ConsentChanged(customer_id=0, purpose="marketing", channel="sms", granted=True))
    calls: list[int] = []
    name = "marketing.segments.customers.consent_changed"
    batch = container.handlers.resolve_batch(name)

    def counted(events, uow_factory):
        calls.append(len(events))
        return batch(events, uow_factory)

    monkeypatch.setitem(container.handlers._batches, name, counted)
    report = relay(container, clock)

    assert calls == [5]
    assert "one by one" not in caplog.text
    assert report.skipped == 1
    skipped = [d for d in deliveries(container) if d.handler == name and d.status == "skipped"]
    assert [d.last_error for d in skipped] == ["the event is about no customer"]
    assert member_ids(client, sid) == sorted([ann, cy])
    assert sorted(events(container, ENTERED)) == sorted([(sid, ann), (sid, cy), (sid, bob)])
    assert events(container, EXITED) == [(sid, bob)]
    assert ok(client.get(f"/api/v1/marketing/segments/{sid}"))["member_count"] == 2


def test_preview_names_only_to_who_reads_customers(container, client, clock):
    """A marketer (customers:segments, not customers:read) sees the sample's ids alone, as in
    the send log; an admin (customers:read) sees the masked names. A service agent, who reads
    segments and their members but edits none, may not preview: the preview runs a rule of
    the caller's over every customer, the editor's tool (marketing:write)."""
    olu = make_customer(container, "Olu Quentin Order", email="olu@example.com", verified=True)
    with container.uow() as uow:
        for name, role in [("moira", Role.MARKETER), ("sam", Role.SERVICE_AGENT)]:
            auth.create_principal(uow, PrincipalCreate(username=name, role=role, password=PASSWORD))
    url = "/api/v1/marketing/segments/preview"
    rule = {"rule": "orders >= 0"}
    marketer = ok(client.post(url, json=rule, headers=sign_in(client, "moira")))
    assert marketer["sample"] == [{"id": olu, "name": None}]
    agent = client.post(url, json=rule, headers=sign_in(client, "sam"))
    assert agent.status_code == 403, agent.text
    assert ok(client.post(url, json=rule))["sample"] == [{"id": olu, "name": "Olu O."}]


def test_refresh_now_queues_the_job_for_who_may_edit_segments(container, client):
    """``POST /marketing/segments/{id}/refresh``: 202 with the job in ``Location`` for a
    marketer (the job fills the segment), 409 while it is queued, 404 for no such segment,
    403 for a customer and for the roles that only read segments."""
    from tests.factories import make_network

    make_network(container)
    cara = make_customer(container, "Cara Customer", email="cara@example.com", verified=True)
    _staff(container)
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=cara, password=PASSWORD)
        )
        sid = service.create_segment(uow, SegmentCreate(name="Everyone", rule="orders == 0")).id
    url = f"/api/v1/marketing/segments/{sid}/refresh"
    customer, asha, sam, moira = (
        sign_in(client, n) for n in ("cara@example.com", "asha", "sam", "moira")
    )

    for refused in (customer, asha, sam):
        r = client.post(url, headers=refused)
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
    missing = client.post("/api/v1/marketing/segments/999999/refresh", headers=moira)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["type"].endswith("unknown-segment")
    with container.read_uow() as uow:
        assert service.last_refresh_job(uow) is None  # nothing was queued by the refusals

    queued = client.post(url, headers=moira)
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert (job["kind"], job["state"]) == ("marketing.segments_refresh", "queued")
    assert queued.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    again = client.post(url, headers=moira)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["job_location"] == f"/api/v1/jobs/{job['id']}"

    assert container.job_runner().run_until_idle() == 1
    assert ok(client.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"
    segment = ok(client.get(f"/api/v1/marketing/segments/{sid}"))
    assert segment["member_count"] == 1 and segment["refreshed_at"] is not None
    assert member_ids(client, sid) == [cara]
