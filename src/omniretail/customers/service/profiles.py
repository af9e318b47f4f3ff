"""Profiles: create, update, read, find by identifier."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row

from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownLocation
from omniretail.catalog.schemas import LocationKind
from omniretail.customers import repository as repo
from omniretail.customers.errors import (
    UnknownCustomer,
)
from omniretail.customers.events import (
    Registered,
    Updated,
)
from omniretail.customers.models import (
    Customer,
    CustomerStatus,
    IdentityKind,
)
from omniretail.customers.schemas import (
    Address,
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    CustomerWithResolution,
    Resolution,
)
from omniretail.customers.service.clusters import require_root, resolve_id, root_row
from omniretail.customers.service.identities import _queue_review, add_identity, takes_part
from omniretail.customers.service.search import POSTCODE, SURNAME, search_index
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import InvalidRequest
from omniretail.kernel.vault import PiiVault

# --- profiles ------------------------------------------------------------------------------


def create_customer(
    uow: UnitOfWork, data: CustomerCreate, *, vault: PiiVault, actor: str
) -> CustomerWithResolution:
    _require_store(uow, data.home_store)
    customer = Customer(created_at=uow.now, status=CustomerStatus.ACTIVE.value, country=None)
    _apply_profile(customer, data, vault)
    # Given with a new profile (a till sign-up by staff) it waits like a change: else a new
    # profile would be a birthday coupon on demand.
    customer.birthday_since = uow.now if customer.birthday else None
    customer.country = data.country or (data.address.country if data.address else None)
    repo.add_customer(uow.session, customer)
    uow.record(Registered(customer_id=customer.id, actor=actor))
    resolutions = [_review_name_postcode(uow, customer)]
    for identity in data.identities:
        resolutions.append(add_identity(uow, customer.id, identity, vault=vault, actor=actor))
    survivor = resolve_id(uow, customer.id)
    return CustomerWithResolution(
        customer=get_customer(uow, survivor, vault=vault),
        resolutions=[r for r in resolutions if r is not None],
    )


def update_customer(
    uow: UnitOfWork, customer_id: int, data: CustomerUpdate, *, vault: PiiVault, actor: str
) -> CustomerRead:
    customer = require_root(uow, customer_id)
    if "home_store" in data.model_fields_set:
        _require_store(uow, data.home_store)
    birthday = customer.birthday
    _apply_profile(customer, data, vault)
    if customer.birthday != birthday:
        customer.birthday_since = uow.now if customer.birthday else None
    customer.updated_at = uow.now
    uow.session.flush()
    _review_name_postcode(uow, customer)
    uow.record(Updated(customer_id=customer.id, actor=actor))
    return get_customer(uow, customer.id, vault=vault)


def get_customer(uow: UnitOfWork, customer_id: int, *, vault: PiiVault) -> CustomerRead:
    """The surviving profile and its aliases, read in one statement."""
    uow.session.flush()
    rows = repo.cluster_of(uow.session, customer_id, profile=True)
    root = root_row(rows, customer_id)
    return customer_read(
        root,
        vault,
        [r.id for r in rows if r.id != root.id],
        resolved_from=customer_id if customer_id != root.id else None,
    )


def find_customer(uow: UnitOfWork, kind: IdentityKind, value: str, *, vault: PiiVault) -> int:
    """Look-up by email, phone, card... through the blind index; verified owners first (a
    customer's own unverified claim finds nobody: ``takes_part``)."""
    matches = repo.find_identities(
        uow.session, kind.value, "", vault.blind_index(kind.value, value)
    )
    matches = [i for i in matches if takes_part(i)]
    matches.sort(key=lambda i: (not i.verified, i.id))
    for identity in matches:
        root = repo.root_of(uow.session, identity.customer_id)
        customer = repo.get_customer(uow.session, root) if root else None
        if customer is not None and customer.status == CustomerStatus.ACTIVE.value:
            return customer.id
    what = kind.value.replace("_", " ")  # "loyalty card", as the look-up form names it
    raise UnknownCustomer(f"no customer with this {what}", field="value")


def customer_read(
    customer: Customer | Row[Any],
    vault: PiiVault,
    aliases: list[int],
    *,
    resolved_from: int | None = None,
) -> CustomerRead:
    address = vault.decrypt("address", customer.address_enc)
    birth = vault.decrypt("birth_date", customer.birth_date_enc)
    return CustomerRead(
        id=customer.id,
        status=customer.status,
        customer_number=customer.customer_number,
        name=vault.decrypt("name", customer.name_enc),
        address=Address.model_validate_json(address) if address else None,
        birth_date=date.fromisoformat(birth) if birth else None,
        home_store=customer.home_store,
        country=customer.country,
        created_at=customer.created_at,
        aliases=aliases,
        resolved_from=resolved_from,
    )


def _require_store(uow: UnitOfWork, code: str | None) -> None:
    """A home store is one of the retailer's stores (not a warehouse, a locker or a typo)."""
    if not code or not code.strip():
        return
    try:
        kind = catalog.get_location(uow, code.strip().upper()).kind
    except UnknownLocation:
        kind = None
    if kind != LocationKind.STORE:
        raise InvalidRequest(
            f"home_store {code.strip()!r} is not one of our stores", field="home_store"
        )


def _apply_profile(
    customer: Customer, data: CustomerCreate | CustomerUpdate, vault: PiiVault
) -> None:
    fields = data.model_fields_set
    if "name" in fields or isinstance(data, CustomerCreate):
        customer.name_enc = vault.encrypt("name", data.name)
    if "address" in fields or isinstance(data, CustomerCreate):
        customer.address_enc = vault.encrypt(
            "address", data.address.model_dump_json() if data.address else None
        )
    if "birth_date" in fields or isinstance(data, CustomerCreate):
        birth = data.birth_date
        customer.birth_date_enc = vault.encrypt("birth_date", birth.isoformat() if birth else None)
        customer.birthday = f"{birth:%m-%d}" if birth else None
    if "home_store" in fields or isinstance(data, CustomerCreate):
        customer.home_store = data.home_store.strip().upper() if data.home_store else None
    if "name" in fields or isinstance(data, CustomerCreate):
        customer.surname_index = search_index(vault, SURNAME, data.name)
    if "address" in fields or isinstance(data, CustomerCreate):
        postcode = data.address.postcode if data.address else None
        customer.postcode_index = search_index(vault, POSTCODE, postcode)
    if data.name and data.address:
        customer.name_postcode_index = vault.blind_index(
            "name_postcode", f"{data.name}|{data.address.postcode.replace(' ', '')}"
        )


def _review_name_postcode(uow: UnitOfWork, customer: Customer) -> Resolution | None:
    """The same name and postcode is a claim, never proof: a person reviews it."""
    if customer.name_postcode_index is None:
        return None
    ids = repo.cluster_ids(uow.session, customer.id)
    others = repo.find_by_name_postcode(uow.session, customer.name_postcode_index, ids)
    if not others:
        return None
    reviews = [_queue_review(uow, customer.id, other, "same name and postcode") for other in others]
    return Resolution(
        outcome="queued",
        rule="same name and postcode",
        explanation="another profile has the same name and postcode; claimed data only, so a"
        " person decides",
        customer_id=customer.id,
        matched_customer_ids=others,
        review_ids=[r for r in reviews if r is not None],
    )
