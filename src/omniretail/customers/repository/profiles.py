"""Queries over profiles and their merge clusters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Row,
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session

from omniretail.customers.models import (
    AnonymousLink,
    Customer,
    CustomerStatus,
)
from omniretail.customers.repository.tables import (
    PROFILE_COLUMNS,
    _root_of,
    consents,
    customers,
    identities,
)
from omniretail.db.sql import among, listed, listed_statement, listed_values, matches, statement

# --- profiles and clusters -----------------------------------------------------------------


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def add_customer(session: Session, customer: Customer) -> Customer:
    session.add(customer)
    session.flush()
    return customer


# Built once: every signed-in shopper's cart creation runs it.
_ID_AND_ROOT = select(customers.c.id, customers.c.merged_into_id).where(
    customers.c.id == bindparam("customer_id", type_=customers.c.id.type)
)


def root_of(session: Session, customer_id: int) -> int | None:
    """The surviving profile an id leads to (aliases point straight at their root)."""
    row = session.execute(_ID_AND_ROOT, {"customer_id": customer_id}).one_or_none()
    if row is None:
        return None
    return int(row.merged_into_id or row.id)


def root_status(session: Session, customer_id: int) -> Row[Any] | None:
    """(id, status) of the surviving profile an id leads to, in one statement: what
    ``root_customer`` tells without loading the profile."""
    stmt = statement(
        session,
        "root_status",
        lambda _pg: select(customers.c.id, customers.c.status).where(customers.c.id == _root_of()),
    )
    return session.execute(stmt, {"customer_id": customer_id}).one_or_none()


def root_customer(session: Session, customer_id: int) -> Customer | None:
    """The surviving profile an id leads to, in one statement."""
    stmt = statement(
        session, "root_customer", lambda _pg: select(Customer).where(Customer.id == _root_of())
    )
    return session.scalars(stmt, {"customer_id": customer_id}).first()


def cluster_of(session: Session, customer_id: int, *, profile: bool = False) -> list[Row[Any]]:
    """Every profile of the cluster ``customer_id`` belongs to (the root, whose
    ``merged_into_id`` is NULL, and its aliases), in one statement, ordered by id; empty when
    the id is unknown. Columns: id, status, merged_into_id, or ``PROFILE_COLUMNS``."""

    def build(_pg: bool) -> Any:
        root = _root_of()
        wanted = (
            PROFILE_COLUMNS
            if profile
            else (customers.c.id, customers.c.status, customers.c.merged_into_id)
        )
        return (
            select(*wanted)
            .where(or_(customers.c.id == root, customers.c.merged_into_id == root))
            .order_by(customers.c.id)
        )

    stmt = statement(session, f"cluster_of:{profile}", build)
    return list(session.execute(stmt, {"customer_id": customer_id}))


def clusters_of(session: Session, customer_ids: Sequence[int]) -> list[Row[Any]]:
    """``cluster_of`` for many ids in one statement: (asked, id, status, merged_into_id) for
    every profile of each asked id's cluster, ordered by asked id and id."""

    def build(pg: bool, count: int) -> Any:
        asked = customers.alias("asked")
        root = func.coalesce(asked.c.merged_into_id, asked.c.id)
        return (
            select(
                asked.c.id.label("asked"),
                customers.c.id,
                customers.c.status,
                customers.c.merged_into_id,
            )
            .select_from(asked)
            .join(customers, or_(customers.c.id == root, customers.c.merged_into_id == root))
            .where(listed(asked.c.id, "ids", count, pg))
            .order_by(asked.c.id, customers.c.id)
        )

    stmt = listed_statement(session, "clusters_of", len(customer_ids), build)
    return list(session.execute(stmt, listed_values("ids", customer_ids)))


def cluster_with_consents(session: Session, customer_id: int) -> list[Row[Any]]:
    """``cluster_of(profile=True)`` with the surviving profile's current consent answers in
    the same statement: the root's row repeats once per answer (purpose, channel, granted,
    updated_at; NULL without any), each alias appears once."""

    def build(_pg: bool) -> Any:
        root = _root_of()
        k = consents.c
        return (
            select(*PROFILE_COLUMNS, k.purpose, k.channel, k.granted, k.updated_at)
            .select_from(
                customers.outerjoin(
                    consents,
                    and_(k.customer_id == customers.c.id, customers.c.merged_into_id.is_(None)),
                )
            )
            .where(or_(customers.c.id == root, customers.c.merged_into_id == root))
            .order_by(customers.c.id, k.purpose, k.channel)
        )

    stmt = statement(session, "cluster_with_consents", build)
    return list(session.execute(stmt, {"customer_id": customer_id}))


def profile_section(session: Session, customer_id: int) -> tuple[list[Row[Any]], list[Row[Any]]]:
    """The 360's "who" in one statement: the rows of ``cluster_with_consents`` and the
    identities of every profile of the cluster (``identity_rows``' columns, by id). Both lists
    are empty when the id is unknown."""

    def build(_pg: bool) -> Any:
        root = _root_of()
        k = consents.c
        i = identities.c
        in_cluster = or_(customers.c.id == root, customers.c.merged_into_id == root)
        shared = (*PROFILE_COLUMNS, k.purpose, k.channel, k.granted, k.updated_at)
        identity_only: tuple[Any, ...] = (
            i.customer_id,
            i.kind,
            i.scope,
            i.value_enc,
            i.verified,
            i.verified_via,
            i.verified_at,
            i.verified_by,
            i.verification_ref,
        )
        profiles = (
            select(
                literal(0).label("part"),
                *shared,
                *(cast_(null(), c.type).label(c.name) for c in identity_only),
            )
            .select_from(
                customers.outerjoin(
                    consents,
                    and_(k.customer_id == customers.c.id, customers.c.merged_into_id.is_(None)),
                )
            )
            .where(in_cluster)
        )
        # An identity row fills ``id`` and ``created_at`` with its own; the rest is NULL.
        own = {customers.c.id.name: i.id, customers.c.created_at.name: i.created_at}
        of_identities = select(
            literal(1), *(own.get(c.name, cast_(null(), c.type)) for c in shared), *identity_only
        ).where(i.customer_id.in_(select(customers.c.id).where(in_cluster)))
        parts = union_all(profiles, of_identities).subquery()
        return select(parts).order_by(parts.c.part, parts.c.id, parts.c.purpose, parts.c.channel)

    stmt = statement(session, "profile_section", build)
    rows = list(session.execute(stmt, {"customer_id": customer_id}))
    return [r for r in rows if r.part == 0], [r for r in rows if r.part == 1]


def cluster_ids(session: Session, root_id: int) -> list[int]:
    """The root and every profile merged into it, root first."""
    aliases = session.scalars(
        select(customers.c.id).where(customers.c.merged_into_id == root_id).order_by(customers.c.id)
    )
    return [root_id, *aliases]


def lock_customers(session: Session, ids: Sequence[int]) -> list[Customer]:
    """SELECT ... FOR UPDATE in id order, so two merges never deadlock."""
    return list(
        session.scalars(
            select(Customer)
            .where(Customer.id.in_(list(ids)))
            .order_by(Customer.id)
            .with_for_update()
        )
    )


def repoint_aliases(session: Session, from_root: int, to_root: int) -> list[int]:
    rows = session.scalars(
        update(customers)
        .where(customers.c.merged_into_id == from_root)
        .values(merged_into_id=to_root)
        .returning(customers.c.id)
    )
    return sorted(int(r) for r in rows)


def restore_aliases(session: Session, ids: Sequence[int], *, from_root: int, to_root: int) -> None:
    """Undo of ``repoint_aliases``: only rows still pointing where the merge left them."""
    if ids:
        session.execute(
            update(customers)
            .where(customers.c.id.in_(list(ids)), customers.c.merged_into_id == from_root)
            .values(merged_into_id=to_root)
        )


def existing_ids(session: Session, ids: Iterable[int]) -> set[int]:
    wanted = list(set(ids))
    if not wanted:
        return set()
    return set(session.scalars(select(customers.c.id).where(customers.c.id.in_(wanted))))


def roots_of(session: Session, ids: Iterable[int]) -> dict[int, int]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(customers.c.id, customers.c.merged_into_id).where(
            among(session, customers.c.id, wanted)
        )
    )
    return {int(r.id): int(r.merged_into_id or r.id) for r in rows}


def batch_owners(
    session: Session,
    customer_ids: Iterable[int],
    anonymous_ids: Sequence[str],
    purpose: str,
    channels: Sequence[str],
) -> tuple[dict[str, int], dict[int, bool]]:
    """One statement for a batch of events: the customers these anonymous ids are linked to,
    and for each existing id among ``customer_ids`` and those linked customers, whether its
    surviving profile, not erased, has granted ``purpose`` on one of ``channels`` (unknown ids
    are absent from the answer)."""
    wanted = sorted(set(customer_ids))
    if not wanted and not anonymous_ids:
        return {}, {}

    def build(pg: bool) -> Any:
        links = cast(Table, AnonymousLink.__table__).c
        linked = matches(links.anonymous_id, "anonymous_ids", pg, String())
        root = func.coalesce(customers.c.merged_into_id, customers.c.id)
        granted = (
            exists()
            .where(
                consents.c.customer_id == root,
                consents.c.purpose == bindparam("purpose"),
                matches(consents.c.channel, "channels", pg, String()),
                consents.c.granted.is_(True),
            )
            .correlate(customers)
        )
        erased = customers.c.status == CustomerStatus.ERASED.value
        of_links = select(
            literal(0).label("part"),
            links.anonymous_id,
            links.customer_id,
            cast_(null(), consents.c.granted.type).label("granted"),
        ).where(linked)
        of_owners = select(
            literal(1),
            cast_(null(), links.anonymous_id.type),
            customers.c.id,
            case((erased, false()), else_=granted),
        ).where(
            or_(
                matches(customers.c.id, "ids", pg),
                customers.c.id.in_(select(links.customer_id).where(linked)),
            )
        )
        return union_all(of_links, of_owners)

    rows = session.execute(
        statement(session, "batch_owners", build),
        {
            "ids": wanted,
            "anonymous_ids": list(anonymous_ids),
            "purpose": purpose,
            "channels": list(channels),
        },
    )
    links: dict[str, int] = {}
    allowed: dict[int, bool] = {}
    for part, anonymous_id, customer_id, granted in rows:
        if part == 0:
            links[anonymous_id] = int(customer_id)
        else:
            allowed[int(customer_id)] = bool(granted)
    return links, allowed


def find_by_name_postcode(session: Session, index: str, exclude: Sequence[int]) -> list[int]:
    return list(
        session.scalars(
            select(customers.c.id)
            .where(
                customers.c.name_postcode_index == index,
                customers.c.status == CustomerStatus.ACTIVE.value,
                customers.c.id.not_in(list(exclude)),
            )
            .order_by(customers.c.id)
        )
    )


def by_search_index(session: Session, column: str, index: str, limit: int) -> list[Row[Any]]:
    """Active profiles (survivors, so each person once) whose ``column`` (``surname_index``
    or ``postcode_index``) is ``index``, with what a result line shows."""
    return list(
        session.execute(
            select(*PROFILE_COLUMNS)
            .where(
                customers.c[column] == index,
                customers.c.status == CustomerStatus.ACTIVE.value,
            )
            .order_by(customers.c.id)
            .limit(limit)
        )
    )


def by_birthday(
    session: Session,
    month_day: str,
    store_codes: Sequence[str] | None,
    on_file_before: datetime | None = None,
) -> list[tuple[int, str | None]]:
    """Active customers born on ``month_day``; ``store_codes`` None means "no home store";
    ``on_file_before``: whose birthday did not change after it."""
    stmt = select(customers.c.id, customers.c.home_store).where(
        customers.c.birthday == month_day, customers.c.status == CustomerStatus.ACTIVE.value
    )
    if on_file_before is not None:
        since = customers.c.birthday_since
        stmt = stmt.where(or_(since.is_(None), since <= on_file_before))
    if store_codes is None:
        stmt = stmt.where(customers.c.home_store.is_(None))
    else:
        stmt = stmt.where(customers.c.home_store.in_(list(store_codes)))
    return [(int(r.id), r.home_store) for r in session.execute(stmt.order_by(customers.c.id))]


def list_customer_ids(session: Session, *, after: int = 0, limit: int = 1000) -> list[int]:
    return list(
        session.scalars(
            select(customers.c.id)
            .where(customers.c.id > after, customers.c.status == CustomerStatus.ACTIVE.value)
            .order_by(customers.c.id)
            .limit(limit)
        )
    )


def ids_by_customer_number(session: Session, numbers: Iterable[int]) -> dict[int, int]:
    wanted = list(set(numbers))
    if not wanted:
        return {}
    rows = session.execute(
        select(customers.c.customer_number, customers.c.id).where(
            customers.c.customer_number.in_(wanted)
        )
    )
    return {int(r.customer_number): int(r.id) for r in rows}
