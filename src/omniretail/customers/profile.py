"""The customer 360 read (the customers domain's part): profile, identities, consents,
lifetime spend by channel, last orders and open returns, in six indexed queries."""

from __future__ import annotations

from decimal import Decimal

from omniretail.customers import repository as repo
from omniretail.customers import service
from omniretail.customers.activity import activity_read
from omniretail.customers.crypto import PiiVault
from omniretail.customers.schemas import Customer360, SpendByChannel
from omniretail.db.uow import UnitOfWork


def customer_360(
    uow: UnitOfWork, customer_id: int, *, vault: PiiVault, orders: int = 5
) -> Customer360:
    root = service.require_root(uow, customer_id)
    session = uow.session
    ids = repo.cluster_ids(session, root.id)
    spend = [
        SpendByChannel(channel=channel, orders=count, spend=total)
        for channel, count, total in repo.spend_by_channel(session, ids)
    ]
    return Customer360(
        customer=service.customer_read(
            root, vault, ids[1:], resolved_from=customer_id if customer_id != root.id else None
        ),
        identities=[service.identity_read(i, vault) for i in repo.list_identities(session, ids)],
        consents=service.list_consents(uow, root.id),
        spend_by_channel=spend,
        lifetime_spend=sum((s.spend for s in spend), Decimal(0)),
        last_orders=[
            activity_read(a) for a in repo.timeline(session, ids, limit=orders, kinds=["order"])
        ],
        open_returns=[activity_read(a) for a in repo.open_returns(session, ids)],
    )
