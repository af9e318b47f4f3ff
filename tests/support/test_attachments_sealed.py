"""Attachments are sealed with the vault like message bodies: ciphertext at rest (bound to
its field), the file's bytes through the API (as a download), re-encrypted by key rotation,
and the API serves only a conversation's own attachments."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text

from omniretail.db import encrypted
from omniretail.support import service
from tests.orders.network import ok
from tests.support.helpers import API, email

SECRET = b"\x00\xffPDF-1.7 passport number 123456789\x80"


def test_an_attachment_is_ciphertext_at_rest_and_bytes_through_the_api(container, client):
    with container.uow() as uow:
        mine = service.ingest_email(
            uow, email(body="my passport", attachments=[("pass port.pdf", SECRET)]).as_bytes()
        )
        other = service.ingest_email(uow, email(sender="bob@example.com", body="hi").as_bytes())
    with container.read_uow() as uow:
        (stored,) = uow.session.execute(text("SELECT id, data_enc FROM support_attachments")).all()
        assert stored.data_enc.startswith("v2:")
        assert b"passport" not in stored.data_enc.encode()
        assert "passport" not in stored.data_enc
        with pytest.raises(InvalidTag):  # bound to its field: not readable as a message body
            uow.vault.decrypt_bytes("support_body", stored.data_enc)

    read = ok(client.get(f"{API}/support/conversations/{mine.conversation_id}"))
    (listed,) = read["messages"][0]["attachments"]
    url = f"{API}/support/conversations/{mine.conversation_id}/attachments/{listed['id']}"
    got = client.get(url)
    assert got.status_code == 200, got.text
    assert got.content == SECRET
    assert got.headers["content-disposition"] == 'attachment; filename="pass port.pdf"'
    assert got.headers["content-type"] == "application/octet-stream"
    # not through another conversation, not without the support role
    wrong = client.get(
        f"{API}/support/conversations/{other.conversation_id}/attachments/{listed['id']}"
    )
    assert wrong.status_code == 404
    assert client.get(url, headers={"X-API-Key": ""}).status_code in (401, 403)


def test_the_registry_counts_and_reencrypts_the_sealed_files(container, client):
    with container.uow() as uow:
        service.ingest_email(uow, email(body="file", attachments=[("a.bin", SECRET)]).as_bytes())
    census = encrypted.census(container.uow)
    assert census["support_attachments.data_enc"] == {container.keyring.kid: 1}
    with container.read_uow() as uow:
        encrypted.check_keyring(uow, uow.vault)  # a sealed file is no text: still checks
