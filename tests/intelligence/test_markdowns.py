"""Markdowns on both databases: suggested from the synthetic history, approved through the
API into scheduled price lists that change the quoted price at each step's start (frozen
clock), decided once only (the console: tests/web/test_markdowns.py)."""

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
