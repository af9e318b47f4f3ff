def test_an_anonymous_session_is_stitched_on_login_and_later_events_follow(container, client):
    from tests.customers.helpers import grant, make_customer

    customer = make_customer(container, email="sam@example.com", verified=True)
    grant(container, customer, "analytics", "all")
    events = [
        {
            "type": "page_view",
            "occurred_at": "2026-11-01T10:00:00Z",
            "anonymous_id": "cookie-1",
            "data": {"url": "/"},
        },
        {
            "type": "add_to_cart",
            "occurred_at": "2026-11-01T10:01:00Z",
            "anonymous_id": "cookie-1",
            "event_id": "e2",
        },
        {
            "type": "add_to_cart",
            "occurred_at": "2026-11-01T10:01:00Z",
            "anonymous_id": "cookie-1",
            "event_id": "e2",
        },
    ]
    r = client.post("/api/v1/events", json={"events": events})
    assert r.status_code == 202, r.text
    assert r.json() == {
        "accepted": 2,
        "identified": 0,
        "anonymous": 2,
        "duplicates": 1,
        "unlinked_without_consent": 0,
    }
    assert client.get(f"/api/v1/customers/{customer}/timeline").json() == []

    r = client.post(f"/api/v1/customers/{customer}/identify", json={"anonymous_id": "cookie-1"})
    assert r.json() == {"customer_id": customer, "anonymous_id": "cookie-1", "events_stitched": 2}
    client.post(
        "/api/v1/events",
        json={
            "events": [
                {
                    "type": "store_visit",
                    "occurred_at": "2026-11-02T09:00:00Z",
                    "anonymous_id": "cookie-1",
                    "channel": "POS",
                },
            ]
        },
    )
    kinds = [a["kind"] for a in client.get(f"/api/v1/customers/{customer}/timeline").json()]
    assert kinds == ["store_visit", "add_to_cart", "page_view"]


def test_a_batch_naming_an_unknown_customer_writes_nothing(container, client):
    r = client.post(
        "/api/v1/events",
        json={
            "events": [
                {"type": "page_view", "occurred_at": "2026-11-01T10:00:00Z", "anonymous_id": "a"},
                {"type": "page_view", "occurred_at": "2026-11-01T10:00:00Z", "customer_id": 999},
            ]
        },
    )
    assert r.status_code == 422
    assert r.json()["field"] == "events.customer_id"
    too_many = [
        {"type": "page_view", "occurred_at": "2026-11-01T10:00:00Z", "anonymous_id": "a"}
    ] * 1001
    assert client.post("/api/v1/events", json={"events": too_many}).status_code == 422
    with container.read_uow() as uow:
        from sqlalchemy import text

        assert uow.session.execute(text("SELECT count(*) FROM customer_activity")).scalar() == 0


def test_a_batch_with_an_event_for_nobody_or_without_a_time_zone_is_refused(container, client):
    ok = {"type": "page_view", "occurred_at": "2026-11-01T10:00:00Z", "anonymous_id": "a"}
    nobody = {"type": "page_view", "occurred_at": "2026-11-01T10:00:00Z"}
    r = client.post("/api/v1/events", json={"events": [ok, nobody]})
    assert (r.status_code, r.json()["field"]) == (422, "events")
    assert "events[1] needs a customer_id or an anonymous_id" in r.json()["detail"]
    naive = {**ok, "occurred_at": "2026-11-01T10:00:00"}
    r = client.post("/api/v1/events", json={"events": [ok, naive]})
    assert (r.status_code, r.json()["field"]) == (422, "events.1.occurred_at")
    with container.read_uow() as uow:
        from sqlalchemy import text

        assert uow.session.execute(text("SELECT count(*) FROM customer_activity")).scalar() == 0
