"""Whether an inbound email's sender is who its ``From`` says (security probe: a spoofed From
reached a customer's thread and profile).

Two kinds of proof, nothing else:
- a reply token: ``In-Reply-To``/``References`` naming a Message-ID this desk sent, which
  carries 96 random bits (``replies``); only the mailbox we wrote to has it;
- the receiving mail server's verdict: an ``Authentication-Results`` header (RFC 8601) under
  ``support_mail_authserv_id`` (the server in front of the desk, which must drop such
  headers arriving from outside) saying ``dmarc``, ``dkim`` or ``spf`` ``=pass`` for the From
  address's domain (``header.from``, ``header.d``, ``smtp.mailfrom``). Unset: no verdict
  is trusted."""

from __future__ import annotations

import re
from email.message import EmailMessage

# A Message-ID of this desk's replies that carries the random reply token.
REPLY_TOKEN_ID = re.compile(r"^<support-[0-9A-Z]{8}-\d+\.[0-9a-f]{24}@[^<>\s]+>$")
_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*(\w+)([^;]*)", re.IGNORECASE)
_DOMAIN_OF = re.compile(r"\b(?:header\.d|header\.i|smtp\.mailfrom|header\.from)\s*=\s*([^\s;]+)")


def is_reply_token(message_id: str) -> bool:
    return REPLY_TOKEN_ID.match(message_id) is not None


def _aligned(claimed: str, domain: str) -> bool:
    claimed = claimed.rsplit("@", 1)[-1].strip().lower().rstrip(".")
    return claimed == domain or domain.endswith("." + claimed)


def sender_authenticated(message: EmailMessage, sender: str, authserv_id: str | None) -> bool:
    """True when the trusted server's verdict vouches for ``sender``'s domain."""
    if not authserv_id or "@" not in sender:
        return False
    domain = sender.rsplit("@", 1)[1].strip().lower().rstrip(".")
    for header in message.get_all("Authentication-Results", []) or []:
        server, _, results = str(header).partition(";")
        if server.strip().split()[0:1] != [authserv_id]:
            continue
        for _method, verdict, detail in _RESULT.findall(results):
            if verdict.lower() != "pass":
                continue
            if any(_aligned(d, domain) for d in _DOMAIN_OF.findall(detail)):
                return True
    return False
