"""``omniretail events relay | dead-letters | replay | prune`` (merged into the ``events``
group)."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.kernel.errors import DomainError
from omniretail.messaging import service

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command()
def relay(
    db: DbOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Deliver everything due now, then exit")
    ] = False,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between probes when idle (default: settings)")
    ] = None,
) -> None:
    """Deliver outbox events to their handlers: webhooks, notifications, domain reactions."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    container = open_container(db)
    outbox_relay = container.relay()
    if once:
        report = outbox_relay.run_until_idle()
        console.print(
            f"delivered {report.delivered}, skipped {report.skipped}, retrying {report.retried}, "
            f"dead {report.dead}, published {report.published} events"
        )
        return
    console.print(f"relaying events from {container.backend}; Ctrl-C stops")
    try:
        outbox_relay.run_forever(interval or container.settings.relay_interval_seconds)
    except KeyboardInterrupt:
        # A delivery cut off here is claimed again once its lease runs out.
        console.print("stopped")


@app.command("dead-letters")
def dead_letters(
    db: DbOption = None,
    handler: Annotated[
        str | None, typer.Option(help="Handler name prefix, e.g. webhook: or orders.")
    ] = None,
    limit: int = 100,
) -> None:
    """List deliveries that used up their attempts (newest first)."""
    container = open_container(db)
    with container.read_uow() as uow:
        rows = service.list_dead_letters(uow, handler_prefix=handler, limit=limit)
    table = Table("id", "type", "attempts", "last error", "updated")
    # Operators copy the ids to replay them: never truncate these two.
    table.add_column("event", no_wrap=True, min_width=36)
    table.add_column("handler", no_wrap=True, min_width=12)
    for row in rows:
        table.add_row(
            str(row.id),
            row.event_type,
            str(row.attempts),
            (row.last_error or "")[:120],
            row.updated_at.isoformat(timespec="seconds"),
            row.message_id,
            row.handler,
        )
    console.print(table)
    console.print(f"{len(rows)} dead letters")


@app.command()
def replay(
    id: Annotated[str, typer.Argument(help="A delivery id, or an event id for all its dead ones")],
    db: DbOption = None,
) -> None:
    """Give dead deliveries a fresh set of attempts; the relay sends them on its next pass."""
    container = open_container(db)
    try:
        with container.uow() as uow:
            if id.isdigit():
                replayed = [service.replay_delivery(uow, int(id), actor="cli:replay")]
            else:
                replayed = service.replay_message(uow, id, actor="cli:replay")
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from exc
    for row in replayed:
        console.print(f"delivery {row.id} ({row.handler}, event {row.message_id}) is due again")


def _day(value: str) -> datetime:
    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected YYYY-MM-DD (or an ISO date and time), got {value!r}", param_hint="--before"
        ) from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def _archive(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "at", encoding="utf-8")
    return path.open("a", encoding="utf-8")


@app.command()
def prune(
    before: Annotated[
        str,
        typer.Option(
            "--before", help="Delete published events that happened before this date (UTC)"
        ),
    ],
    db: DbOption = None,
    archive: Annotated[
        Path | None,
        typer.Option(
            "--archive",
            help="First append each event to this file as CloudEvents JSON lines (.gz: gzip)",
        ),
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=100_000, help="Events per transaction")
    ] = 1000,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be deleted")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete (or archive, then delete) published outbox events older than a date, with their
    deliveries, in batches. Unpublished events (pending or dead deliveries) are always kept;
    a pruned event can no longer be replayed or shown as the cause in the message log."""
    cutoff = _day(before)
    container = open_container(db)
    if cutoff > container.clock.now():
        console.print(f"[red]--before {before} is in the future[/]: pick a past date")
        raise typer.Exit(2)
    with container.read_uow() as uow:
        prunable, kept = service.count_prunable(uow, cutoff)
    console.print(
        f"{prunable:,} published events before {cutoff:%Y-%m-%d %H:%M} UTC"
        f"{'' if dry_run else ' to delete'}; {kept:,} unpublished ones before it are kept"
        + (" (see `omniretail events dead-letters`)" if kept else "")
    )
    if dry_run or not prunable:
        return
    if not yes and not typer.confirm(
        f"Delete {prunable:,} events{f' after appending them to {archive}' if archive else ''}?"
    ):
        console.print("nothing deleted")
        raise typer.Exit(1)
    deleted, position = 0, 0
    out = _archive(archive) if archive else None
    try:
        with Progress(
            TextColumn("pruning"), BarColumn(), MofNCompleteColumn(), console=console
        ) as bar:
            task = bar.add_task("events", total=prunable)
            while True:
                with container.uow() as uow:
                    pruned = service.prune_published(
                        uow, cutoff, after_position=position, limit=batch
                    )
                    if out is not None:
                        out.writelines(json.dumps(e, sort_keys=True) + "\n" for e in pruned.events)
                        out.flush()
                if not pruned.events:
                    break
                deleted += pruned.deleted
                position = pruned.last_position
                bar.update(task, completed=min(deleted, prunable))
    finally:
        if out is not None:
            out.close()
    console.print(
        f"deleted {deleted:,} published events" + (f"; archived to {archive}" if archive else "")
    )
