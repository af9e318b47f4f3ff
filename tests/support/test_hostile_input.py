"""What an outside tester sends to support's public routes and downloads: a signature or a
Last-Event-ID of odd characters, a deeply nested body, a flood of chats from one address, an
attachment named in another script or as a path. Each is an answer (400, 429, a download),
never a 500."""

from __future__ import annotations

import json

from pydantic import SecretStr

from omniretail.messaging.mail import SmtpConfig, SmtpMailer
from omniretail.support import service
from tests.drain import drain
from tests.orders.network import ok
from tests.support.helpers import API, email

ANON = {"X-API-Key": ""}
SECRET = "s3cret-shared-with-the-app"
URL = f"{API}/support/webhooks/inbound"


def _body() -> bytes:
    return json.dumps(
        {"app": "whatsapp", "message_id": "wamid.9", "sender": "+447700900123", "text": "Hi"}
    ).encode()


def test_odd_webhook_signatures_are_a_400(container, client, clock):
    container.settings.support_webhook_secret = SecretStr(SECRET)
    body = _body()
    now = int(clock.now().timestamp())
    good = service.sign(SECRET, body, now)
    mac = good.split("v1=", 1)[1]
    for header in (
        f"t={now},v1=é{mac[1:]}",  # compare_digest refuses non-ASCII text (was a 500)
        f"t=²,v1={mac}",  # a digit to str.isdigit, not to int (was a 500)
        f"t={'9' * 5000},v1={mac}",  # more digits than int parses (was a 500)
    ):
        headers = {service.SIGNATURE_HEADER: header.encode("latin-1"), **ANON}
        answer = client.post(URL, content=body, headers=headers)
        assert answer.status_code == 400, (header[:40], answer.text)
    signed = {service.SIGNATURE_HEADER: good, **ANON}
    assert client.post(URL, content=body, headers=signed).status_code == 200


def test_a_deeply_nested_body_with_an_idempotency_key_is_not_a_500(container, client):
    container.settings.support_webhook_secret = SecretStr(SECRET)
    deep = b"[" * 100_000 + b"]" * 100_000
    headers = {"Idempotency-Key": "k1", service.SIGNATURE_HEADER: "t=1,v1=00", **ANON}
    assert client.post(URL, content=deep, headers=headers).status_code == 400


def test_an_odd_last_event_id_resumes_from_the_start(container, client):
    started = ok(client.post(f"{API}/support/chats", json={"message": "Hello"}, headers=ANON), 201)
    url = f"{API}/support/chats/{started['token']}/events"
    for last in ("²", "9" * 5000, "-1"):
        headers = {"Last-Event-ID": last.encode("latin-1"), **ANON}
        answer = client.get(url, params={"seconds": 1}, headers=headers)
        assert answer.status_code == 200, (last[:10], answer.text)
        assert "event: message" in answer.text  # from the start, as without the header


def test_chats_from_one_address_are_limited(container, client):
    container.settings.public_requests_per_window = 3
    start = {"message": "Is anyone there?"}
    answers = [client.post(f"{API}/support/chats", json=start, headers=ANON) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert answers[-1].headers["content-type"] == "application/problem+json"
    assert int(answers[-1].headers["retry-after"]) > 0
    token = answers[0].json()["token"]
    # reading, posting and listening count too: the address waits out the window
    assert client.get(f"{API}/support/chats/{token}/messages", headers=ANON).status_code == 429


def test_attachment_names_in_any_script_or_as_a_path_download(container, client):
    names = {
        "счёт №5.pdf": (
            'attachment; filename="5.pdf";'
            " filename*=UTF-8''%D1%81%D1%87%D1%91%D1%82%20%E2%84%965.pdf"
        ),
        "..\\..\\boot.ini": 'attachment; filename="boot.ini"',
        "../../etc/passwd": 'attachment; filename="passwd"',
    }
    with container.uow() as uow:
        made = service.ingest_email(
            uow, email(body="files", attachments=[(n, b"x") for n in names]).as_bytes()
        )
    read = ok(client.get(f"{API}/support/conversations/{made.conversation_id}"))
    listed = read["messages"][0]["attachments"]
    assert len(listed) == len(names)
    for item in listed:
        url = f"{API}/support/conversations/{made.conversation_id}/attachments/{item['id']}"
        got = client.get(url)
        assert got.status_code == 200, (item["filename"], got.text)
        assert got.headers["content-disposition"] == names[item["filename"]]


def test_an_email_of_unclosed_tags_is_read_in_one_pass(container):
    """An HTML-only email: its text, entities decoded, scripts dropped. A megabyte of
    unclosed tags took the old patterns minutes of CPU per email (each ``<`` scanned to the
    end); read in one pass it is stored like any other."""
    for html, text in (
        (
            "<p>Fish &amp; chips</p><script>alert(1)</script><div>Hi<br>there</div>",
            "Fish & chips\nHi\nthere",
        ),
        ("<a " * 350_000 + "help", "help"),
    ):
        message = email(body="x")
        message.set_content(html, subtype="html")
        with container.uow() as uow:
            made = service.ingest_email(uow, message.as_bytes())
        with container.read_uow() as uow:
            stored = service.get_conversation(uow, made.conversation_id)
        assert (stored.messages or [])[0].body.endswith(text)


def test_a_reply_to_a_subject_with_a_line_break_is_sent_on_one_line(container, client, smtp_server):
    container.senders.mailer = SmtpMailer(SmtpConfig(host=smtp_server.host, port=smtp_server.port))
    raw = (
        b"From: Ada <ada@example.com>\r\nTo: help@shop.example\r\n"
        b"Subject: =?utf-8?q?Hello=0D=0ABcc:_eve@example.com?=\r\n"
        b"Message-ID: <crlf@mail.example.com>\r\n\r\nHi\r\n"
    )
    with container.uow() as uow:
        made = service.ingest_email(uow, raw)
    url = f"{API}/support/conversations/{made.conversation_id}/replies"
    ok(client.post(url, json={"body": "Hello Ada"}), 201)
    drain(container)
    (sent,) = [r for r in smtp_server.received if "Hello Ada" in r[2].get_content()]
    _, recipients, message = sent
    assert recipients == ["ada@example.com"]
    assert message["Subject"].startswith("Re: Hello Bcc: eve@example.com [ref:")
