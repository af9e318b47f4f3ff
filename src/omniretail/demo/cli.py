"""``omniretail demo``: set up the embedded database with the real history and a demo network,
print what is there, and serve the API."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from omniretail.cli.context import cli_root, open_container
from omniretail.demo import network
from omniretail.demo.access import issue_demo_api_key
from omniretail.demo.data import FoundLog, find_transaction_log
from omniretail.demo.reset import describe, embedded_database, files_to_delete
from omniretail.demo.stock import receive_opening_stock, stock_exists
from omniretail.demo.story import print_api_key, print_stock, print_summary, print_tour
from omniretail.history import service as history
from omniretail.history.cli import dates_line, print_report, run_import
from omniretail.kernel.errors import DomainError
from omniretail.runtime import Runtime
from omniretail.settings import Settings

if TYPE_CHECKING:
    from omniretail.demo.orders import DemoOrders
    from omniretail.demo.pricing import DemoOffers, TourOffer
    from omniretail.demo.support import DemoSupport
    from omniretail.loyalty.schemas import AccountRead

console = Console()
ACTOR = "cli:demo"


# Without a mail server a newcomer would never see the code that verifies their sign-up.
DEMO_DEFAULTS = {"log_one_time_codes": True}


def served_at(host: str, port: int) -> str:
    """The base URL a browser on this machine opens the demo's server at."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"


def demo_command(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Transaction log to import (default: OMNIRETAIL_DATA, ../shared/data beside"
            " the checkout, else the UCI download)",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address the API listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the API listens on")] = 8000,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API after setting up")
    ] = True,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: the embedded SQLite file)")
    ] = None,
    intelligence: Annotated[
        bool,
        typer.Option(
            "--intelligence/--no-intelligence",
            help="Run the intelligence batch once (segments, CLV, recommendations, forecast,"
            " reorder points; about two minutes on the full log)",
        ),
    ] = True,
    new_passwords: Annotated[
        bool,
        typer.Option(
            "--new-passwords",
            help="Give the demo accounts fresh random passwords (shown once) and end their"
            " sessions; for when the first print-out is lost",
        ),
    ] = False,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Start over: delete the embedded SQLite database (and its secret key), then"
            " set the demo up afresh; refused when a database URL is configured",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="With --reset: do not ask for confirmation")
    ] = False,
    shift_years: Annotated[
        int | None,
        typer.Option(
            "--shift-years",
            min=0,
            help="Move the history forward by this many years, rounded to whole weeks so that"
            " weekdays are kept (default: as many as end it within the year before today)",
        ),
    ] = None,
    keep_dates: Annotated[
        bool,
        typer.Option(
            "--keep-dates",
            help="Import the history with its own dates (2009-2010 for the shared log): tiers,"
            " segments and forecasts then describe that time, not today",
        ),
    ] = False,
) -> None:
    """Set up a demo: import the real order history, create a demo network with opening
    stock, score it with the intelligence models, and serve the API. Safe to run again:
    nothing is imported, stocked or scored twice."""
    if keep_dates and shift_years:
        Console(stderr=True).print("[red]--keep-dates and --shift-years contradict each other[/]")
        raise typer.Exit(2)
    if reset:
        _reset(db, yes=yes)
    # The links in its emails (reset and sign-up codes, tracking) point at this server.
    here = {"public_base_url": served_at(host, port)}
    container = open_container(db, defaults={**DEMO_DEFAULTS, **here})
    if container.settings.log_one_time_codes and not container.settings.smtp_host:
        console.print(
            "no mail server (OMNIRETAIL_SMTP_HOST): sign-up and password reset codes are"
            " printed in this terminal instead (OMNIRETAIL_LOG_ONE_TIME_CODES=false stops it)"
        )
    try:
        found = find_transaction_log(data, container.settings, console=console)
        if serve:
            console.print(
                f"console: [bold]http://{host}:{port}/[/] (opens once this set-up is done)"
            )
        console.print(f"transaction log: [bold]{found.path}[/] ({found.origin})", soft_wrap=True)
        _import_once(container, found, shift_years=0 if keep_dates else shift_years)
        _network_and_stock(container)
        if intelligence:
            _intelligence_once(container)
        print_summary(console, container, found, host=host, port=port)
        stores = _tour_stores(container)
        customer_id, account = _people(container, stores=stores, new_passwords=new_passwords)
        with container.uow() as uow:
            key = issue_demo_api_key(uow)
        print_api_key(console, host=host, port=port, api_key=key.key)
        base = f"http://{host}:{port}"
        _delivery_fee(container)  # before the demo's web orders, which pay it
        made = _orders(container, customer_id, base=base, pickup_store=stores[0])
        offers = _offers(container, customer_id)
        tour_offer = _tour_offer(container, offers, customer_id)
        _journeys(container)
        service = _support(container, customer_id, made)
        if intelligence:
            _score_tour_customer(container, customer_id)
        account = _account_now(container, customer_id)
        print_tour(console, base, customer_id, account, made, stores, tour_offer, service)
    except DomainError as exc:
        console.print(f"[red]demo set-up failed[/]: {exc.detail}")
        container.dispose()
        raise typer.Exit(2) from exc
    if not serve:
        container.dispose()
        return
    cli_root().serve(container, host, port)


def _reset(db: str | None, *, yes: bool) -> None:
    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    embedded = embedded_database(settings)
    if embedded is None:
        Console(stderr=True).print(
            f"[red]--reset refused[/]: the demo uses {describe(settings)}, not the embedded"
            " SQLite file; --reset never deletes a configured database. Drop it with your"
            " database's own tools, or unset OMNIRETAIL_DATABASE_URL (and --db) to use the"
            " embedded one.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    paths = files_to_delete(embedded)
    if not paths:
        console.print(f"reset: nothing to delete at {embedded.database.parent}")
        return
    console.print("reset: this deletes every order, customer and setting of the demo:")
    for path in paths:
        console.print(f"  {path}", highlight=False, soft_wrap=True)
    console.print("  (stop a running `omniretail serve` or demo on this database first)")
    if not yes and not typer.confirm("Delete these files and set the demo up afresh?"):
        console.print("reset: nothing deleted")
        raise typer.Exit(1)
    for path in paths:
        path.unlink(missing_ok=True)
    console.print(f"reset: deleted {len(paths)} files; setting the demo up afresh")


def _import_once(container: Runtime, found: FoundLog, *, shift_years: int | None) -> None:
    with container.read_uow() as uow:
        earlier = history.find_import(uow, history.file_sha256(found.path))
    if earlier is not None:
        console.print(
            f"history: {found.path.name} was imported before ({earlier.invoices:,} orders,"
            f" {earlier.order_lines:,} lines); not importing again"
        )
        console.print(dates_line(earlier), highlight=False, soft_wrap=True)
        return
    report, elapsed = run_import(
        container, found.path, console=console, actor=ACTOR, shift_years=shift_years
    )
    print_report(console, report)
    console.print(f"[green]imported[/] {found.path.name} in {elapsed:.1f} s")


def _intelligence_once(container: Runtime) -> None:
    from omniretail.intelligence.cli import refresh_with_progress
    from omniretail.intelligence.service import last_refresh

    with container.read_uow() as uow:
        earlier = last_refresh(uow)
    if earlier is not None:
        console.print(
            f"intelligence: results from {earlier:%Y-%m-%d %H:%M} exist; not recomputed"
            " (the server refreshes them when OMNIRETAIL_INTELLIGENCE_REFRESH_SECONDS is set)"
        )
        return
    refresh_with_progress(container, console)


def _score_tour_customer(container: Runtime, customer_id: int) -> None:
    """The tour's customer is made after the batch run: score her profiles (as of today) so
    that her page shows a segment, CLV and p_alive rather than "not scored"."""
    from omniretail.customers import service as customers
    from omniretail.intelligence.service import get_customer_scores
    from omniretail.intelligence.tasks import score_customers_today

    with container.read_uow() as uow:
        if get_customer_scores(uow, customer_id, 0).computed_at is not None:
            return
        cluster = customers.cluster(uow, customer_id)
    stored = score_customers_today(container, cluster)
    with container.read_uow() as uow:
        scores = get_customer_scores(uow, customer_id, 0)
    console.print(
        f"intelligence: scored the demo customer's {stored} profiles as of today"
        f" ({_through(scores.as_of)}, her purchases of today counted; she is newer than the"
        f" batch run): segment {scores.segment}, p_alive {scores.p_alive or 0:.0%}"
    )


def _through(as_of: date | None) -> str:
    """Scores ``as_of`` a day count what happened before it: the last day they count."""
    return f"{as_of - timedelta(days=1)}" if as_of else "today"


def _network_and_stock(container: Runtime) -> None:
    with container.uow() as uow:
        if network.network_exists(uow):
            console.print("network: the demo network exists; left as it is")
        else:
            n_locations, n_channels = network.create_network(uow)
            console.print(f"network: created {n_locations} locations and {n_channels} channels")
    with container.uow() as uow:
        if stock_exists(uow):
            console.print("stock: the demo locations hold stock already; none added")
            return
        summary = receive_opening_stock(uow, actor=ACTOR)
    print_stock(console, summary)


def _delivery_fee(container: Runtime) -> None:
    from omniretail.demo.pricing import CHANNEL, seed_delivery_fee

    with container.uow() as uow:
        if seed_delivery_fee(uow, actor=ACTOR):
            console.print(f"pricing: added the {CHANNEL} home-delivery fee")


def _offers(container: Runtime, customer_id: int) -> DemoOffers:
    """The demo's promotions, coupon and loyalty coupons (made once, after the demo customer's
    orders, which keep the prices they were sold at; the delivery fee comes before them)."""
    from omniretail.demo.pricing import seed_offers

    with container.uow() as uow:
        offers = seed_offers(uow, actor=ACTOR, customer_id=customer_id)
    if offers.created:
        console.print(f"pricing: added {'; '.join(offers.created)}", soft_wrap=True)
    else:
        console.print(
            "pricing: the demo's promotions, coupon and delivery fee exist; left as they are"
        )
    return offers


def _journeys(container: Runtime) -> None:
    """The classic journeys installed, the welcome series and the abandoned cart live."""
    from omniretail.demo.marketing import seed_journeys

    with container.uow() as uow:
        made = seed_journeys(uow, actor=ACTOR, site_url=container.settings.public_base_url)
    if made.installed:
        console.print(
            f"marketing: installed {len(made.installed)} classic journeys", soft_wrap=True
        )
    console.print(f"marketing: live journeys: {', '.join(made.live) or 'none'}", soft_wrap=True)


def _support(container: Runtime, customer_id: int, made: DemoOrders | None) -> DemoSupport:
    """The service team, canned replies and the demo customer's conversations (made once)."""
    from omniretail.demo.support import seed_support
    from omniretail.support import service as support

    assistant = support.assistant_for(container.settings)  # as the server's chat would answer
    with container.uow() as uow:
        seeded = seed_support(
            uow,
            customer_id=customer_id,
            orders=made.orders if made else [],
            assistant=assistant,
        )
    if seeded.canned_added:
        console.print(f"support: canned replies {', '.join(seeded.canned_added)}", soft_wrap=True)
    channels = ", ".join(f"{c.channel} {c.status}" for c in seeded.conversations)
    done = "added" if seeded.created else "exist; none added"
    console.print(f"support: the demo customer's conversations {done} ({channels})", soft_wrap=True)
    return seeded


def _account_now(container: Runtime, customer_id: int) -> AccountRead:
    """The points and tier as ``/account`` shows them: with the demo's orders counted (their
    points and spend are booked by the relay, which the server runs at once)."""
    from omniretail.loyalty.service import account_status

    container.relay().run_until_idle()
    with container.read_uow() as uow:
        return account_status(uow, customer_id)


def _tour_offer(container: Runtime, offers: DemoOffers, customer_id: int) -> TourOffer | None:
    from omniretail.demo.pricing import tour_offer

    if not offers.skus:
        return None
    with container.read_uow() as uow:
        return tour_offer(uow, offers.skus[0], customer_id)


def _tour_stores(container: Runtime) -> tuple[str, str]:
    """Where the demo pickup waits (and ``associate`` works), and the store of the tour's
    return (``associate2``): the associates' stores once they exist."""
    from omniretail.demo import orders as demo_orders
    from omniretail.demo import people as demo_people
    from omniretail.demo.errors import TooLittleStock
    from omniretail.demo.network import STORES

    web_sold = [s.code for s in STORES if s.ships_from_store]
    with container.read_uow() as uow:
        store = demo_people.staff_store(uow, "associate")
        other = demo_people.staff_store(uow, "associate2")
        if store is None:
            try:
                store = demo_orders.pickup_store(uow)
            except TooLittleStock:
                store = web_sold[0]
    return store, other or demo_orders.other_store(store)


def _people(
    container: Runtime, *, stores: tuple[str, str], new_passwords: bool = False
) -> tuple[int, AccountRead]:
    """Loyalty over the real history, a sign-in per role, and one omnichannel customer."""
    from omniretail.demo import people as demo_people
    from omniretail.kernel.vault import vault_for
    from omniretail.loyalty.service import backfill_history

    with container.uow() as uow:
        report = backfill_history(uow, actor=ACTOR)
    # A later start earns nothing new: "0 points earned" read as if the history earned none.
    earned = (
        f"{report.points_earned:,} points earned"
        if report.orders_earned
        else "the history's points earned at the first start"
    )
    console.print(
        f"loyalty: {report.customers:,} customers, {earned},"
        f" tiers {report.tiers} (qualifying spend of the year to {report.as_of:%Y-%m-%d})"
    )
    store, other = stores
    with container.uow() as uow:
        people = demo_people.set_up_people(
            uow, vault=vault_for(container.keyring), store_code=store, other_store_code=other
        )
    sign_ins = people.sign_ins
    if new_passwords:
        with container.uow() as uow:
            fresh = demo_people.new_passwords(uow, vault=vault_for(container.keyring))
        sign_ins = list(fresh)
    console.print(
        "sign in at the console's /signin, or POST /api/v1/auth/token (OAuth2 password);"
        " passwords are random for this install and shown only once (change them at /password):"
    )
    for role, username, password in sign_ins:
        shown = f"[bold]{password}[/]" if password else "(shown when it was set up)"
        console.print(f"  {role:16} {username:24} {shown}")
    if any(password is None for _r, _u, password in sign_ins):
        console.print("  lost a password? `omniretail demo --new-passwords` prints new ones")
    account = people.account
    console.print(
        f"one customer, online and in store {store}: GET /api/v1/customers/"
        f"{people.customer_id}/360 -> one profile, {account.available} points, {account.tier.tier}",
        soft_wrap=True,
    )
    return people.customer_id, account


def _orders(
    container: Runtime, customer_id: int, *, base: str, pickup_store: str
) -> DemoOrders | None:
    """The demo customer's open cart and orders in several states (made once)."""
    from omniretail.demo import orders as demo_orders
    from omniretail.demo.errors import TooLittleStock
    from omniretail.orders.service import provider_named
    from omniretail.routing.service import policy_from

    with container.read_uow() as uow:
        exists = demo_orders.demo_orders_exist(uow, customer_id)
    if exists:
        console.print("orders: the demo customer's orders exist; none added")
        with container.read_uow() as uow:
            made = demo_orders.read_demo_orders(uow, customer_id)
    else:
        try:
            with container.uow() as uow:
                made = demo_orders.create_demo_orders(
                    uow,
                    customer_id,
                    # The configured provider, as the composition root builds it.
                    payments=provider_named(container.settings.payment_provider),
                    policy=policy_from(container.settings),
                    actor=ACTOR,
                    pickup_store=pickup_store,
                )
        except TooLittleStock as exc:
            console.print(f"[yellow]orders: not created[/]: {exc.detail}")
            return None
        console.print(f"orders: created {len(made.orders)} orders and an open cart")
    for order in made.orders:
        steps = ", ".join(f"{f.method.value} {f.status}" for f in order.fulfilments)
        console.print(
            f"  {order.number} {order.status} ({steps}): {base}{order.tracking_url}",
            soft_wrap=True,
        )
    if made.cart_token:
        console.print(
            f"open cart: token [bold]{made.cart_token}[/] -> GET /api/v1/carts/{made.cart_token}",
            soft_wrap=True,
        )
    console.print(f"  orders: GET /api/v1/orders?customer_id={customer_id}")
    return made
