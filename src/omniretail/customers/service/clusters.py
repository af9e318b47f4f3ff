"""Resolving an id to the surviving profile of its merge cluster."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from omniretail.customers import repository as repo
from omniretail.customers.errors import (
    CustomerErased,
    UnknownCustomer,
)
from omniretail.customers.models import (
    Customer,
    CustomerStatus,
)
from omniretail.db.uow import UnitOfWork

# --- resolving ids -------------------------------------------------------------------------


def resolve_id(uow: UnitOfWork, customer_id: int) -> int:
    """The surviving profile's id for any id, alias or not (raises if unknown or erased, as
    ``require_root``, without loading the profile)."""
    return int(_live(repo.root_status(uow.session, customer_id), customer_id).id)


def cluster(uow: UnitOfWork, customer_id: int) -> list[int]:
    """Every id that belongs to this person now, the surviving profile first (one
    statement). Other domains aggregate their rows over these ids (orders keep the customer
    id they were placed with)."""
    return _ids_root_first(repo.cluster_of(uow.session, customer_id), customer_id)


def clusters(
    uow: UnitOfWork, customer_ids: Collection[int]
) -> tuple[dict[int, list[int]], dict[int, str]]:
    """``cluster`` for many ids in one statement: each live id's cluster, and why each other
    id is refused (unknown or erased)."""
    rows: dict[int, list[Any]] = {customer_id: [] for customer_id in customer_ids}
    for row in repo.clusters_of(uow.session, sorted(rows)):
        rows[row.asked].append(row)
    found: dict[int, list[int]] = {}
    refused: dict[int, str] = {}
    for customer_id, cluster_rows in rows.items():
        try:
            found[customer_id] = _ids_root_first(cluster_rows, customer_id)
        except (UnknownCustomer, CustomerErased) as exc:
            refused[customer_id] = exc.detail
    return found, refused


def _ids_root_first(rows: Sequence[Any], customer_id: int) -> list[int]:
    """A cluster's ids from its rows, the surviving profile's first; raises if unknown or
    erased."""
    root = root_row(rows, customer_id)
    return [root.id, *(r.id for r in rows if r.id != root.id)]


def root_row(rows: Sequence[Any], customer_id: int) -> Any:
    """The surviving profile among a cluster's rows; raises if unknown or erased."""
    return _live(next((r for r in rows if r.merged_into_id is None), None), customer_id)


def require_root(uow: UnitOfWork, customer_id: int) -> Customer:
    customer: Customer = _live(repo.root_customer(uow.session, customer_id), customer_id)
    return customer


def _live(root: Any, customer_id: int) -> Any:
    """``root`` (the surviving profile, or a row with its status) as found for
    ``customer_id``; raises if none was found or it was erased."""
    if root is None:
        raise UnknownCustomer(f"no customer with id {customer_id}", field="customer_id")
    if root.status == CustomerStatus.ERASED.value:
        raise CustomerErased(f"customer {customer_id} was erased", field="customer_id")
    return root


def customer_exists(uow: UnitOfWork, customer_id: int) -> bool:
    return repo.root_of(uow.session, customer_id) is not None
