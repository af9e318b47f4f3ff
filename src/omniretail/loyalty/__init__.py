"""Loyalty in every channel: programme rules as data, a points ledger held in lots, tiers,
rewards and coupons.

Owns ``loyalty_programmes``, ``loyalty_accounts``, ``loyalty_lots``, ``loyalty_entries``,
``loyalty_redemptions``, ``loyalty_coupons``. Emits ``loyalty.enrolled``, ``loyalty.earned``,
``loyalty.redeemed``, ``loyalty.clawed_back``, ``loyalty.tier_changed``,
``loyalty.coupon_issued``, ``loyalty.coupon_redeemed``, ``loyalty.expired``.
"""
