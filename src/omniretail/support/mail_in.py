"""Email into customer service: a real SMTP listener (aiosmtpd) and an IMAP poller (stdlib
``imaplib``), both handing each message's bytes to ``ingest.ingest_email`` in its own
transaction (one email, one commit: a failure leaves the others in, and the sender's SMTP
client or the mailbox keeps the failed one to try again).

The listener answers 250 only after the message is committed, 451 (try later) when the
ingest failed, and refuses messages far over ``support_message_max_bytes`` at the SMTP
level (552, ``smtp_size_limit``). It accepts every recipient: put it behind the MX or a
relay that only forwards the support addresses."""

from __future__ import annotations

import asyncio
import imaplib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller

from omniretail.runtime import Runtime
from omniretail.support.assistant import AssistantConfig
from omniretail.support.ingest import AutoReply, Limits, ingest_email
from omniretail.support.schemas import Ingested

log = logging.getLogger("omniretail.support.mail_in")


def limits_of(runtime: Runtime) -> Limits:
    settings = runtime.settings
    return Limits(
        attachment_bytes=settings.support_attachment_max_bytes,
        message_bytes=settings.support_message_max_bytes,
        trusted_authserv_id=settings.support_mail_authserv_id,
    )


def auto_reply_of(runtime: Runtime) -> AutoReply | None:
    """The assistant's email auto-reply, when ``support_assistant_email_auto_reply`` is on."""
    settings = runtime.settings
    if not settings.support_assistant_email_auto_reply:
        return None
    address = settings.support_reply_to or settings.smtp_from
    domain = address.rsplit("@", 1)[-1].strip(" >") or "omniretail"
    return AutoReply(config=AssistantConfig.from_settings(settings), domain=domain)


def ingest_one(runtime: Runtime, raw: bytes, limits: Limits | None = None) -> Ingested:
    """One email in one transaction (the listener's, the poller's and the benchmark's path)."""
    auto_reply = auto_reply_of(runtime)
    with runtime.uow() as uow:
        return ingest_email(uow, raw, limits=limits or limits_of(runtime), auto_reply=auto_reply)


class SupportHandler:
    """aiosmtpd handler: ingests each message off the event loop."""

    def __init__(self, runtime: Runtime, on_ingested: Callable[[Ingested], None] | None = None):
        self.runtime = runtime
        self.limits = limits_of(runtime)
        self.on_ingested = on_ingested

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            result = await asyncio.to_thread(ingest_one, self.runtime, raw, self.limits)
        except Exception:
            log.exception("an inbound email could not be ingested")
            return "451 4.3.0 Could not store the message, try again later"
        if self.on_ingested is not None:
            self.on_ingested(result)
        return "250 2.0.0 Message accepted"


def listener(
    runtime: Runtime,
    host: str | None = None,
    port: int | None = None,
    on_ingested: Callable[[Ingested], None] | None = None,
) -> Controller:
    """The SMTP listener (not started: ``start()``/``stop()``)."""
    settings = runtime.settings
    return Controller(
        SupportHandler(runtime, on_ingested),
        hostname=host or settings.support_smtp_host,
        port=port if port is not None else settings.support_smtp_port,
        data_size_limit=smtp_size_limit(settings.support_message_max_bytes),
        decode_data=False,
    )


def smtp_size_limit(message_bytes: int) -> int:
    """The SMTP listener's size limit: the attachment budget as base64 (4/3) with room for
    the text and headers; larger messages are refused with 552."""
    return message_bytes * 4 // 3 + 1024 * 1024


@dataclass
class PollReport:
    fetched: int = 0
    ingested: int = 0
    duplicates: int = 0
    failed: int = 0


def imap_connect(runtime: Runtime) -> imaplib.IMAP4:
    settings = runtime.settings
    if not settings.support_imap_host:
        raise ValueError("set OMNIRETAIL_SUPPORT_IMAP_HOST to poll a mailbox")
    if settings.support_imap_ssl:
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            settings.support_imap_host,
            settings.support_imap_port,
            ssl_context=ssl.create_default_context(),
        )
    else:
        client = imaplib.IMAP4(settings.support_imap_host, settings.support_imap_port)
    if settings.support_imap_username:
        password = settings.support_imap_password
        client.login(
            settings.support_imap_username, password.get_secret_value() if password else ""
        )
    return client


def poll_once(runtime: Runtime, client: imaplib.IMAP4) -> PollReport:
    """Ingests every unseen message of the folder and marks it seen once committed (a
    message that failed stays unseen for the next poll)."""
    report = PollReport()
    client.select(runtime.settings.support_imap_folder)
    status, data = client.uid("SEARCH", "UNSEEN")
    if status != "OK":
        raise RuntimeError(f"IMAP SEARCH failed: {data!r}")
    limits = limits_of(runtime)
    for uid in (data[0] or b"").split():
        status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")  # type: ignore[arg-type]
        raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
        if status != "OK" or not isinstance(raw, bytes):
            report.failed += 1
            continue
        report.fetched += 1
        try:
            result = ingest_one(runtime, raw, limits)
        except Exception:
            log.exception("IMAP message %s could not be ingested", uid)
            report.failed += 1
            continue
        report.duplicates += result.duplicate
        report.ingested += not result.duplicate
        client.uid("STORE", uid, "+FLAGS", "(\\Seen)")  # type: ignore[arg-type]
    return report
