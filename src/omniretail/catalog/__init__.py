"""Catalog and network: products, SKUs, channels and locations.

Owns the tables ``products``, ``skus``, ``channels``, ``locations``, ``channel_locations``.
Emits ``catalog.sku_created``, ``catalog.location_saved``, ``catalog.channel_saved``.
"""
