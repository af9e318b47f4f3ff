"""Customers: one profile per person across channels.

For now the minimal table the imported order history needs; the customers issue grows it
into the unified profile (identities, consents, PII protection).
"""
