"""Omniretail: one stock, one customer, one order flow across every channel."""

__version__ = "0.1.0"
