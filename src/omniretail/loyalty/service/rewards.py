"""Scheduled loyalty work: birthday coupons (on the customer's own date in their store's time
zone), settling points after a merge is undone, and rebuilding counters from the ledger."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import repository as repo
from omniretail.loyalty.models import Entry, EntryKind, Lot, LotStatus
from omniretail.loyalty.schemas import DriftRow, RecomputeReport, RedemptionCreate
from omniretail.loyalty.service.coupons import issue_coupon
from omniretail.loyalty.service.grants import grant_coupon
from omniretail.loyalty.service.redeem import redeem_points
from omniretail.loyalty.service.rules import rules


def award_birthday_coupons(uow: UnitOfWork, *, actor: str, at: datetime | None = None) -> int:
    """Coupons for everyone whose birthday it is at ``at`` (default now), each in their home
    store's time zone (the programme's zone without a home store): from local midnight. Once
    per customer per year, however often it runs and on however many workers. With a
    ``promotion`` in the rule the coupon is a pricing coupon (``grants``); else a loyalty
    coupon worth ``discount``."""
    programme = rules(uow)
    coupon = programme.birthday_coupon
    if coupon is None:
        return 0
    now = at or uow.now
    stores_by_zone: dict[str, list[str]] = defaultdict(list)
    for location in catalog.list_locations(uow):
        stores_by_zone[location.timezone].append(location.code)
    groups: list[tuple[str, list[str] | None]] = [
        (zone, codes) for zone, codes in sorted(stores_by_zone.items())
    ]
    groups.append((programme.timezone, None))
    issued = 0
    for zone, codes in groups:
        today = now.astimezone(ZoneInfo(zone)).date()
        for month_day in birthdays_on(today):
            on_file = now - timedelta(days=programme.birthday_on_file_days)
            found = customers.birthdays(uow, month_day, codes, on_file_before=on_file)
            for customer_id, _store in found:
                if coupon.promotion is not None:
                    granted = grant_coupon(uow, customer_id, "birthday", str(today.year), coupon)
                    issued += granted is not None
                    continue
                assert coupon.discount is not None  # a rule gives one or the other
                result = issue_coupon(
                    uow,
                    customer_id,
                    kind="birthday",
                    description=coupon.description or "Happy birthday",
                    discount=coupon.discount,
                    valid_days=coupon.valid_days,
                    source_key=f"birthday:{customer_id}:{today.year}",
                )
                issued += result is not None
    return issued


def birthdays_on(today: date) -> list[str]:
    """Month-days celebrated today: 29 February is celebrated on the 28th in other years."""
    days = [f"{today:%m-%d}"]
    if today.month == 2 and today.day == 28:
        try:
            date(today.year, 2, 29)
        except ValueError:
            days.append("02-29")
    return days


def settle_unmerge(
    uow: UnitOfWork, *, merge_id: int, sides: list[list[int]], merged_at: datetime, actor: str
) -> int:
    """After an undone merge: points of one side that the other side redeemed while merged go
    back to their owner (a new lot with the original expiry) and are debited from the side
    that spent them, as far as its balance allows. Returns the points moved."""
    moved = 0
    for side in sides:
        root = customers.resolve_id(uow, side[0])
        for entry in repo.redeem_entries_since(uow.session, side, merged_at):
            spender = int(entry.data.get("redeemed_for", entry.customer_id))
            if customers.resolve_id(uow, spender) == root:
                continue  # this side spent its own points
            moved += _transfer(
                uow, entry, to=entry.customer_id, debit=spender, merge_id=merge_id, actor=actor
            )
    return moved


def _transfer(
    uow: UnitOfWork, entry: Entry, *, to: int, debit: int, merge_id: int, actor: str
) -> int:
    points = -entry.points
    key = f"unmerge:{merge_id}:{entry.id}"
    if repo.entry_exists(uow.session, key):
        return 0
    lot_ids = [int(lot_id) for lot_id, _ in entry.data.get("lots", [])]
    expiry = max(
        (lot.expires_at for lot in repo.lots_of(uow.session, [to]) if lot.id in lot_ids),
        default=uow.now + timedelta(days=rules(uow).expiry_days),
    )
    lot = repo.add_lot(
        uow.session,
        Lot(
            customer_id=to,
            source_key=key,
            points=points,
            remaining=points,
            status=LotStatus.AVAILABLE.value,
            available_at=uow.now,
            expires_at=expiry,
            created_at=uow.now,
        ),
    )
    repo.apply_to_account(uow.session, to, uow.now, available=points)
    repo.add_entry(
        uow.session,
        Entry(
            customer_id=to,
            kind=EntryKind.ADJUST.value,
            points=points,
            lot_id=lot.id,
            source_key=key,
            reference=f"unmerge {merge_id}",
            actor=actor,
            created_at=uow.now,
            effective_at=uow.now,
            data={"reason": "points spent by the other profile while merged", "entry": entry.id},
        ),
    )
    available = sum(
        a.available for a in repo.get_accounts(uow.session, customers.cluster(uow, debit))
    )
    charge = min(points, available)
    if charge:
        redeem_points(
            uow,
            debit,
            RedemptionCreate(
                points=charge, channel="unmerge", reference=f"unmerge:{merge_id}:{entry.id}"
            ),
            actor=actor,
        )
    return points


def recompute_balances(uow: UnitOfWork, *, fix: bool) -> RecomputeReport:
    """The ledger is the truth: every account's counters are compared with the sums of its
    entries (and with its lots); with ``fix`` drifted counters are rebuilt from the ledger."""
    session = uow.session
    sums = repo.ledger_sums(session)
    lot_sums = repo.lot_sums(session)
    ids = repo.all_account_ids(session)
    drift: list[DriftRow] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        accounts = repo.lock_accounts(session, chunk) if fix else repo.get_accounts(session, chunk)
        for account in accounts:
            available, pending, owed = sums.get(account.customer_id, (0, 0, 0))
            stored = {
                "available": account.available,
                "pending": account.pending,
                "owed": account.owed,
            }
            ledger = {"available": available, "pending": pending, "owed": owed}
            in_lots = {
                "available": lot_sums.get((account.customer_id, "available"), 0),
                "pending": lot_sums.get((account.customer_id, "pending"), 0),
            }
            for counter in ("available", "pending", "owed"):
                if stored[counter] != ledger[counter]:
                    drift.append(
                        DriftRow(
                            customer_id=account.customer_id,
                            counter=counter,
                            stored=stored[counter],
                            ledger=ledger[counter],
                        )
                    )
            for counter, value in in_lots.items():
                if value != ledger[counter] and stored[counter] == ledger[counter]:
                    drift.append(
                        DriftRow(
                            customer_id=account.customer_id,
                            counter=counter,
                            stored=value,
                            ledger=ledger[counter],
                        )
                    )
            if fix and stored != ledger:
                repo.set_counters(session, account.customer_id, available, pending, owed)
    return RecomputeReport(accounts=len(ids), drift=drift, fixed=fix and bool(drift))
