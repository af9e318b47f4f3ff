"""The customer 360: the customer's profile with loyalty and the intelligence scores."""

from __future__ import annotations

from pydantic import Field

from omniretail.customers import service as profile
from omniretail.customers.schemas import Customer360
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import service as intelligence
from omniretail.intelligence.schemas import CustomerIntelligence
from omniretail.kernel.vault import PiiVault
from omniretail.loyalty import service as loyalty

OFFERS = 10  # products to offer, unless asked otherwise


class Customer360View(Customer360):
    intelligence: CustomerIntelligence = Field(
        description="segment, RFM, CLV, p_alive and products to offer, from the last batch"
        " run; the popular list, flagged, for a customer who withdrew consent to"
        " personalisation"
    )


def customer_360(
    uow: UnitOfWork, customer_id: int, *, vault: PiiVault, k: int = OFFERS
) -> Customer360View:
    """Profile, identities, consents, loyalty status, lifetime spend by channel, last orders,
    open returns, segment, CLV, p_alive and ``k`` recommendations."""
    view = profile.customer_360(uow, customer_id, vault=vault)
    cluster = [view.customer.id, *view.customer.aliases]
    view.loyalty = loyalty.account_status(uow, view.customer.id, cluster=cluster).model_dump(
        mode="json"
    )
    scores = intelligence.customer_intelligence(
        uow, view.customer.id, k, cluster=cluster, consents=view.consents
    )
    return Customer360View(**dict(view), intelligence=scores)
