from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


class UnknownSku(NotFound):
    slug = "unknown-sku"
    title = "Unknown SKU"


class UnknownLocation(NotFound):
    slug = "unknown-location"
    title = "Unknown location"


class UnknownChannel(NotFound):
    slug = "unknown-channel"
    title = "Unknown channel"


class UnknownProduct(NotFound):
    slug = "unknown-product"
    title = "Unknown product"


class DuplicateCode(Conflict):
    slug = "duplicate-code"
    title = "A record with this code already exists"


class InvalidCode(InvalidRequest):
    slug = "invalid-code"
    title = "Invalid code"
