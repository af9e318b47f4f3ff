"""``omniretail orders ...``: the pickup sweep."""

from __future__ import annotations

import typer
from rich.console import Console

from omniretail.cli.context import DbOption, open_container
from omniretail.fulfilment import service as fulfilment
from omniretail.orders import service as orders
from omniretail.routing.service import policy_from

console = Console()

orders_app = typer.Typer(help="Orders: pickup reminders and returns.", no_args_is_help=True)


@orders_app.command("sweep-pickups")
def sweep_pickups(db: DbOption = None) -> None:
    """Send due pickup reminders and return uncollected orders to stock (run e.g. hourly).

    The voids are recorded in the outbox; the server's relay (or ``omniretail events relay``)
    instructs the payment provider."""
    container = open_container(db)
    policy = policy_from(container.settings)
    with container.uow() as uow:
        report = fulfilment.sweep_pickups(uow, policy=policy, actor="cli:sweep-pickups")
    console.print(
        f"reminded {report.reminded}, returned {report.returned_to_stock} uncollected to stock"
    )


@orders_app.command("sweep-payments")
def sweep_payments(db: DbOption = None) -> None:
    """Settle checkouts whose payment never finished (the process died while the provider was
    asked): past their allocation's expiry, the provider is asked by idempotency key; an
    authorised one becomes a confirmed order, any other gives its stock back."""
    container = open_container(db)
    report = orders.sweep_payment_attempts(
        container.uow,
        orders.provider_named(container.settings.payment_provider),
        actor="cli:sweep-payments",
    )
    console.print(
        f"confirmed {report.confirmed}, released {report.released},"
        f" provider unreachable for {report.unanswered}"
    )
