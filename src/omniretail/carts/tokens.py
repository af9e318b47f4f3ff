"""A cart's bearer token at rest: never in clear.

``carts.token_digest`` (``kernel.ids.token_digest``, SHA-256) is what every ``/carts/{token}``
call finds the cart by: the caller holds the token, so the look-up hashes it (about a
microsecond) and stays one statement. ``carts.token_enc`` is the token as vault ciphertext
(field ``cart_token``, re-encrypted with the ring like every sealed column), because the server
does hand a token out again, to the cart's customer or to staff serving them: a signed-in
customer has one cart on every channel and device, so ``POST /carts`` answers the cart they
already have, the web shop's basket and an associate's look-up by customer find it by customer
id, and a login that merges an anonymous cart answers the customer's cart. Those paths open
the ciphertext (``token_of``); a look-up by token never does (it has the token)."""

from __future__ import annotations

from typing import Any

from omniretail.kernel.ids import token_digest
from omniretail.kernel.vault import PiiVault

TOKEN_FIELD = "cart_token"


def seal(vault: PiiVault, token: str) -> dict[str, str | None]:
    """The ``carts`` columns of a new cart's token."""
    return {"token_digest": token_digest(token), "token_enc": vault.encrypt(TOKEN_FIELD, token)}


def token_of(vault: PiiVault, cart: Any) -> str:
    """The token of a cart row found by other means than its token (its customer)."""
    token = vault.decrypt(TOKEN_FIELD, cart.token_enc)
    assert token is not None, "every cart's token is sealed (migration 0056)"
    return token
