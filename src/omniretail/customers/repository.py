"""The only place that builds queries over the customer tables."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Row,
    String,
    Table,
    and_,
    any_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from omniretail.customers.models import (
    Activity,
    AnonymousLink,
    Consent,
    ConsentEvent,
    Customer,
    CustomerStatus,
    Identity,
    Merge,
    MergeReview,
    PrivacyRequest,
    VerificationCode,
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


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_STATEMENTS: dict[tuple[str, str], Any] = {}


def statement(session: Session, name: str, build: Callable[[bool], Any]) -> Any:
    """A statement of the hot read and ingest paths, built once per dialect with named
    parameters (``build(postgres)``): SQLAlchemy caches the compiled form, but building a
    statement anew on every call costs more than running it."""
    key = (session.get_bind().dialect.name, name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build(key[0] == "postgresql")
    return stmt


def matches(column: Any, name: str, postgres: bool, element: Any = None) -> Any:
    """``column IN :name`` (a list). On PostgreSQL ``column = ANY(:name)``: one array
    parameter, so the statement text is the same however many values there are and the server
    keeps it prepared."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(element or BigInteger())))
    return column.in_(bindparam(name, expanding=True))


def _root_of() -> Any:
    """Scalar subquery: the surviving profile ``:customer_id`` leads to."""
    asked = customers.alias("asked")
    return (
        select(func.coalesce(asked.c.merged_into_id, asked.c.id))
        .where(asked.c.id == bindparam("customer_id"))
        .scalar_subquery()
    )


# --- profiles and clusters -----------------------------------------------------------------


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def add_customer(session: Session, customer: Customer) -> Customer:
    session.add(customer)
    session.flush()
    return customer


def root_of(session: Session, customer_id: int) -> int | None:
    """The surviving profile an id leads to (aliases point straight at their root)."""
    row = session.execute(
        select(customers.c.id, customers.c.merged_into_id).where(customers.c.id == customer_id)
    ).one_or_none()
    if row is None:
        return None
    return int(row.merged_into_id or row.id)


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
        select(customers.c.id, customers.c.merged_into_id).where(customers.c.id.in_(wanted))
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


def by_birthday(
    session: Session, month_day: str, store_codes: Sequence[str] | None
) -> list[tuple[int, str | None]]:
    """Active customers born on ``month_day``; ``store_codes`` None means "no home store"."""
    stmt = select(customers.c.id, customers.c.home_store).where(
        customers.c.birthday == month_day, customers.c.status == CustomerStatus.ACTIVE.value
    )
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


# --- identities ------------------------------------------------------------------------------


def add_identity(session: Session, identity: Identity) -> Identity:
    session.add(identity)
    session.flush()
    return identity


def get_identity(session: Session, identity_id: int) -> Identity | None:
    return session.get(Identity, identity_id)


def identity_rows(session: Session, customer_ids: Sequence[int]) -> list[Row[Any]]:
    """The columns a read shows (no blind index), without ORM objects."""

    def build(pg: bool) -> Any:
        c = identities.c
        return (
            select(
                c.id,
                c.customer_id,
                c.kind,
                c.scope,
                c.value_enc,
                c.verified,
                c.verified_via,
                c.verified_at,
                c.verified_by,
                c.verification_ref,
                c.created_at,
            )
            .where(matches(c.customer_id, "ids", pg))
            .order_by(c.id)
        )

    stmt = statement(session, "identity_rows", build)
    return list(session.execute(stmt, {"ids": list(customer_ids)}))


def list_identities(session: Session, customer_ids: Sequence[int]) -> list[Identity]:
    return list(
        session.scalars(
            select(Identity)
            .where(Identity.customer_id.in_(list(customer_ids)))
            .order_by(Identity.id)
        )
    )


def find_identities(session: Session, kind: str, scope: str, value_index: str) -> list[Identity]:
    return list(
        session.scalars(
            select(Identity)
            .where(
                Identity.kind == kind, Identity.scope == scope, Identity.value_index == value_index
            )
            .order_by(Identity.id)
        )
    )


def delete_identities(session: Session, customer_id: int) -> int:
    owned = select(Identity.id).where(Identity.customer_id == customer_id)
    session.execute(delete(VerificationCode).where(VerificationCode.identity_id.in_(owned)))
    result = session.execute(delete(Identity).where(Identity.customer_id == customer_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- verification codes ---------------------------------------------------------------------


def add_code(session: Session, code: VerificationCode) -> VerificationCode:
    session.add(code)
    session.flush()
    return code


def codes_sent_since(
    session: Session,
    *,
    identity_id: int,
    customer_ids: Sequence[int],
    window: datetime,
    day: datetime,
) -> tuple[int, int]:
    """(codes for this identity since ``window``, codes for these profiles since ``day``),
    whatever became of them, in one statement."""
    v = VerificationCode
    row = session.execute(
        select(
            func.count().filter(and_(v.identity_id == identity_id, v.created_at > window)),
            func.count(),
        ).where(v.customer_id.in_(list(customer_ids)), v.created_at > day)
    ).one()
    return int(row[0]), int(row[1])


def supersede_codes(session: Session, identity_id: int) -> None:
    session.execute(
        update(VerificationCode)
        .where(VerificationCode.identity_id == identity_id, VerificationCode.status == "pending")
        .values(status="superseded", code_enc=None)
    )


def lock_pending_code(session: Session, identity_id: int) -> VerificationCode | None:
    return session.scalars(
        select(VerificationCode)
        .where(VerificationCode.identity_id == identity_id, VerificationCode.status == "pending")
        .order_by(VerificationCode.id.desc())
        .limit(1)
        .with_for_update()
    ).first()


def lock_code(session: Session, code_id: int) -> VerificationCode | None:
    return session.scalars(
        select(VerificationCode).where(VerificationCode.id == code_id).with_for_update()
    ).first()


# --- consents --------------------------------------------------------------------------------


def list_consents(session: Session, customer_id: int) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.customer_id == customer_id)
            .order_by(Consent.purpose, Consent.channel)
        )
    )


def consent_rows(session: Session, root_id: int) -> list[Row[Any]]:
    def build(_pg: bool) -> Any:
        c = consents.c
        return (
            select(c.purpose, c.channel, c.granted, c.updated_at)
            .where(c.customer_id == bindparam("customer_id"))
            .order_by(c.purpose, c.channel)
        )

    stmt = statement(session, "consent_rows", build)
    return list(session.execute(stmt, {"customer_id": root_id}))


def consents_of_root(session: Session, customer_id: int) -> list[Row[Any]]:
    """The surviving profile's status and current answers in one statement: one row per
    answer, or a single row with NULL answer columns when there is none; empty when the id
    is unknown."""

    def build(_pg: bool) -> Any:
        c = consents.c
        return (
            select(
                customers.c.id, customers.c.status, c.purpose, c.channel, c.granted, c.updated_at
            )
            .select_from(customers.outerjoin(consents, c.customer_id == customers.c.id))
            .where(customers.c.id == _root_of())
            .order_by(c.purpose, c.channel)
        )

    stmt = statement(session, "consents_of_root", build)
    return list(session.execute(stmt, {"customer_id": customer_id}))


def get_consent(session: Session, customer_id: int, purpose: str, channel: str) -> Consent | None:
    return session.get(Consent, (customer_id, purpose, channel))


def record_consent(
    session: Session,
    *,
    customer_id: int,
    purpose: str,
    channel: str,
    granted: bool,
    now: datetime,
    source: str,
    method: str,
    actor: str,
    merge_id: int | None = None,
) -> ConsentEvent:
    """Appends the history row and moves the current answer to it."""
    event = ConsentEvent(
        customer_id=customer_id,
        purpose=purpose,
        channel=channel,
        granted=granted,
        occurred_at=now,
        source=source,
        method=method,
        actor=actor,
        merge_id=merge_id,
    )
    session.add(event)
    session.flush()
    current = get_consent(session, customer_id, purpose, channel)
    if current is None:
        session.add(
            Consent(
                customer_id=customer_id,
                purpose=purpose,
                channel=channel,
                granted=granted,
                updated_at=now,
                last_event_id=event.id,
            )
        )
    else:
        current.granted = granted
        current.updated_at = now
        current.last_event_id = event.id
    session.flush()
    return event


def consent_history(session: Session, customer_ids: Sequence[int]) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id.in_(list(customer_ids)))
            .order_by(ConsentEvent.occurred_at.desc(), ConsentEvent.id.desc())
        )
    )


def consent_events_since(session: Session, customer_id: int, since_id: int) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == customer_id, ConsentEvent.id > since_id)
            .order_by(ConsentEvent.id)
        )
    )


def max_consent_event_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(ConsentEvent.id), 0))) or 0)


def granted_among(
    session: Session, customer_ids: Sequence[int], purpose: str, channels: Sequence[str]
) -> set[int]:
    """Which of these (root) customers have granted ``purpose`` on one of ``channels``."""
    if not customer_ids:
        return set()
    return set(
        session.scalars(
            select(Consent.customer_id).where(
                Consent.customer_id.in_(list(customer_ids)),
                Consent.purpose == purpose,
                Consent.channel.in_(list(channels)),
                Consent.granted.is_(True),
            )
        )
    )


def strip_consent_provenance(session: Session, customer_id: int) -> None:
    """Erasure keeps what was answered and when (proof of lawful contact), not where from."""
    session.execute(
        update(ConsentEvent)
        .where(ConsentEvent.customer_id == customer_id)
        .values(source="erased", method="erased", actor="erased")
    )


# --- activity (timeline) ---------------------------------------------------------------------


def insert_activities(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(activity), rows)


# Behavioural events go in as one INSERT ... SELECT FROM unnest(arrays) on PostgreSQL: one
# statement, the columns as arrays sent in binary, and the events' data as one JSON array
# (paired with the rows by position), so neither side processes the batch row by row.
_BEHAVIOUR_INSERT_PG = (
    "INSERT INTO customer_activity"
    " (customer_id, anonymous_id, kind, channel, occurred_at, source_key, data)"
    " SELECT e.customer_id, e.anonymous_id, e.kind, e.channel, e.occurred_at, e.source_key,"
    " d.value"
    " FROM unnest(%(customer_id)b::bigint[], %(anonymous_id)b::varchar[], %(kind)b::varchar[],"
    " %(channel)b::varchar[], %(occurred_at)b::timestamptz[], %(source_key)b::varchar[])"
    " WITH ORDINALITY AS e(customer_id, anonymous_id, kind, channel, occurred_at, source_key, n)"
    " JOIN jsonb_array_elements(%(data)s::jsonb) WITH ORDINALITY AS d(value, n) USING (n)"
)


def insert_behaviour(
    session: Session,
    *,
    customer_id: list[int | None],
    anonymous_id: list[str | None],
    kind: list[str],
    channel: list[str | None],
    occurred_at: list[datetime],
    source_key: list[str | None],
    data: list[dict[str, Any]],
) -> None:
    """Behavioural events given column by column (all lists of the same length)."""
    if not kind:
        return
    if is_postgres(session):
        session.connection().exec_driver_sql(
            _BEHAVIOUR_INSERT_PG,
            {
                "customer_id": customer_id,
                "anonymous_id": anonymous_id,
                "kind": kind,
                "channel": channel,
                "occurred_at": occurred_at,
                "source_key": source_key,
                "data": json.dumps(data, separators=(",", ":")),
            },
        )
        return
    insert_activities(
        session,
        [
            {
                "customer_id": row[0],
                "anonymous_id": row[1],
                "kind": row[2],
                "channel": row[3],
                "occurred_at": row[4],
                "source_key": row[5],
                "data": row[6],
            }
            for row in zip(
                customer_id, anonymous_id, kind, channel, occurred_at, source_key, data, strict=True
            )
        ],
    )


def existing_source_keys(session: Session, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    stmt = statement(
        session,
        "existing_source_keys",
        lambda pg: select(activity.c.source_key).where(
            matches(activity.c.source_key, "keys", pg, String())
        ),
    )
    return set(session.scalars(stmt, {"keys": list(keys)}))


def lock_activity(session: Session, source_key: str) -> Row[Any] | None:
    """The timeline row with this key, locked (SELECT ... FOR UPDATE) for a change."""
    return cast(
        "Row[Any] | None",
        session.execute(
            select(activity.c.id, activity.c.amount, activity.c.status, activity.c.data)
            .where(activity.c.source_key == source_key)
            .with_for_update()
        ).first(),
    )


def activity_channel(session: Session, source_key: str) -> str | None:
    channel = session.scalar(select(activity.c.channel).where(activity.c.source_key == source_key))
    return str(channel) if channel is not None else None


def update_activity(session: Session, activity_id: int, values: dict[str, Any]) -> None:
    session.execute(update(activity).where(activity.c.id == activity_id).values(**values))


def upsert_activity(session: Session, row: dict[str, Any]) -> None:
    """Insert, or update the status/amount of the row with the same ``source_key``."""
    updated = session.execute(
        update(activity)
        .where(activity.c.source_key == row["source_key"])
        .values(status=row.get("status"), amount=row.get("amount"), data=row.get("data", {}))
    )
    if not updated.rowcount:  # type: ignore[attr-defined]
        session.execute(insert(activity).values(**row))


def timeline(
    session: Session,
    customer_ids: Sequence[int],
    *,
    limit: int,
    before: datetime | None = None,
    kinds: Sequence[str] | None = None,
) -> list[Activity]:
    stmt = select(Activity).where(Activity.customer_id.in_(list(customer_ids)))
    if before is not None:
        stmt = stmt.where(Activity.occurred_at < before)
    if kinds:
        stmt = stmt.where(Activity.kind.in_(list(kinds)))
    return list(
        session.scalars(stmt.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit))
    )


ACTIVITY_COLUMNS = (
    activity.c.id,
    activity.c.customer_id,
    activity.c.kind,
    activity.c.channel,
    activity.c.occurred_at,
    activity.c.amount,
    activity.c.status,
    activity.c.data,
)


def purchases_section(
    session: Session, customer_ids: Sequence[int], *, orders: int
) -> tuple[list[tuple[str, int, Decimal]], list[Row[Any]], list[Row[Any]]]:
    """The 360's purchase sections in one statement, all read through the purchases index
    (orders and returns only): spend by channel (orders counted, amounts net of returns and
    cancellations), the last ``orders`` orders and the open returns."""

    def build(pg: bool) -> Any:
        a = activity.c
        newest = (a.occurred_at.desc(), a.id.desc())
        last = (
            select(literal(0).label("part"), *ACTIVITY_COLUMNS)
            .where(matches(a.customer_id, "ids", pg), a.kind == "order")
            .order_by(*newest)
            .limit(bindparam("orders"))
        )
        open_ = select(literal(1).label("part"), *ACTIVITY_COLUMNS).where(
            matches(a.customer_id, "ids", pg), a.kind == "return", a.status == "open"
        )
        # One row per channel, in the same columns: id = orders counted, amount = the sum.
        spend = (
            select(
                literal(2).label("part"),
                func.count().filter(a.kind == "order"),
                cast_(null(), a.customer_id.type),
                cast_(null(), a.kind.type),
                a.channel,
                cast_(null(), a.occurred_at.type),
                func.coalesce(func.sum(a.amount), 0),
                cast_(null(), a.status.type),
                cast_(null(), a.data.type),
            )
            .where(matches(a.customer_id, "ids", pg), a.kind.in_(["order", "return"]))
            .group_by(a.channel)
        )
        parts = union_all(last.subquery().select(), open_, spend).subquery()
        return select(parts).order_by(parts.c.part, parts.c.occurred_at.desc(), parts.c.id.desc())

    stmt = statement(session, "purchases_section", build)
    rows = list(session.execute(stmt, {"ids": list(customer_ids), "orders": orders}))
    spend = sorted(
        ((r.channel or "unknown", int(r.id), Decimal(r.amount)) for r in rows if r.part == 2),
        key=lambda s: (s[0] == "unknown", s[0]),
    )
    return spend, [r for r in rows if r.part == 0], [r for r in rows if r.part == 1]


def link_anonymous(session: Session, anonymous_id: str, customer_id: int, now: datetime) -> None:
    existing = session.get(AnonymousLink, anonymous_id)
    if existing is None:
        session.add(
            AnonymousLink(anonymous_id=anonymous_id, customer_id=customer_id, linked_at=now)
        )
        session.flush()


def stitch_anonymous(session: Session, anonymous_id: str, customer_id: int) -> int:
    result = session.execute(
        update(activity)
        .where(activity.c.anonymous_id == anonymous_id, activity.c.customer_id.is_(None))
        .values(customer_id=customer_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def erase_activity(session: Session, customer_id: int) -> dict[str, int]:
    """Behaviour, contacts and messages go; orders and returns stay with their amounts only."""
    anon = list(
        session.scalars(
            select(AnonymousLink.anonymous_id).where(AnonymousLink.customer_id == customer_id)
        )
    )
    behaviour = session.execute(
        delete(activity).where(
            or_(
                and_(
                    activity.c.customer_id == customer_id,
                    activity.c.kind.not_in(["order", "return"]),
                ),
                activity.c.anonymous_id.in_(anon) if anon else false(),
            )
        )
    )
    session.execute(
        update(activity)
        .where(activity.c.customer_id == customer_id)
        .values(anonymous_id=None, data={})
    )
    links = session.execute(delete(AnonymousLink).where(AnonymousLink.customer_id == customer_id))
    return {
        "activity_deleted": int(behaviour.rowcount or 0),  # type: ignore[attr-defined]
        "anonymous_links_deleted": int(links.rowcount or 0),  # type: ignore[attr-defined]
    }


def all_activity(session: Session, customer_ids: Sequence[int]) -> list[Activity]:
    return list(
        session.scalars(
            select(Activity)
            .where(Activity.customer_id.in_(list(customer_ids)))
            .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        )
    )


def anonymous_ids_of(session: Session, customer_ids: Sequence[int]) -> list[str]:
    return list(
        session.scalars(
            select(AnonymousLink.anonymous_id)
            .where(AnonymousLink.customer_id.in_(list(customer_ids)))
            .order_by(AnonymousLink.anonymous_id)
        )
    )


# --- merges and reviews ----------------------------------------------------------------------


def add_merge(session: Session, merge: Merge) -> Merge:
    session.add(merge)
    session.flush()
    return merge


def get_merge(session: Session, merge_id: int) -> Merge | None:
    return session.get(Merge, merge_id)


def lock_merge(session: Session, merge_id: int) -> Merge | None:
    return session.scalars(select(Merge).where(Merge.id == merge_id).with_for_update()).first()


def list_merges(session: Session, customer_ids: Sequence[int]) -> list[Merge]:
    ids = list(customer_ids)
    return list(
        session.scalars(
            select(Merge)
            .where(or_(Merge.survivor_id.in_(ids), Merge.merged_id.in_(ids)))
            .order_by(Merge.id)
        )
    )


def add_review_if_new(session: Session, review: MergeReview) -> MergeReview | None:
    existing = session.scalars(
        select(MergeReview).where(
            MergeReview.customer_a == review.customer_a,
            MergeReview.customer_b == review.customer_b,
            MergeReview.rule == review.rule,
        )
    ).first()
    if existing is not None:
        return existing if existing.status == "open" else None
    session.add(review)
    session.flush()
    return review


def lock_review(session: Session, review_id: int) -> MergeReview | None:
    return session.scalars(
        select(MergeReview).where(MergeReview.id == review_id).with_for_update()
    ).first()


def list_reviews(session: Session, *, status: str | None, limit: int) -> list[MergeReview]:
    stmt = select(MergeReview).order_by(MergeReview.id).limit(limit)
    if status:
        stmt = stmt.where(MergeReview.status == status)
    return list(session.scalars(stmt))


def close_reviews_of(session: Session, customer_id: int, now: datetime, actor: str) -> None:
    session.execute(
        update(MergeReview)
        .where(
            or_(MergeReview.customer_a == customer_id, MergeReview.customer_b == customer_id),
            MergeReview.status == "open",
        )
        .values(status="rejected", decided_at=now, decided_by=actor, explanation="customer erased")
    )


# --- privacy ---------------------------------------------------------------------------------


def log_privacy(session: Session, request: PrivacyRequest) -> None:
    session.add(request)
    session.flush()


def privacy_log(session: Session, customer_ids: Sequence[int]) -> list[PrivacyRequest]:
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.customer_id.in_(list(customer_ids)))
            .order_by(PrivacyRequest.id)
        )
    )


def rows_as_dicts(rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in rows]
