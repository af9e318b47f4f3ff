"""The customer tables as Core tables, the profile columns, and the alias-resolving subquery."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    Table,
    bindparam,
    func,
    select,
)

from omniretail.customers.models import (
    Activity,
    Consent,
    Customer,
    Identity,
)

customers = cast(Table, Customer.__table__)
activity = cast(Table, Activity.__table__)
identities = cast(Table, Identity.__table__)
consents = cast(Table, Consent.__table__)

# The columns a profile read needs (the 360, the profile route): no ORM objects on reads.
PROFILE_COLUMNS = (
    customers.c.id,
    customers.c.status,
    customers.c.merged_into_id,
    customers.c.customer_number,
    customers.c.country,
    customers.c.created_at,
    customers.c.name_enc,
    customers.c.address_enc,
    customers.c.birth_date_enc,
    customers.c.home_store,
)


def _root_of() -> Any:
    """Scalar subquery: the surviving profile ``:customer_id`` leads to."""
    asked = customers.alias("asked")
    return (
        select(func.coalesce(asked.c.merged_into_id, asked.c.id))
        .where(asked.c.id == bindparam("customer_id"))
        .scalar_subquery()
    )
