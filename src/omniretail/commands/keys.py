"""``omniretail keys``: generate a secret, census and re-encryption of stored ciphertext."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from omniretail.cli.context import DbOption, open_container, refuse
from omniretail.db import encrypted
from omniretail.kernel.keys import KeyringError, generate_secret
from omniretail.kernel.vault import UnknownKeyId, vault_for

app = typer.Typer(
    help="Secret keys: generation and rotation (docs/security.md).", no_args_is_help=True
)
console = Console()


@app.command("generate")
def generate() -> None:
    """Print a new random secret (for OMNIRETAIL_SECRET_KEY, or a new entry of the ring)."""
    typer.echo(generate_secret())


@app.command("index-key")
def index_key() -> None:
    """Print the ``index:`` ring entry that keeps blind indexes working once the oldest secret
    is dropped (run it with the ring that still holds that secret)."""
    from omniretail.db.encrypted import load_keyring
    from omniretail.settings import Settings

    try:
        typer.echo(load_keyring(Settings()).index_entry())
    except KeyringError as exc:
        refuse(exc)


@app.command("status")
def status(db: DbOption = None) -> None:
    """How many stored values each key id protects, per encrypted column."""
    container = open_container(db, check=False)
    _print_counts(encrypted.census(container.read_uow), container.keyring.kid)
    container.dispose()


@app.command("re-encrypt")
def re_encrypt(
    db: DbOption = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
) -> None:
    """Rewrite every encrypted value under the current key (the first of the ring), in
    batches; safe beside the server and idempotent. Afterwards older secrets may go."""
    container = open_container(db, check=False)
    vault = vault_for(container.keyring)
    totals = encrypted.count_values(container.read_uow)
    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks = {name: progress.add_task(name, total=total) for name, total in totals.items()}

        def advance(column: encrypted.EncryptedColumn, done: int) -> None:
            progress.advance(tasks[column.name], done)

        try:
            report = encrypted.reencrypt(
                container.uow, vault, batch_size=batch_size, on_batch=advance
            )
        except UnknownKeyId as exc:
            container.dispose()
            refuse(exc)
    _print_counts(report.before, container.keyring.kid)
    console.print(
        f"rewrote {report.rewritten} value(s); everything is under key "
        f"[bold]{container.keyring.kid}[/]"
    )
    older = container.keyring.kids[1:]
    if older:
        console.print(
            f"older secret(s) {', '.join(older)} are no longer needed for stored data (tokens "
            "they signed stay valid until they expire). Before dropping the oldest one, add "
            "the entry printed by `omniretail keys index-key` to OMNIRETAIL_SECRET_KEYS, "
            "which keeps the blind indexes (docs/security.md)."
        )
    container.dispose()


def _print_counts(counts: dict[str, Counter[str]], current: str) -> None:
    kids = sorted(
        {current, *(k for c in counts.values() for k in c)}, key=lambda k: (k != current, k)
    )
    table = Table("column", *kids, title=f"values per key id (current: {current})")
    for name, per_kid in counts.items():
        table.add_row(name, *(str(per_kid.get(k, 0)) for k in kids))
    console.print(table)
