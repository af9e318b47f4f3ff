from __future__ import annotations

from omniretail.kernel.errors import NotFound


class UnknownCustomer(NotFound):
    slug = "unknown-customer"
    title = "Unknown customer"
