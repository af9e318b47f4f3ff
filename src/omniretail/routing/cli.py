"""``omniretail route ...``: explain a routing decision, show the rules."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omniretail.cli.context import DbOption, open_container
from omniretail.kernel.errors import DomainError
from omniretail.routing import service as routing
from omniretail.routing.schemas import RoutingSimulate, SimulationLine
from omniretail.routing.service import FulfilmentMethod

route_app = typer.Typer(
    help="Order routing: explain a decision, show the rules.", no_args_is_help=True
)


console = Console()


@route_app.command("simulate")
def simulate(
    channel: Annotated[str, typer.Option(help="Sales channel, e.g. WEB")],
    line: Annotated[
        list[str], typer.Option("--line", "-l", help="SKU:QUANTITY, repeat for more lines")
    ],
    method: FulfilmentMethod = FulfilmentMethod.SHIP_TO_HOME,
    lat: float | None = None,
    lon: float | None = None,
    pickup: Annotated[str | None, typer.Option(help="Pickup store or locker")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Locations to leave out")] = None,
    version: Annotated[int | None, typer.Option(help="Rules version (default: in force)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON")] = False,
    db: DbOption = None,
) -> None:
    """Which locations would fulfil these lines, which were excluded by which rule, and why
    the winner won. Changes nothing."""
    try:
        lines = [SimulationLine(sku=sku, quantity=int(qty)) for sku, qty in _pairs(line)]
        body = RoutingSimulate(
            channel=channel,
            method=method,
            lines=lines,
            latitude=lat,
            longitude=lon,
            pickup_location=pickup,
            exclude=exclude or [],
            version=version,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    container = open_container(db)
    try:
        with container.read_uow() as uow:
            decision = routing.simulate(uow, body)
    except DomainError as exc:
        console.print(f"[red]{exc.title}[/]: {exc.detail}")
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(decision.model_dump_json(indent=2))
        return
    verdict = "[green]routed[/]" if decision.ok else "[red]no route[/]"
    console.print(f"{verdict} by rules v{decision.rule_version}: {decision.summary}")
    for a in decision.assignments:
        units = ", ".join(f"{ln['quantity']} x {ln['sku']}" for ln in a.lines)
        console.print(f"  [bold]{a.location}[/] ({a.method.value}): {units} - {a.why}")
    table = Table("rank", "location", "kind", "km", "depth", "cost", "excluded by")
    for c in decision.candidates:
        table.add_row(
            str(c.rank or "-"),
            c.location,
            c.kind,
            "" if c.distance_km is None else f"{c.distance_km:.1f}",
            str(c.stock_depth),
            f"{c.cost:.2f}",
            "; ".join(c.excluded_by),
        )
    console.print(table)
    if not decision.ok:
        raise typer.Exit(1)


@route_app.command("rules")
def rules(db: DbOption = None, version: int | None = None) -> None:
    """Print the routing rules in force (or a stored version) as JSON."""
    container = open_container(db)
    with container.read_uow() as uow:
        found = routing.get_rules(uow, version)
    typer.echo(json.dumps(found.model_dump(mode="json"), indent=2))


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        sku, sep, qty = value.rpartition(":")
        if not sep or not sku or not qty.isdigit():
            raise ValueError(f"--line {value!r}: expected SKU:QUANTITY")
        pairs.append((sku, qty))
    return pairs
