"""The marketing part of GDPR: the export shows it, erasure removes it, and the rendered
cards (they name the person) are ciphertext at rest. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import JourneyCreate, SuppressionWrite
from omniretail.marketing.sending import SendRequest
from tests.customers.test_privacy import NAME, make_person, scan
from tests.marketing.test_sending import MESSAGE, consent, deliver, policy, queue

FIRST = NAME.split()[0]
WAITING = {
    "trigger": {"kind": "event", "event": "orders.cart_line_added"},
    "steps": [{"id": "later", "kind": "wait", "days": 3}, {"id": "bye", "kind": "exit"}],
}


def test_export_shows_marketing_data_and_erasure_removes_it(container, client):
    person = make_person(container)
    consent(container, person, "email")
    policy(container)
    with container.uow() as uow:
        marketing.create_message(uow, MESSAGE)
        marketing.set_attribute(uow, person, "preferred_channel", "email")
        marketing.suppress(
            uow, SuppressionWrite(customer_id=person, channel="sms", reason="manual")
        )
        journey = marketing.create_journey(
            uow, JourneyCreate(code="wait-a-bit", name="Wait", definition=WAITING)
        )
        marketing.publish(uow, "wait-a-bit", actor="test")
        assert marketing.enter(uow, journey.id, person, "o1", {}) is not None
    queue(
        container,
        SendRequest(key="card", customer_id=person, message="hello", channel="inbox"),
        SendRequest(key="mail", customer_id=person, message="hello", channel="email"),
    )
    assert deliver(container) == 2

    with container.read_uow() as uow:
        (card,) = marketing.cards(uow, person, "inbox")
        stored = uow.session.execute(text("SELECT title, body FROM marketing_cards")).one()
    assert card.title == f"{FIRST}, hello"
    assert stored.title.startswith("v2:") and stored.body.startswith("v2:")
    assert scan(container, [NAME]) != []  # there, encrypted

    document = client.get(f"/api/v1/customers/{person}/export").json()["marketing"]
    assert [c["title"] for c in document["cards"]] == [f"{FIRST}, hello"]
    assert sorted(s["channel"] for s in document["sends"]) == ["email", "inbox"]
    assert document["attributes"] == {"preferred_channel": "email"}
    assert [s["channel"] for s in document["suppressions"]] == ["sms"]
    assert [(j["journey"], j["state"]) for j in document["journeys"]] == [("wait-a-bit", "active")]

    erased = client.post(f"/api/v1/customers/{person}/erase")
    assert erased.status_code == 200, erased.text
    summary = erased.json()["summary"]
    assert summary["marketing_cards_deleted"] == 1
    assert summary["marketing_runs_ended"] == 1
    with container.read_uow() as uow:
        left = marketing.personal_data(uow, [person])
        run = uow.session.execute(text("SELECT state, exit_reason FROM marketing_runs")).one()
    assert (left["cards"], left["attributes"], left["suppressions"]) == ([], {}, [])
    assert tuple(run) == ("exited", "erased")
    assert len(left["sends"]) == 2  # counted for the journey's figures, without content
    assert scan(container, [NAME]) == []
