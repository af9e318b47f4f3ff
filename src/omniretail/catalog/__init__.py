"""Catalog and network: products, SKUs, channels and locations.

Owns the tables ``products``, ``skus``, ``channels``, ``locations``, ``channel_locations``.
Emits ``catalog.product_created``, ``catalog.location_saved``, ``catalog.channel_saved``.
"""
