"""Consents per purpose and channel, their history, and the contact gates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from omniretail.customers import repository as repo
from omniretail.customers.errors import (
    ConsentRequired,
    CustomerErased,
    InvalidCustomerData,
    UnknownCustomer,
)
from omniretail.customers.events import (
    ConsentChanged,
)
from omniretail.customers.models import (
    ConsentChannel,
    CustomerStatus,
)
from omniretail.customers.schemas import (
    ConsentHistoryRead,
    ConsentRead,
    ConsentsRead,
    ConsentWrite,
)
from omniretail.customers.service.clusters import cluster, require_root
from omniretail.customers.service.identities import takes_part
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault

# --- consents ------------------------------------------------------------------------------


def set_consent(
    uow: UnitOfWork, customer_id: int, data: ConsentWrite, *, actor: str
) -> ConsentsRead:
    """Records an answer (kept in the history with where and how) on the surviving profile."""
    root = require_root(uow, customer_id)
    if data.purpose.value == "marketing" and data.channel == ConsentChannel.ALL:
        raise InvalidCustomerData(
            "marketing consent is given per channel (email, sms, push)", field="channel"
        )
    repo.record_consent(
        uow.session,
        customer_id=root.id,
        purpose=data.purpose.value,
        channel=data.channel.value,
        granted=data.granted,
        now=uow.now,
        source=data.source,
        method=data.method,
        actor=actor,
    )
    uow.record(
        ConsentChanged(
            customer_id=root.id,
            purpose=data.purpose.value,
            channel=data.channel.value,
            granted=data.granted,
        )
    )
    return ConsentsRead(customer_id=root.id, consents=list_consents(uow, root.id))


def list_consents(uow: UnitOfWork, customer_id: int) -> list[ConsentRead]:
    """The surviving profile's current answers (one statement, the profile check included)."""
    rows = repo.consents_of_root(uow.session, customer_id)
    if not rows:
        raise UnknownCustomer(f"no customer with id {customer_id}", field="customer_id")
    if rows[0].status == CustomerStatus.ERASED.value:
        raise CustomerErased(f"customer {customer_id} was erased", field="customer_id")
    return [consent_read(c) for c in rows if c.purpose is not None]


def consent_read(c: Any) -> ConsentRead:
    return ConsentRead(
        purpose=c.purpose, channel=c.channel, granted=c.granted, updated_at=c.updated_at
    )


def consent_history(uow: UnitOfWork, customer_id: int) -> list[ConsentHistoryRead]:
    ids = cluster(uow, customer_id)
    return [
        ConsentHistoryRead(
            id=e.id,
            customer_id=e.customer_id,
            purpose=e.purpose,
            channel=e.channel,
            granted=e.granted,
            occurred_at=e.occurred_at,
            source=e.source,
            method=e.method,
            actor=e.actor,
            merge_id=e.merge_id,
        )
        for e in repo.consent_history(uow.session, ids)
    ]


def has_consent(uow: UnitOfWork, customer_id: int, purpose: str, channel: str) -> bool:
    """The gate: no recorded grant means no consent."""
    root_id = repo.root_of(uow.session, customer_id)
    if root_id is None:
        return False
    channels = [channel, ConsentChannel.ALL.value] if purpose != "marketing" else [channel]
    return bool(repo.granted_among(uow.session, [root_id], purpose, channels))


def profiles_of(uow: UnitOfWork, customer_ids: Sequence[int]) -> dict[int, int]:
    """Each known id -> the id of its surviving profile (itself unless merged): looked up
    once, it can be handed to ``consenting_on`` and ``contact_addresses`` as ``roots``."""
    return repo.roots_of(uow.session, customer_ids)


def consenting(
    uow: UnitOfWork, customer_ids: Sequence[int], purpose: str, channel: str
) -> set[int]:
    """Of these ids, those whose surviving profile has granted ``purpose`` on ``channel``."""
    return consenting_on(uow, customer_ids, purpose, [channel])[channel]


def consenting_on(
    uow: UnitOfWork,
    customer_ids: Sequence[int],
    purpose: str,
    channels: Sequence[str],
    *,
    roots: Mapping[int, int] | None = None,
) -> dict[str, set[int]]:
    """``consenting`` for several channels in one look-up of the grants (``roots``: the
    ``profiles_of`` these ids, when the caller has them)."""
    if not channels:
        return {}
    wanted = set(customer_ids)
    if roots is None:
        roots = repo.roots_of(uow.session, wanted)
    mine = {cid: root for cid, root in roots.items() if cid in wanted}
    everywhere = purpose != "marketing"  # a grant on "all" counts, except for marketing
    asked = sorted({*channels, ConsentChannel.ALL.value} if everywhere else set(channels))
    grants = repo.grants_among(uow.session, sorted(set(mine.values())), purpose, asked)
    found: dict[str, set[int]] = {}
    for channel in channels:
        ok = {channel, ConsentChannel.ALL.value} if everywhere else {channel}
        granted = {root for root, on in grants if on in ok}
        found[channel] = {cid for cid, root in mine.items() if root in granted}
    return found


def contact_address(
    uow: UnitOfWork, customer_id: int, channel: str, *, purpose: str, vault: PiiVault
) -> str:
    """The only way to an email address or phone number for sending: marketing needs the
    customer's consent for that channel; service messages (``purpose="service"``) do not."""
    root = require_root(uow, customer_id)
    if purpose != "service" and not has_consent(uow, root.id, purpose, channel):
        raise ConsentRequired(
            f"customer {customer_id} has not consented to {purpose} by {channel}", field="channel"
        )
    kind = {"email": "email", "sms": "phone", "push": "device"}.get(channel)
    identities = [i for i in _identities_of(uow, root.id, kind) if takes_part(i)]
    identities.sort(key=lambda i: (not i.verified, -i.id))
    if not identities:
        raise ConsentRequired(f"customer {customer_id} has no {channel} address", field="channel")
    value = vault.decrypt("identity", identities[0].value_enc)
    assert value is not None
    return value


def verified_email(uow: UnitOfWork, customer_id: int, *, vault: PiiVault) -> str | None:
    """The customer's newest verified email (any profile of theirs), for mails about what they
    did themselves (their order's); None without one."""
    root = require_root(uow, customer_id)
    verified = [i for i in _identities_of(uow, root.id, "email") if i.verified]
    if not verified:
        return None
    return vault.decrypt("identity", max(verified, key=lambda i: i.id).value_enc)


def _identities_of(uow: UnitOfWork, root_id: int, kind: str | None) -> list[Any]:
    """The identities of ``kind`` on every profile of the person whose root is ``root_id``."""
    cluster_ids = repo.cluster_ids(uow.session, root_id)
    return [i for i in repo.list_identities(uow.session, cluster_ids) if i.kind == kind]


def birthdays(
    uow: UnitOfWork,
    month_day: str,
    store_codes: Sequence[str] | None,
    *,
    on_file_before: datetime | None = None,
) -> list[tuple[int, str | None]]:
    """Active customers born on ``month_day`` ("MM-DD") whose home store is one of
    ``store_codes`` (None: customers without a home store); with ``on_file_before``, only
    those whose birthday was not changed after it (one set today is not yet theirs)."""
    return repo.by_birthday(uow.session, month_day, store_codes, on_file_before)


def contact_addresses(
    uow: UnitOfWork,
    customer_ids: Sequence[int],
    channel: str,
    *,
    vault: PiiVault,
    roots: Mapping[int, int] | None = None,
) -> dict[int, str]:
    """Batch form of ``contact_address`` for a sender that has checked consent itself: each
    id's best address on ``channel`` (email, sms, push), absent when it has none (``roots``:
    the ``profiles_of`` these ids, when the caller has them)."""
    kind = {"email": "email", "sms": "phone", "push": "device"}.get(channel)
    if kind is None or not customer_ids:
        return {}
    wanted = set(customer_ids)
    if roots is None:
        roots = repo.roots_of(uow.session, wanted)
    roots = {cid: root for cid, root in roots.items() if cid in wanted}
    best: dict[int, Any] = {}
    for i in repo.identities_of_kind(uow.session, sorted({*roots.values(), *roots}), kind):
        if not takes_part(i):
            continue
        root = roots.get(i.customer_id, i.customer_id)
        held = best.get(root)
        if held is None or (not held.verified, -held.id) > (not i.verified, -i.id):
            best[root] = i
    found: dict[int, str] = {}
    for cid, root in roots.items():
        if (identity := best.get(root)) is not None:
            value = vault.decrypt("identity", identity.value_enc)
            if value:
                found[cid] = value
    return found
