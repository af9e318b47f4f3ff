"""The customer's stored loyalty tier and RFM segment, as pricing reads them: by table name,
inside the caller's statement (pricing sits below loyalty and intelligence, which own these
tables). ``customer`` is a customer id or a bound parameter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, column, select, table

accounts = table("loyalty_accounts", column("customer_id"), column("tier"))
scores = table("customer_scores", column("customer_id"), column("segment"))


def stored_tier(customer: Any) -> Select[Any]:
    return select(accounts.c.tier).where(accounts.c.customer_id == customer)


def stored_segment(customer: Any) -> Select[Any]:
    return select(scores.c.segment).where(scores.c.customer_id == customer)
