"""What ``omniretail demo`` prints: the network and its channels, the opening stock, the
keys and links to start from, and the numbered tour with this install's orders and codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from omniretail.catalog import service as catalog
from omniretail.demo.data import FoundLog
from omniretail.demo.people import CUSTOMER_EMAIL
from omniretail.demo.reset import describe, embedded_database
from omniretail.demo.stock import StockSummary
from omniretail.history import service as history
from omniretail.runtime import Runtime

if TYPE_CHECKING:
    from omniretail.demo.orders import DemoOrders
    from omniretail.demo.pricing import TourOffer
    from omniretail.demo.support import DemoSupport
    from omniretail.loyalty.schemas import AccountRead


def print_stock(console: Console, summary: StockSummary) -> None:
    console.print(
        f"stock: received {summary.received.units:,} units on {summary.received.stock_rows:,}"
        f" stock records through the ledger ({summary.dc_skus:,} SKUs at the DC, the"
        f" {summary.store_skus:,} best sellers in every store; {summary.policies:,} store"
        " replenishment policies)"
    )


def print_summary(
    console: Console, container: Runtime, found: FoundLog, *, host: str, port: int
) -> None:
    with container.read_uow() as uow:
        counts = history.table_counts(uow)
        locations = catalog.list_locations(uow)
        channels = catalog.list_channels(uow)
    network_table = Table(
        "code", "name", "kind", "address", "services", title="Demo network", title_justify="left"
    )
    for loc in locations:
        if not loc.code.startswith("DEMO-"):
            continue
        caps = loc.capabilities
        services = [
            name
            for name, on in (
                ("ships", caps.ships_to_home),
                ("pickup", caps.pickup),
                ("ship-to-store", caps.ship_to_store_target),
                ("returns", caps.accepts_returns),
            )
            if on
        ]
        network_table.add_row(
            loc.code, loc.name, loc.kind.value, loc.address, ", ".join(services) or "-"
        )
    channel_table = Table(
        "channel",
        "kind",
        "hold (min)",
        "buffer",
        "sells from",
        title="Channels",
        title_justify="left",
    )
    for ch in channels:
        channel_table.add_row(
            ch.code,
            ch.kind.value,
            str(ch.reservation_ttl_seconds // 60),
            str(ch.atp_buffer),
            f"{len(ch.location_codes)} location{'' if len(ch.location_codes) == 1 else 's'}",
        )
    console.print(network_table)
    console.print(channel_table)
    console.print(
        f"history from {found.path.name}: {counts['orders']:,} orders,"
        f" {counts['order_lines']:,} order lines, {counts['customers']:,} customers,"
        f" {counts['skus']:,} SKUs"
    )
    base = f"http://{host}:{port}"
    console.print(f"console: [bold]{base}/[/] (HQ, store app, customer pages: sign-ins below)")
    console.print(f"API docs: [bold]{base}/docs[/]")
    console.print(f"database: {describe(container.settings)}", highlight=False, soft_wrap=True)
    if embedded_database(container.settings) is not None:
        console.print("  start over: `omniretail demo --reset` (deletes it and builds it afresh)")


def print_api_key(console: Console, *, host: str, port: int, api_key: str) -> None:
    """The run's admin API key, after the sign-ins (it is the demo admin's: it counts against
    their per-person limits, ``demo.access``)."""
    base = f"http://{host}:{port}"
    # Never wrapped: a key or a command split over two lines cannot be copied.
    console.print(
        f"admin API key for this run (shown once; 'Authorize' in the docs): [bold]{api_key}[/]",
        soft_wrap=True,
    )
    console.print(
        f"  try: curl -H 'X-API-Key: {api_key}'"
        f" '{base}/api/v1/inventory/availability?sku=85123A&channel=WEB'",
        soft_wrap=True,
        highlight=False,
    )


def print_tour(
    console: Console,
    base: str,
    customer_id: int,
    account: AccountRead,
    made: DemoOrders | None,
    stores: tuple[str, str],
    offer: TourOffer | None = None,
    service: DemoSupport | None = None,
) -> None:
    """The story, step by step, with the links and sign-ins that follow it."""
    from omniretail.demo.orders import CHANNEL as WEB  # the demo's web orders' channel

    store, other = stores

    def say(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    say(f"tour: sign in at {base}/signin as each person in turn (passwords above)")
    say(
        f"  1. {CUSTOMER_EMAIL}: {base}/account -> web and store orders as one person,"
        f" {account.available:,} points, {account.tier.tier} ({account.tier.basis})"
    )
    # The demo's web click & collect order: on a later start the customer's orders include
    # what the tour made (a till sale is collected at once, a web order may wait to be
    # prepared), so one still waiting with its code comes first, else the demo's own (oldest).
    pickups = [
        o
        for o in (made.orders if made else [])  # newest first
        if o.channel == WEB and o.fulfilments and o.fulfilments[0].method.value == "pickup_in_store"
    ]
    codes = made.pickup_codes if made else {}
    pickup = next((o for o in pickups if o.number in codes), pickups[-1] if pickups else None)
    if pickup is not None:
        f = pickup.fulfilments[0]
        code = codes.get(pickup.number)
        mine, track = f"{base}/account/orders/{pickup.number}", f"{base}{pickup.tracking_url}"
        say(
            f"  2. web order {pickup.number}: click & collect at {f.pickup_location},"
            f" {f.status.replace('_', ' ')}, "
            + (
                f"pickup code {code} (also in her email and on {mine};"
                f" not on its tracking page {track})"
                if code
                else f"no pickup code waiting (her order's page {mine}; tracking page {track})"
            )
        )
        if f.pickup_location != store:
            say(
                f"     (associate works at {store}, not {f.pickup_location}: start over with"
                " `omniretail demo --reset` for a matching set-up)"
            )
        say(
            f"  3. associate (works at {store}): {base}/store/orders/{pickup.number}"
            + (
                f" -> enter code {code} and hand it over"
                if code
                else f" -> {f.status.replace('_', ' ')} already (`omniretail demo --reset` builds"
                " the demo afresh with an order waiting)"
            )
        )
        say(
            f"  4. associate2 (works at {other}, another store): {base}/store/returns/"
            f"{pickup.number} -> take the items back; the refund and the points follow"
        )
        say(f"  5. {CUSTOMER_EMAIL}: {base}/account -> the order returned, points adjusted")
    say(
        f"  6. admin: {base}/hq/customers/{customer_id} (one profile, points, tier and the"
        f" period it counts), {base}/hq/planning (press 'Run the plan now': what to order or"
        f" transfer), {base}/hq (dashboard)"
    )
    say(
        f"  7. anyone: {base}/shop -> search, then sign up at {base}/signup -> the emailed"
        " code is printed in this terminal (no mail server); buy with the test card"
    )
    say(
        f"  8. associate: {base}/store/till -> scan or type a SKU, find {CUSTOMER_EMAIL}, take cash"
    )
    if offer is not None:
        say(
            f"  9. {offer.story(base)}; admin: {base}/hq/pricing/promotions -> the promotions"
            " in force with their uses, discount and revenue; each one's page: its orders"
        )
    say(
        f" 10. marketer: {base}/hq/journeys -> the classic journeys; the welcome series and the"
        " abandoned cart are live: sign up in the shop, or leave a basket for an hour, and the"
        f" journey's run shows on its page; {base}/hq/segments -> build a segment with a live"
        " count (the win-back journey's segment is there)"
    )
    handed = service.handed_over() if service is not None else None
    if handed is not None:
        page = f"{base}/hq/desk/conversations/{handed.id}"
        order = f" and order {handed.order_number} with its tracking" if handed.order_number else ""
        say(
            f" 11. agent: {base}/hq/desk -> the queue (an email asking where an order is, the"
            f" chat the assistant handed over); open {page} -> the customer{order} beside the"
            f" chat; {page}?canned=damaged-item puts a canned reply in the box: send it as"
            " resolved"
        )
