"""SMS and push sender ports, their logging and recording implementations, and the bundle
of all senders the notification handler uses.

No real SMS or push provider is wired in yet: an adapter implements the port and is put in
``Senders`` by the composition root."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

from omniretail.messaging.mail import SHOWN_CODE, LoggingMailer, Mailer

log = logging.getLogger("omniretail.messaging.senders")


class SmsSender(Protocol):
    def send(self, to: str, text: str, *, sensitive: bool = False) -> None:
        """``sensitive``: the text holds a secret (a one-time code) and is never logged."""
        ...


class PushSender(Protocol):
    def send(self, to: str, title: str, body: str) -> None:
        """``to`` is the device or customer push address the provider understands."""
        ...


class LoggingSmsSender:
    """No SMS provider: the text goes to the log; a one-time code as ``LoggingMailer`` says."""

    def __init__(self, *, show_codes: bool = False) -> None:
        self.show_codes = show_codes

    def send(self, to: str, text: str, *, sensitive: bool = False) -> None:
        if sensitive and self.show_codes:
            log.warning("sms to %s: %s\n%s", to, text, SHOWN_CODE)
            return
        log.info("sms to %s: %s", to, "(withheld: it holds a one-time code)" if sensitive else text)


class LoggingPushSender:
    def send(self, to: str, title: str, body: str) -> None:
        log.info("push to %s: %s: %s", to, title, body)


@dataclass(frozen=True)
class SentSms:
    to: str
    text: str


@dataclass(frozen=True)
class SentPush:
    to: str
    title: str
    body: str


class RecordingSmsSender:
    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self._lock = threading.Lock()

    def send(self, to: str, text: str, *, sensitive: bool = False) -> None:
        with self._lock:
            self.sent.append(SentSms(to, text))


class RecordingPushSender:
    def __init__(self) -> None:
        self.sent: list[SentPush] = []
        self._lock = threading.Lock()

    def send(self, to: str, title: str, body: str) -> None:
        with self._lock:
            self.sent.append(SentPush(to, title, body))


@dataclass
class Senders:
    """The outgoing channels; tests replace a member with a recording fake."""

    mailer: Mailer = field(default_factory=LoggingMailer)
    sms: SmsSender = field(default_factory=LoggingSmsSender)
    push: PushSender = field(default_factory=LoggingPushSender)
