"""The only place that builds queries over the loyalty tables.

Counters change only by conditional UPDATE (``apply_to_account``) or under row locks
(``lock_accounts``, ``lock_spendable_lots``); the CHECK constraints refuse any negative result.

Modules by concern: ``programmes`` (Core tables, programme versions), ``accounts``, ``lots``,
``entries`` (the ledger, account summaries), ``redemptions``, ``coupons``, ``backfill`` (reads
of the order history), ``grants`` (coupons the programme issued). Callers use the names
re-exported here.
"""

from __future__ import annotations

from omniretail.loyalty.repository.accounts import (
    all_account_ids,
    apply_to_account,
    create_account_if_missing,
    get_accounts,
    lock_accounts,
    set_counters,
    set_tier,
)
from omniretail.loyalty.repository.backfill import (
    history_lines,
    history_orders,
    lot_ids_by_key,
)
from omniretail.loyalty.repository.coupons import (
    add_coupon_if_new,
    get_coupon,
    list_coupons,
    redeem_coupon_if_issued,
)
from omniretail.loyalty.repository.entries import (
    AccountSummary,
    account_summary,
    add_entry,
    bulk_insert,
    clawbacks_for_line,
    earns_of_order,
    entry_exists,
    existing_entry_keys,
    extra_earns_of_order,
    get_entry,
    insert_entry,
    ledger_sums,
    list_entries,
    next_expiry,
    qualifying_spend,
    redeem_entries_since,
)
from omniretail.loyalty.repository.grants import (
    add_grant_if_new,
    count_goodwill,
    customer_goodwill_key,
    list_grants,
)
from omniretail.loyalty.repository.lots import (
    add_lot,
    get_lot_by_key,
    insert_lot,
    lock_expired_lots,
    lock_lot,
    lock_matured_lots,
    lock_spendable_lots,
    lot_sums,
    lots_of,
    take_from_lot,
)
from omniretail.loyalty.repository.programmes import (
    accounts,
    active_programme,
    add_programme,
    coupons,
    entries,
    latest_version,
    list_programmes,
    lots,
)
from omniretail.loyalty.repository.redemptions import (
    add_redemption,
    get_redemption_by_reference,
    lock_redemption,
)

__all__ = [
    "AccountSummary",
    "account_summary",
    "accounts",
    "active_programme",
    "add_coupon_if_new",
    "add_entry",
    "add_grant_if_new",
    "add_lot",
    "add_programme",
    "add_redemption",
    "all_account_ids",
    "apply_to_account",
    "bulk_insert",
    "clawbacks_for_line",
    "count_goodwill",
    "coupons",
    "create_account_if_missing",
    "customer_goodwill_key",
    "earns_of_order",
    "entries",
    "entry_exists",
    "existing_entry_keys",
    "extra_earns_of_order",
    "get_accounts",
    "get_coupon",
    "get_entry",
    "get_lot_by_key",
    "get_redemption_by_reference",
    "history_lines",
    "history_orders",
    "insert_entry",
    "insert_lot",
    "latest_version",
    "ledger_sums",
    "list_coupons",
    "list_entries",
    "list_grants",
    "list_programmes",
    "lock_accounts",
    "lock_expired_lots",
    "lock_lot",
    "lock_matured_lots",
    "lock_redemption",
    "lock_spendable_lots",
    "lot_ids_by_key",
    "lot_sums",
    "lots",
    "lots_of",
    "next_expiry",
    "qualifying_spend",
    "redeem_coupon_if_issued",
    "redeem_entries_since",
    "set_counters",
    "set_tier",
    "take_from_lot",
]
