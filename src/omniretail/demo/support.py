"""The demo's customer service: the ``general`` team's business hours and SLA, canned replies
with variables, and four conversations of the demo customer, each made through the path a real
one takes: an email asking where an order is (``support.ingest_email``, the function the SMTP
listener and the IMAP poller call, from the customer's verified address), a web chat the
assistant answers, a chat the assistant hands over to a person (a damaged item) and a phone
call an agent wrote down (``support.log_contact``).

Idempotent: once the demo customer has a conversation, nothing is added (canned replies are
added only when their code is free; an existing one is left as it is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from omniretail.db.uow import UnitOfWork
from omniretail.demo.people import CUSTOMER_EMAIL
from omniretail.orders.schemas import OrderRead
from omniretail.support import service as support
from omniretail.support.schemas import (
    CannedReplyWrite,
    ChatStart,
    ContactCreate,
    ConversationQuery,
    ConversationRead,
    TeamWrite,
)

TEAM_ADDRESS = "care@omniretail.example"
AGENT = "agent"  # the demo's service_agent (demo.people)
AGENT_ACTOR = f"service_agent:{AGENT}"
EMAIL_MESSAGE_ID = "<demo-wismo-1@example.com>"
HANDOVER_TEXT = "I'd like to speak to a person about a damaged item"
# Monday to Saturday, 09:00-18:00 London (ISO weekdays, 1 = Monday).
HOURS = {str(day): ["09:00", "18:00"] for day in range(1, 7)}
CANNED = {
    "damaged-item": (
        "Damaged item: sorry, replacement or refund",
        "Hello {{ customer_name }},\n\nI'm sorry your order {{ order_number }} arrived damaged."
        " We will send a replacement or refund you in full, whichever you prefer; there is no"
        " need to send the item back.\n\n{{ agent }}, {{ team }} (ref {{ reference }})",
    ),
    "where-is-my-order": (
        "Where is my order: tracking link",
        "Hello {{ customer_name }},\n\nyour order {{ order_number }} is on its way; the"
        " tracking page shows every step. Reply here if it has not arrived in two working"
        " days.\n\n{{ agent }}, {{ team }} (ref {{ reference }})",
    ),
    "return-how-to": (
        "How to return an item",
        "Hello {{ customer_name }},\n\nyou can return anything from order {{ order_number }}"
        " within 30 days at any of our stores, or start a return from your account.\n\n"
        "{{ agent }}, {{ team }}",
    ),
    "thanks-closing": (
        "Thanks, closing",
        "Thanks {{ customer_name }}, glad we could help. Reply to reopen this conversation"
        " (ref {{ reference }}).\n\n{{ agent }}, {{ team }}",
    ),
}


@dataclass(frozen=True)
class DemoSupport:
    created: bool
    conversations: list[ConversationRead]  # the demo customer's, newest activity first
    canned_added: list[str] = field(default_factory=list)

    def handed_over(self) -> ConversationRead | None:
        """The chat the assistant handed over (what the agent's tour step opens)."""
        return next(
            (c for c in self.conversations if c.subject and c.subject.startswith("I'd like")),
            None,
        )


def _orders(orders: list[OrderRead]) -> tuple[str | None, str | None, str | None]:
    """Order numbers for the email (one on its way home), the answered chat (another one on
    its way) and the damaged item (one delivered), from the demo customer's orders."""

    def first(*wanted: tuple[str, str]) -> str | None:
        return next(
            (
                o.number
                for o in orders
                for f in o.fulfilments[:1]
                if (f.method.value, f.status) in wanted
            ),
            None,
        )

    home = ("ship_to_home", "shipped")
    email = first(home) or first(("ship_to_home", "delivered"))
    chat = first(("ship_to_store", "shipped"), ("pickup_in_store", "ready_for_pickup")) or email
    damaged = first(("ship_to_home", "delivered")) or email
    return email, chat, damaged


# The demo's mail server in front of the desk, whose verdict on the sender the desk believes.
DEMO_MX = "mx.demo.invalid"


def _email(order: str | None, now: datetime) -> bytes:
    message = EmailMessage()
    domain = CUSTOMER_EMAIL.rsplit("@", 1)[1]
    message["Authentication-Results"] = f"{DEMO_MX}; dkim=pass header.d={domain}"
    message["From"] = f"Ada Demo <{CUSTOMER_EMAIL}>"
    message["To"] = TEAM_ADDRESS
    message["Subject"] = f"Where is my order {order}?" if order else "Where is my order?"
    message["Message-ID"] = EMAIL_MESSAGE_ID
    message["Date"] = format_datetime(now)
    message.set_content(
        f"Hello,\n\nI ordered {order or 'a parcel'} last week and it has not arrived yet."
        " Could you tell me where it is?\n\nThanks,\nAda\n\n-- \nAda Demo\n"
    )
    return message.as_bytes()


def seed_support(
    uow: UnitOfWork,
    *,
    customer_id: int,
    orders: list[OrderRead],
    assistant: support.Assistant | None = None,
) -> DemoSupport:
    """Canned replies and the demo customer's conversations; ``assistant`` answers the chats
    (the process's, as the settings say), or None leaves them to an agent."""
    existing = {c.code for c in support.list_canned(uow)}
    added = []
    for code, (title, body) in CANNED.items():
        if code not in existing:
            support.put_canned(uow, code, CannedReplyWrite(title=title, body=body))
            added.append(code)
    query = ConversationQuery(customer_id=customer_id, limit=50)
    if support.list_conversations(uow, query):
        return DemoSupport(False, support.list_conversations(uow, query), added)
    support.put_team(
        uow,
        support.DEFAULT_TEAM,
        TeamWrite(
            name="Customer care",
            time_zone="Europe/London",
            hours=HOURS,
            first_response_minutes=120,
            resolution_minutes=1440,
            address=TEAM_ADDRESS,
        ),
    )
    wismo, asked, damaged = _orders(orders)
    support.ingest_email(
        uow, _email(wismo, uow.now), limits=support.Limits(trusted_authserv_id=DEMO_MX)
    )
    # The shop's chat for a signed-in customer: the assistant answers from the live order.
    support.start_chat(
        uow,
        ChatStart(message=f"Where is my order {asked}?" if asked else "Where is my order?"),
        customer_id=customer_id,
        assistant=assistant,
    )
    support.start_chat(
        uow,
        ChatStart(message=HANDOVER_TEXT, order_number=damaged),
        customer_id=customer_id,
        assistant=assistant,
    )
    support.log_contact(
        uow,
        ContactCreate(
            channel="phone",
            subject="Change of delivery address",
            body="Ada called: she moves next month and asked how to change the delivery"
            " address on her account. Explained /account > addresses; nothing else open.",
            customer_id=customer_id,
            order_number=wismo,
            contact="+44 20 7946 0000",
            resolved=True,
        ),
        author=AGENT_ACTOR,
    )
    return DemoSupport(True, support.list_conversations(uow, query), added)
