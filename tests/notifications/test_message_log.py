"""The message log (``notifications.service.list_messages``): every notification with its
delivery state, through the API (problem+json), the CLI, and a real SMTP server configured
by the settings."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import build_container
from omniretail.commands.main import app
from omniretail.kernel.events import DomainEvent
from omniretail.messaging.mail import RecordingMailer, SmtpMailer
from omniretail.messaging.relay import Relay, RetryPolicy
from omniretail.messaging.senders import RecordingSmsSender
from omniretail.notifications import service
from omniretail.notifications.schemas import MessageQuery, MessageState
from omniretail.notifications.service import notify
from tests.messaging.conftest import record
from tests.notifications.test_notifications import CONTEXT

PASSWORD = "correct horse battery"


def queue(container, kind, channel, recipient, event, customer="7"):
    with container.uow() as uow:
        return notify(uow, kind, channel, recipient, CONTEXT, event, customer_ref=customer).id


@pytest.fixture
def four_states(container, clock):
    """One message in each state: sent, retrying, failed (dead) and queued."""
    mailer, sms = RecordingMailer(), RecordingSmsSender()
    container.senders.mailer, container.senders.sms = mailer, sms
    sent = queue(container, "shipped", "sms", "+447700900123", "e-sent")
    assert container.relay().run_until_idle().delivered == 1
    retrying = queue(container, "delivered", "email", "ann@example.com", "e-retry", customer="8")
    mailer.fail_next = 1
    assert container.relay().run_until_idle().retried == 1
    failed = queue(container, "refunded", "email", "bob@example.com", "e-dead")
    mailer.fail_next = 1
    once = Relay(container.uow, container.handlers, policy=RetryPolicy(max_attempts=1))
    assert once.run_until_idle().dead == 1
    clock.advance(seconds=1)
    queued = queue(container, "ready_for_pickup", "push", "device:abc", "e-queued")
    return {"sent": sent, "retrying": retrying, "failed": failed, "queued": queued}


def listed(container, **filters):
    with container.read_uow() as uow:
        return [m.id for m in service.list_messages(uow, MessageQuery(**filters)).items]


def test_each_message_has_its_delivery_state_and_the_filters_select_it(container, four_states):
    ids = four_states
    with container.read_uow() as uow:
        page = service.list_messages(uow, MessageQuery())
    by_id = {m.id: m for m in page.items}

    assert [m.id for m in page.items] == sorted(ids.values(), reverse=True)
    assert {name: by_id[i].state.value for name, i in ids.items()} == {
        "sent": "sent",
        "retrying": "retrying",
        "failed": "failed",
        "queued": "queued",
    }
    assert by_id[ids["retrying"]].last_error == "ConnectionError: recording mailer told to fail"
    assert by_id[ids["retrying"]].attempts == 1
    assert by_id[ids["failed"]].last_error == "ConnectionError: recording mailer told to fail"
    sms = by_id[ids["sent"]]
    assert sms.recipient == "+447700900123" and sms.body.startswith("Omniretail")
    assert sms.length == len(sms.body.strip()) and sms.sent_at is not None
    for state in MessageState:
        assert listed(container, state=state) == [ids[state.value]]
    assert listed(container, channel="email") == [ids["failed"], ids["retrying"]]
    assert listed(container, customer_id=8) == [ids["retrying"]]
    assert listed(container, kind="refunded") == [ids["failed"]]
    last = by_id[ids["queued"]].created_at
    assert listed(container, since=last) == [ids["queued"]]
    assert listed(container, until=last) == [ids["failed"], ids["retrying"], ids["sent"]]
    assert listed(container, limit=2, offset=1) == [ids["failed"], ids["retrying"]]


def test_why_a_message_was_sent_names_its_event_and_order(container):
    (event_id,) = record(container, DomainEvent("tests.shipped", "orders/WEB-1001", {}))
    message_id = queue(container, "shipped", "email", "ann@example.com", event_id)

    with container.read_uow() as uow:
        message = service.get_message(uow, message_id)

    assert message.order_number == "WEB-1001"
    assert message.source_event_type == "omniretail.tests.shipped"
    assert message.customer_id == 7
    assert message.html_body is not None and "WEB-1001" in message.html_body


# --- the API -------------------------------------------------------------------------------


def token_for(container, client, role):
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username=f"u-{role.value}", role=role, password=PASSWORD)
        )
    r = client.post(
        "/api/v1/auth/token", data={"username": f"u-{role.value}", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_api_lists_and_shows_messages_to_a_service_agent_only(container, client, four_states):
    agent = token_for(container, client, Role.SERVICE_AGENT)
    marketer = token_for(container, client, Role.MARKETER)

    page = client.get("/api/v1/notifications/messages?state=failed", headers=agent)
    one = client.get(f"/api/v1/notifications/messages/{four_states['sent']}", headers=agent)
    refused = client.get("/api/v1/notifications/messages", headers=marketer)

    assert page.status_code == 200, page.text
    assert [m["id"] for m in page.json()["items"]] == [four_states["failed"]]
    assert page.json()["items"][0]["recipient"] == "bob@example.com"
    assert page.json()["more"] is False
    assert one.status_code == 200 and one.json()["state"] == "sent"
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "bob@example.com" not in refused.text


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/notifications/messages/999999", 404),
        ("/api/v1/notifications/messages?state=lost", 422),
        ("/api/v1/notifications/messages?channel=fax", 422),
        ("/api/v1/notifications/messages?since=2026-01-01T00:00:00", 422),  # no time zone
        ("/api/v1/notifications/messages?limit=0", 422),
        ("/api/v1/notifications/messages?customer_id=abc", 422),
        # out of range once in UTC (the year 1 east of Greenwich, 9999 west of it)
        ("/api/v1/notifications/messages?since=0001-01-01T00:00:00%2B01:00", 422),
        ("/api/v1/notifications/messages?until=9999-12-31T23:30:00-01:00", 422),
    ],
)
def test_bad_requests_are_problems(client, url, status):
    r = client.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"


# --- the CLI -------------------------------------------------------------------------------


def test_the_cli_lists_with_filters_and_shows_one_message(container, four_states, monkeypatch):
    monkeypatch.setenv("OMNIRETAIL_DATABASE_URL", container.settings.resolved_database_url())
    if container.settings.database_schema:
        monkeypatch.setenv("OMNIRETAIL_DATABASE_SCHEMA", container.settings.database_schema)
    runner = CliRunner()

    failed = runner.invoke(app, ["messages", "--state", "failed"], env={"COLUMNS": "200"})
    email = runner.invoke(app, ["messages", "--channel", "email"], env={"COLUMNS": "200"})
    shown = runner.invoke(app, ["messages", "--show", str(four_states["retrying"])])
    missing = runner.invoke(app, ["messages", "--show", "999999"])

    assert failed.exit_code == 0, failed.output
    assert "bob@example.com" in failed.output and "ann@example.com" not in failed.output
    assert "1 messages (page 1)" in failed.output
    assert email.exit_code == 0 and "2 messages" in email.output
    assert shown.exit_code == 0, shown.output
    assert "ann@example.com" in shown.output
    assert "retrying" in shown.output
    assert "ConnectionError: recording mailer told to fail" in shown.output
    assert "--- HTML part ---" in shown.output and "WEB-1001" in shown.output
    assert missing.exit_code == 1 and "no message 999999" in missing.output


# --- real SMTP when configured -------------------------------------------------------------


def test_smtp_configured_in_the_settings_delivers_and_the_log_shows_it_sent(
    container, clock, smtp_server
):
    settings = container.settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    )
    configured = build_container(settings, clock=clock)
    configured.keyring = container.keyring
    try:
        assert isinstance(configured.senders.mailer, SmtpMailer)
        with configured.uow() as uow:
            queued = notify(uow, "delivered", "email", "ann@example.com", CONTEXT, "e-smtp").id
        with configured.read_uow() as uow:
            before = service.get_message(uow, queued)

        clock.advance(seconds=1)
        assert configured.relay().run_until_idle().delivered == 1

        ((_, rcpt_tos, message),) = smtp_server.received
        assert rcpt_tos == ["ann@example.com"]
        assert message["Subject"] == "Order WEB-1001 has been delivered"
        with configured.read_uow() as uow:
            after = service.get_message(uow, queued)
        assert (before.state, after.state) == (MessageState.QUEUED, MessageState.SENT)
        assert after.sent_at == clock.now() and after.attempts == 1
    finally:
        configured.dispose()
