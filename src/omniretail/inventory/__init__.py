"""Inventory: one stock per SKU x location that never oversells.

Owns ``stock_levels`` (counters), ``stock_movements`` (the append-only ledger every counter is
derived from), ``stock_holds`` (cart reservations and order allocations) and ``transfers``.
Emits ``inventory.*`` events: received, adjusted, counted, written_off, restocked, sold,
reserved, reservation_refreshed, reservation_released, reservation_expired, allocated,
allocation_released, fulfilled, transfer_requested/shipped/received/cancelled, policy_set,
replenishment_suggested.
"""
