"""Wires the orders handlers: the payment carrier that carries out recorded payment
instructions after commit (``payment_instructions.py``)."""

from __future__ import annotations

from omniretail.orders.payment_instructions import HANDLER, install

__all__ = ["HANDLER", "install"]
