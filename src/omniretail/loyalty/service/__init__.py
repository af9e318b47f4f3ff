"""Loyalty use cases: the ledger, lots, redemption, clawback, tiers and rewards.

Modules by use case: ``rules`` (the programme), ``awards`` (enrolment, actions,
adjustments), ``earn`` (orders earn on the paid amounts, points promotions, clawback),
``redeem``, ``lots`` (maturing, expiry), ``tiers``, ``coupons``, ``grants`` (birthday and
welcome pricing coupons), ``rewards`` (scheduled: birthdays, un-merge settlement, recompute),
``reads``, ``overview`` (the programme's state for HQ), ``backfill`` (points for an
imported order history). Other packages import the names below from ``loyalty.service``.

A person's points are the sum over the accounts of their profile cluster (a merged profile's
account keeps its own lots, so an undo of the merge is exact). Services never commit.
"""

from __future__ import annotations

from omniretail.loyalty.service.awards import (
    Goodwill,
    adjust_points,
    award_action,
    enrol,
)
from omniretail.loyalty.service.backfill import backfill_history
from omniretail.loyalty.service.coupons import (
    coupon_read,
    issue_coupon,
    list_coupons,
    masked_coupons,
    redeem_coupon,
)
from omniretail.loyalty.service.earn import (
    claw_back_lines,
    claw_back_return,
    earn_for_order,
    earn_for_orders,
    known_order_lines,
    line_id_keys,
    points_for_order,
    share_points,
)
from omniretail.loyalty.service.grants import (
    grant_coupon,
    list_reward_coupons,
)
from omniretail.loyalty.service.lots import (
    expire_points,
    release_matured_points,
)
from omniretail.loyalty.service.overview import programme_overview
from omniretail.loyalty.service.presence import (
    Presence,
    check_presence,
    count_wrong_code,
    give_back_presence,
    redeem_in_person,
    send_or_count_refusal,
)
from omniretail.loyalty.service.reads import (
    account_status,
    entry_read,
    list_entries,
    list_lots,
    redemption_read,
)
from omniretail.loyalty.service.redeem import (
    redeem_points,
    reverse_redemption,
)
from omniretail.loyalty.service.rewards import (
    award_birthday_coupons,
    birthdays_on,
    recompute_balances,
    settle_unmerge,
)
from omniretail.loyalty.service.rules import (
    get_programme,
    programme_read,
    rules,
    save_programme,
)
from omniretail.loyalty.service.tiers import (
    evaluate_tier,
    progress_for,
    stated_progress,
    tier_progress,
)

__all__ = [
    "Goodwill",
    "Presence",
    "account_status",
    "adjust_points",
    "award_action",
    "award_birthday_coupons",
    "backfill_history",
    "birthdays_on",
    "check_presence",
    "claw_back_lines",
    "claw_back_return",
    "count_wrong_code",
    "coupon_read",
    "earn_for_order",
    "earn_for_orders",
    "enrol",
    "entry_read",
    "evaluate_tier",
    "expire_points",
    "get_programme",
    "give_back_presence",
    "grant_coupon",
    "issue_coupon",
    "known_order_lines",
    "line_id_keys",
    "list_coupons",
    "list_entries",
    "list_lots",
    "list_reward_coupons",
    "masked_coupons",
    "points_for_order",
    "programme_overview",
    "programme_read",
    "progress_for",
    "recompute_balances",
    "redeem_coupon",
    "redeem_in_person",
    "redeem_points",
    "redemption_read",
    "release_matured_points",
    "reverse_redemption",
    "rules",
    "save_programme",
    "send_or_count_refusal",
    "settle_unmerge",
    "share_points",
    "stated_progress",
    "tier_progress",
]
