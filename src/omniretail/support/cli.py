"""``omniretail support``: the inbound email listener (``mail-in``), the IMAP poller
(``imap-poll``) and ``ingest`` for an .eml file."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from omniretail.cli.context import DbOption, open_container
from omniretail.support import mail_in
from omniretail.support.assistant_cli import app as assistant_app

app = typer.Typer(help="Customer service: email in (SMTP listener, IMAP poller).")
app.add_typer(assistant_app, name="assistant")


@app.command("mail-in")
def mail_in_command(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address (support_smtp_host)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (support_smtp_port)")] = None,
) -> None:
    """Run the inbound SMTP listener until interrupted: every email is threaded into a
    conversation and linked to the customer and the order."""
    runtime = open_container(db)
    controller = mail_in.listener(
        runtime,
        host,
        port,
        on_ingested=lambda r: typer.echo(
            f"{'duplicate' if r.duplicate else 'new' if r.created else 'threaded'} "
            f"conversation {r.conversation_id} [ref:{r.reference}]"
        ),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller.start()
    typer.echo(f"support SMTP listener on {controller.hostname}:{controller.port}")
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
        runtime.dispose()


@app.command("imap-poll")
def imap_poll_command(
    db: DbOption = None,
    once: Annotated[bool, typer.Option(help="Poll once and stop")] = False,
    interval: Annotated[float, typer.Option(min=5.0, help="Seconds between polls")] = 60.0,
) -> None:
    """Poll the IMAP mailbox (support_imap_*) for unseen emails and ingest them."""
    runtime = open_container(db)
    try:
        while True:
            client = mail_in.imap_connect(runtime)
            try:
                report = mail_in.poll_once(runtime, client)
            finally:
                client.logout()
            typer.echo(
                f"fetched {report.fetched}, new {report.ingested}, "
                f"duplicates {report.duplicates}, failed {report.failed}"
            )
            if once:
                return
            time.sleep(interval)
    finally:
        runtime.dispose()


@app.command("ingest")
def ingest_command(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)],
    db: DbOption = None,
) -> None:
    """Ingest .eml files as if they had arrived by SMTP."""
    runtime = open_container(db)
    try:
        for path in files:
            result = mail_in.ingest_one(runtime, path.read_bytes())
            typer.echo(
                f"{path.name}: conversation {result.conversation_id} [ref:{result.reference}]"
                f"{' (duplicate)' if result.duplicate else ''}"
            )
    finally:
        runtime.dispose()
