"""The Mailer port and its SMTP, logging and recording implementations."""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

from omniretail.kernel.limits import one_mailbox

log = logging.getLogger("omniretail.messaging.mail")


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None
    # Stable per notification, so a receiver can recognise a resend after a relay crash.
    message_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # The text holds a secret (a one-time code): implementations never log it.
    sensitive: bool = False


class Mailer(Protocol):
    def send(self, email: Email) -> None:
        """Hand the email to the mail system; raise if it was not accepted."""
        ...


def build_message(email: Email, sender: str) -> EmailMessage:
    """A text email, or multipart/alternative with text first and HTML second."""
    to = email.to.strip()
    if not one_mailbox(to):
        # "a@x.test, b@y.test" would mail both: an address typed somewhere is never a list
        raise ValueError("the recipient is not one email address")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    # one line: a subject taken from an inbound email may hold a decoded CR/LF, which the
    # header refuses (the reply was never sent); collapsed, it can add no header either
    message["Subject"] = " ".join(email.subject.split())
    message["Date"] = formatdate(localtime=False)
    if email.message_id:
        message["Message-ID"] = email.message_id
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    return message


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    sender: str = "Omniretail <no-reply@localhost>"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0


class SmtpMailer:
    """One SMTP connection per email: sends are rare next to the cost of a stale connection."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, email: Email) -> None:
        config = self.config
        message = build_message(email, config.sender)
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username:
                smtp.login(config.username, config.password or "")
            smtp.send_message(message)


SHOWN_CODE = (
    "(shown because no SMTP server is set up and OMNIRETAIL_LOG_ONE_TIME_CODES is on, as in"
    " `omniretail demo`; never on an exposed server)"
)


class LoggingMailer:
    """The development default when no SMTP host is configured: the email goes to the log.
    One holding a one-time code is withheld, unless ``show_codes`` (the demo, which has no
    mail server): then it is logged as a warning, so that it reaches the terminal."""

    def __init__(self, *, show_codes: bool = False) -> None:
        self.show_codes = show_codes

    def send(self, email: Email) -> None:
        if email.sensitive and self.show_codes:
            log.warning("email to %s: %s\n%s\n%s", email.to, email.subject, email.text, SHOWN_CODE)
            return
        text = "(withheld: it holds a one-time code)" if email.sensitive else email.text
        log.info("email to %s: %s\n%s", email.to, email.subject, text)


class RecordingMailer:
    """A fake for tests: keeps what was sent; ``fail_next`` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.fail_next = 0
        self._lock = threading.Lock()

    def send(self, email: Email) -> None:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                raise ConnectionError("recording mailer told to fail")
            self.sent.append(email)
