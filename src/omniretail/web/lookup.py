"""Finding a customer from a form (by email, phone, loyalty card or id): shared by the HQ
customer 360 and the store app."""

from __future__ import annotations

from fastapi import Request

from omniretail.customers import service as customers
from omniretail.customers.schemas import IdentityKind
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import vault_for
from omniretail.web.deps import read
from omniretail.web.session import container_of


def find_customer_id(request: Request, kind: str, value: str) -> int:
    """A customer by identifier (through the blind index) or by id; raises the domain's
    not-found problem on the field ``value``."""
    value = value.strip()
    if kind == "id":
        try:
            number = int(value)
        except ValueError:
            raise DomainError("a customer id is a number", field="value") from None
        return read(request, lambda uow: customers.resolve_id(uow, number))
    try:
        identity = IdentityKind(kind)
    except ValueError:
        raise DomainError("choose what to look up by", field="kind") from None
    if not value:
        raise DomainError(f"enter the {identity.value.replace('_', ' ')}", field="value")
    vault = vault_for(container_of(request).keyring)
    return read(request, lambda uow: customers.find_customer(uow, identity, value, vault=vault))
