"""The IMAP poller's bookkeeping, against a stand-in for ``imaplib.IMAP4`` (no IMAP server
here): unseen messages are ingested, marked seen only once committed, a re-delivered one
is a duplicate, and one that fails stays unseen for the next poll."""

from __future__ import annotations

from typing import Any

from omniretail.support import mail_in
from tests.support.helpers import email


class Mailbox:
    def __init__(self, messages: dict[bytes, bytes]) -> None:
        self.messages = messages
        self.seen: set[bytes] = set()
        self.selected: str | None = None

    def select(self, folder: str) -> tuple[str, list[bytes]]:
        self.selected = folder
        return "OK", [str(len(self.messages)).encode()]

    def uid(self, command: str, *args: Any) -> tuple[str, list[Any]]:
        if command == "SEARCH":
            unseen = [u for u in self.messages if u not in self.seen]
            return "OK", [b" ".join(unseen)]
        if command == "FETCH":
            return "OK", [(b"1 (UID " + args[0] + b" BODY[] {n}", self.messages[args[0]]), b")"]
        if command == "STORE":
            self.seen.add(args[0])
            return "OK", []
        raise AssertionError(command)


def test_unseen_messages_are_ingested_and_marked_seen(container, monkeypatch):
    first = email(body="one").as_bytes()
    broken = b"X-Fail: yes\r\n\r\nbody"
    box = Mailbox({b"1": first, b"2": email(body="two").as_bytes(), b"3": first, b"4": broken})
    ingest = mail_in.ingest_one

    def failing(runtime: Any, raw: bytes, limits: Any = None) -> Any:
        if raw == broken:
            raise RuntimeError("the database went away")
        return ingest(runtime, raw, limits)

    monkeypatch.setattr(mail_in, "ingest_one", failing)
    report = mail_in.poll_once(container, box)  # type: ignore[arg-type]
    assert box.selected == "INBOX"
    assert (report.fetched, report.ingested, report.duplicates, report.failed) == (4, 2, 1, 1)
    assert box.seen == {b"1", b"2", b"3"}  # the failed one waits for the next poll
    monkeypatch.setattr(mail_in, "ingest_one", ingest)
    again = mail_in.poll_once(container, box)  # type: ignore[arg-type]
    assert (again.fetched, again.ingested, again.failed) == (1, 1, 0)
    assert box.seen == {b"1", b"2", b"3", b"4"}
