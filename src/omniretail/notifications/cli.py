"""``omniretail messages``: the message log (the console's /hq/messages) in a terminal.

Like every command it acts as the operator who holds the database URL and the secret key (the
key decrypts the log in any case); it reads through the same use cases as the console and
``GET /api/v1/notifications/messages``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.kernel.errors import DomainError
from omniretail.notifications import service
from omniretail.notifications.models import Channel
from omniretail.notifications.schemas import MessageQuery, MessageRead, MessageState

Day = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="A day, UTC")]


def messages_command(
    db: DbOption = None,
    show: Annotated[int | None, typer.Option("--show", help="Print this message in full")] = None,
    channel: Annotated[Channel | None, typer.Option(help="email, sms or push")] = None,
    state: Annotated[
        MessageState | None, typer.Option(help="queued, retrying, failed or sent")
    ] = None,
    customer: Annotated[int | None, typer.Option(help="Customer id")] = None,
    kind: Annotated[str | None, typer.Option(help="e.g. ready_for_pickup")] = None,
    since: Day = None,
    until: Day = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Every notification sent or tried (email, SMS, push): who, when, why, delivery state."""
    try:
        query = MessageQuery(
            channel=channel,
            state=state,
            customer_id=customer,
            kind=kind,
            since=_day(since),
            until=_day(until, 1),
            offset=(page - 1) * limit,
            limit=limit,
        )
    except ValidationError as exc:
        _console().print(f"[red]error:[/] {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from None
    container = open_container(db)
    try:
        with container.read_uow() as uow:
            if show is not None:
                _print_message(service.get_message(uow, show))
                return
            found = service.list_messages(uow, query)
    except DomainError as exc:
        _console().print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from exc
    finally:
        container.dispose()
    table = Table("id", "when", "to", "channel", "kind", "order", "subject / text", "state")
    for m in found.items:
        text = m.subject or m.body.strip()
        if m.channel == Channel.SMS:
            text = f"{text[:60]} ({m.length} chars)"
        table.add_row(
            str(m.id),
            m.created_at.isoformat(timespec="seconds"),
            m.recipient + (f" (customer {m.customer_id})" if m.customer_id else ""),
            m.channel,
            m.kind,
            m.order_number or "",
            text[:80],
            m.state.value
            + (f": {m.last_error[:80]}" if m.last_error and m.sent_at is None else ""),
        )
    _console().print(table)
    more = f"; more with --page {page + 1}" if found.more else ""
    _console().print(f"{len(found.items)} messages (page {page}){more}")


def _console() -> Console:
    """Made per call, so the terminal's width (``COLUMNS``) is read when the command runs."""
    return Console()


def _day(value: datetime | None, extra_days: int = 0) -> datetime | None:
    if value is None:
        return None
    return datetime.combine(value.date() + timedelta(days=extra_days), time(), UTC)


def _print_message(m: MessageRead) -> None:
    facts = [
        ("id", str(m.id)),
        ("to", m.recipient),
        ("customer", str(m.customer_id) if m.customer_id else "-"),
        ("channel", m.channel),
        ("kind", m.kind),
        ("order", m.order_number or "-"),
        ("source event", f"{m.source_event_type or '-'} {m.source_event_id}"),
        ("recorded", m.created_at.isoformat(timespec="seconds")),
        ("sent", m.sent_at.isoformat(timespec="seconds") if m.sent_at else "-"),
        ("state", m.state.value),
        ("attempts", str(m.attempts)),
        ("last error", m.last_error or "-"),
        ("length", f"{m.length} characters"),
        ("subject", m.subject or "-"),
    ]
    for name, value in facts:
        _console().print(f"[bold]{name}:[/] {value}", highlight=False, soft_wrap=True)
    _console().print()
    _console().print(m.body, markup=False, highlight=False, soft_wrap=True)
    if m.html_body:
        _console().print("[bold]--- HTML part ---[/]")
        _console().print(m.html_body, markup=False, highlight=False, soft_wrap=True)
