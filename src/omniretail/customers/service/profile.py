"""The customer 360 read (the customers domain's part): profile, identities, consents,
lifetime spend by channel, last orders and open returns.

Two statements, each reading only the columns it shows: the cluster with the profile
columns, the consent answers and the identities, and the purchases (spend by channel, last
orders, open returns). Only the surviving profile's PII and the identities shown are
decrypted."""

from __future__ import annotations

from decimal import Decimal

from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import CATALOG_CURRENCY
from omniretail.customers import repository as repo
from omniretail.customers.schemas import (
    Customer360,
    IdentityRead,
    SpendByChannel,
    SpendInCurrency,
)
from omniretail.customers.service.activity import activity_read
from omniretail.customers.service.clusters import root_row
from omniretail.customers.service.consents import consent_read
from omniretail.customers.service.identities import identity_read
from omniretail.customers.service.profiles import customer_read
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault


def customer_360(
    uow: UnitOfWork, customer_id: int, *, vault: PiiVault, orders: int = 5
) -> Customer360:
    session = uow.session
    rows, identity_rows = repo.profile_section(session, customer_id)
    root = root_row(rows, customer_id)
    ids = list(dict.fromkeys([root.id, *(r.id for r in rows)]))
    consents = [consent_read(r) for r in rows if r.id == root.id and r.purpose is not None]
    spend_rows, last, open_returns = repo.purchases_section(session, ids, orders=orders)
    currencies = {c.code: c.currency for c in catalog.list_channels(uow)}
    spend = [
        SpendByChannel(
            channel=channel,
            orders=count,
            spend=total,
            currency=currencies.get(channel, CATALOG_CURRENCY),
        )
        for channel, count, total in spend_rows
    ]
    by_currency = spend_by_currency(spend)
    return Customer360(
        customer=customer_read(
            root, vault, ids[1:], resolved_from=customer_id if customer_id != root.id else None
        ),
        identities=one_per_value([identity_read(i, vault) for i in identity_rows]),
        consents=consents,
        spend_by_channel=spend,
        lifetime_spend_by_currency=by_currency,
        lifetime_spend=(
            by_currency[0].spend if len(by_currency) == 1 else None if by_currency else Decimal(0)
        ),
        last_orders=[activity_read(a) for a in last],
        open_returns=[activity_read(a) for a in open_returns],
    )


def spend_by_currency(spend: list[SpendByChannel]) -> list[SpendInCurrency]:
    totals: dict[str, Decimal] = {}
    for s in spend:
        totals[s.currency] = totals.get(s.currency, Decimal(0)) + s.spend
    return [SpendInCurrency(currency=c, spend=amount) for c, amount in sorted(totals.items())]


def one_per_value(identities: list[IdentityRead]) -> list[IdentityRead]:
    """A person's identities with each value once (merged profiles often share an email):
    the verified row when there is one, else the earliest, in the order they came."""
    best: dict[tuple[str, str, str], IdentityRead] = {}
    for identity in identities:
        key = (identity.kind.value, identity.scope, identity.value.strip().casefold())
        kept = best.get(key)
        if kept is None or (identity.verified and not kept.verified):
            best[key] = identity
    chosen = {id(i) for i in best.values()}
    return [i for i in identities if id(i) in chosen]
