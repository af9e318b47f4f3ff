"""Imports every domain's tables so that ``Base.metadata`` is complete (migrations, tests)."""

from __future__ import annotations

from omniretail.auth import models as auth_models
from omniretail.carts import models as cart_models
from omniretail.catalog import models as catalog_models
from omniretail.customers import models as customer_models
from omniretail.db import idempotency, outbox
from omniretail.db.base import Base
from omniretail.fulfilment import models as fulfilment_models
from omniretail.intelligence import models as intelligence_models
from omniretail.inventory import models as inventory_models
from omniretail.jobs import models as job_models
from omniretail.loyalty import models as loyalty_models
from omniretail.marketing import models as marketing_models
from omniretail.messaging import models as messaging_models
from omniretail.notifications import models as notification_models
from omniretail.orders import models as order_models
from omniretail.pricing import models as pricing_models
from omniretail.routing import models as routing_models
from omniretail.support import models as support_models

__all__ = [
    "Base",
    "auth_models",
    "cart_models",
    "catalog_models",
    "customer_models",
    "fulfilment_models",
    "idempotency",
    "intelligence_models",
    "inventory_models",
    "job_models",
    "loyalty_models",
    "marketing_models",
    "messaging_models",
    "notification_models",
    "order_models",
    "outbox",
    "pricing_models",
    "routing_models",
    "support_models",
]
