"""Who an order is for and where it goes, at rest only as vault ciphertext.

``orders.contact_email_enc`` holds the contact email; ``orders.delivery_enc`` the personal part
of the delivery (address and coordinates); ``orders.delivery`` keeps only the method and the
pickup location, which routing and reports read without a key. Order events carry none of it
(ids and numbers): a handler that needs the email reads the order.
``fulfilments.pickup_code_enc`` holds the code that hands a fulfilment over; no event carries
it (the email handler reads it, ``waiting_pickup_code``).

The tracking link's token (``/track/<token>``, a bearer secret: its page shows the order's
state, never the pickup code, since the link is forwarded and staff see it) is kept twice,
never in clear: ``orders.tracking_token_digest``
(``kernel.ids.token_digest``, SHA-256), which the page finds the order by, and
``orders.tracking_token_enc``, vault ciphertext, because the server builds the link again
after checkout (the owner's emails, account pages and assistant answers). A digest alone would
do for the look-up; only the ciphertext gives the link back.

The payment provider's token given at checkout (``tok_...``, not card data) is kept as vault
ciphertext in ``orders.payment_token_enc``: an exchange's difference is authorised again with
it (``fulfilment.returns``), and erasure sets it to NULL."""

from __future__ import annotations

from typing import Any

from omniretail.kernel.ids import token_digest
from omniretail.kernel.vault import PiiVault
from omniretail.orders.models import FulfilmentStatus

EMAIL_FIELD = "order_contact_email"
DELIVERY_FIELD = "order_delivery"
PICKUP_CODE_FIELD = "fulfilment_pickup_code"
TRACKING_TOKEN_FIELD = "order_tracking_token"
PAYMENT_TOKEN_FIELD = "order_payment_token"
PERSONAL_DELIVERY_KEYS = ("address", "latitude", "longitude")


def seal(vault: PiiVault, contact_email: str | None, delivery: dict[str, Any]) -> dict[str, Any]:
    """The ``orders`` columns for this contact and delivery."""
    personal = {k: delivery[k] for k in PERSONAL_DELIVERY_KEYS if delivery.get(k) not in (None, {})}
    return {
        "contact_email_enc": vault.encrypt(EMAIL_FIELD, contact_email),
        "delivery": {k: v for k, v in delivery.items() if k not in PERSONAL_DELIVERY_KEYS},
        "delivery_enc": vault.encrypt_json(DELIVERY_FIELD, personal) if personal else None,
    }


def contact_email(vault: PiiVault, order: Any) -> str | None:
    return vault.decrypt(EMAIL_FIELD, order.contact_email_enc)


def delivery(vault: PiiVault, order: Any) -> dict[str, Any] | None:
    """The whole delivery as given at checkout (None on imported history)."""
    if order.delivery is None:
        return None
    personal = vault.decrypt_json(DELIVERY_FIELD, order.delivery_enc) or {}
    return {
        **order.delivery,
        **{k: personal.get(k, {} if k == "address" else None) for k in PERSONAL_DELIVERY_KEYS},
    }


def seal_pickup_code(vault: PiiVault, code: str) -> str:
    """The ``fulfilments.pickup_code_enc`` value of ``code``."""
    sealed = vault.encrypt(PICKUP_CODE_FIELD, code)
    assert sealed is not None
    return sealed


def pickup_code(vault: PiiVault, fulfilment: Any) -> str | None:
    """The fulfilment's pickup code in clear (None: none issued)."""
    return vault.decrypt(PICKUP_CODE_FIELD, fulfilment.pickup_code_enc)


def waiting_pickup_code(vault: PiiVault, fulfilment: Any) -> str | None:
    """The code of a fulfilment waiting to be collected; None once it has moved on (what the
    owner is shown in their account and mailed; never the tracking page nor staff)."""
    if fulfilment.status != FulfilmentStatus.READY_FOR_PICKUP.value:
        return None
    return pickup_code(vault, fulfilment)


def seal_tracking_token(vault: PiiVault, token: str) -> dict[str, str | None]:
    """The ``orders`` columns of a tracking token: its digest and its ciphertext."""
    return {
        "tracking_token_digest": token_digest(token),
        "tracking_token_enc": vault.encrypt(TRACKING_TOKEN_FIELD, token),
    }


def tracking_token(vault: PiiVault, order: Any) -> str | None:
    """The order's tracking token in clear (None: imported history, no tracking page)."""
    return vault.decrypt(TRACKING_TOKEN_FIELD, order.tracking_token_enc)


def seal_payment_token(vault: PiiVault, token: str | None) -> str | None:
    """The ``orders.payment_token_enc`` value of the provider's token given at checkout."""
    return vault.encrypt(PAYMENT_TOKEN_FIELD, token)


def payment_token(vault: PiiVault, order: Any) -> str | None:
    """The provider's token the order was paid with, in clear (None: imported history, or
    erased)."""
    return vault.decrypt(PAYMENT_TOKEN_FIELD, order.payment_token_enc)


def tracking_path(token: str) -> str:
    return f"/track/{token}"


def tracking_link(vault: PiiVault, order: Any) -> str | None:
    """The path of the order's tracking page, for its owner's eyes (None: no such page)."""
    token = tracking_token(vault, order)
    return None if token is None else tracking_path(token)


def is_live(order: Any) -> bool:
    """An order of the live flow, which has a tracking page (not imported history)."""
    return order.tracking_token_digest is not None
