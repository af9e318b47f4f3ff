"""Markdowns on both databases: suggested from the synthetic history, approved through the
API into scheduled price lists that change the quoted price at each step's start (frozen
clock), decided once only; refreshed by the durable job ``POST /markdowns/runs`` queues (the
console: tests/web/test_markdowns.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omniretail.intelligence import markdown_service
from omniretail.intelligence.markdowns import Guardrails, MarkdownConfig
from tests.intelligence.helpers import AS_OF, SLOW, import_synthetic, make_network, receive

RAILS = Guardrails(levels=(0.0, 0.2, 0.4), max_step=0.2, weeks_per_step=2)


def _suggest(container):
    return markdown_service.suggest_markdowns(
        container.read_engine,
        container.uow,
        container.read_uow,
        channel="WEB",
        start=AS_OF,
        config=MarkdownConfig(weeks=8, guardrails=RAILS),
    )


def _quote(client, at: datetime) -> str:
    body = {"channel": "WEB", "lines": [{"sku": SLOW, "quantity": 1}], "at": at.isoformat()}
    response = client.post("/api/v1/pricing/quote", json=body)
    assert response.status_code == 200, response.text
    return response.json()["lines"][0]["unit_price"]


def test_an_approved_ladder_changes_the_price_at_each_step(container, client, clock, tmp_path):
    import_synthetic(container, tmp_path)
    make_network(container)
    # the history is from 2010, when UK VAT was 17.5 %
    vat = {
        "country": "GB",
        "tax_class": "standard",
        "name": "VAT standard (2010)",
        "rate": "0.175",
        "valid_from": "2010-01-01T00:00:00Z",
        "valid_to": "2011-01-04T00:00:00Z",
    }
    assert client.post("/api/v1/pricing/tax-rates", json=vat).status_code == 201
    receive(container, SLOW, "DC1", 200)  # 2 a week forecast at DC1: 16 of 200 by clear-by
    run = _suggest(container)
    assert (run.candidates, run.suggested) == (1, 1)
    listed = client.get("/api/v1/markdowns", params={"status": "suggested"}).json()
    assert [(m["sku"], m["location"], m["on_hand"]) for m in listed] == [(SLOW, "DC1", 200)]
    md = client.get(f"/api/v1/markdowns/{listed[0]['id']}").json()
    assert md["full_price"] == "2.00" and md["starts_on"] == AS_OF.isoformat()
    # the price response cannot be fitted (one price each): the bound -0.5 is used, and
    # 40 % off (the deepest the rails allow) from the start leaves the least stock
    assert md["elasticity"] == -0.5
    assert [(s["discount"], s["price"], s["weeks"]) for s in md["steps"]] == [
        ("0.2000", "1.60", 2),
        ("0.4000", "1.20", 6),
    ]
    start = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=UTC)
    clock.advance(seconds=(start - timedelta(days=1) - clock.now()).total_seconds())
    approved = client.post(f"/api/v1/markdowns/{md['id']}/approve")
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and body["decided_by"]
    assert [s["price_list"] for s in body["steps"]] == [f"MD:{md['id']}:1", f"MD:{md['id']}:2"]
    assert _quote(client, start - timedelta(minutes=1)) == "2.00"
    assert _quote(client, start) == "1.60"
    assert _quote(client, start + timedelta(weeks=2) - timedelta(minutes=1)) == "1.60"
    assert _quote(client, start + timedelta(weeks=2)) == "1.20"
    again = client.post(f"/api/v1/markdowns/{md['id']}/reject")
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


def test_the_durable_job_refreshes_the_suggestions(container, client, clock, tmp_path):
    """``POST /markdowns/runs`` queues ``markdowns.suggest`` (202, its address; 409 while it
    waits); run by a worker it suggests from tomorrow on the web channel, as the CLI does."""
    import_synthetic(container, tmp_path)
    make_network(container)
    vat = {
        "country": "GB",
        "tax_class": "standard",
        "name": "VAT standard (2010)",
        "rate": "0.175",
        "valid_from": "2010-01-01T00:00:00Z",
        "valid_to": "2011-01-04T00:00:00Z",
    }
    assert client.post("/api/v1/pricing/tax-rates", json=vat).status_code == 201
    receive(container, SLOW, "DC1", 200)
    eve = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=UTC) - timedelta(days=1)
    clock.advance(seconds=(eve - clock.now()).total_seconds())
    assert client.get("/api/v1/markdowns").json() == []

    queued = client.post("/api/v1/markdowns/runs")
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert (job["kind"], job["state"]) == ("markdowns.suggest", "queued")
    assert queued.headers["location"] == f"/api/v1/jobs/{job['id']}"
    again = client.post("/api/v1/markdowns/runs")
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert job["id"] in again.json()["detail"]
    assert client.get("/api/v1/markdowns").json() == []  # nothing until a worker runs it

    assert container.job_runner().run_until_idle() == 1
    done = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert done["state"] == "succeeded", done
    result = done["result"]
    assert (result["start"], result["candidates"], result["suggested"]) == (
        AS_OF.isoformat(),
        1,
        1,
    )
    assert done["progress_message"] == "1 of 1 ladders planned"
    (md,) = client.get("/api/v1/markdowns", params={"status": "suggested"}).json()
    assert (md["sku"], md["location"], md["on_hand"], md["full_price"], md["starts_on"]) == (
        SLOW,
        "DC1",
        200,
        "2.00",
        AS_OF.isoformat(),
    )
    # an hour later a second run replaces the undecided suggestion (a new one, not a second)
    clock.advance(hours=1)
    assert client.post("/api/v1/markdowns/runs").status_code == 202
    assert container.job_runner().run_until_idle() == 1
    (fresh,) = client.get("/api/v1/markdowns").json()
    assert (fresh["sku"], fresh["created_at"]) == (SLOW, "2010-07-26T10:00:00Z")
    assert md["created_at"] == "2010-07-26T09:00:00Z"
