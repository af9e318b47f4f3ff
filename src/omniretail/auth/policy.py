"""What every route needs: one central table, keyed by ``"METHOD /path"`` (under /api/v1).

A route missing here is refused to everyone but admins at run time, and
``tests/auth/test_role_matrix.py`` fails until it is declared. Roles map to permissions;
scopes narrow them: a customer acts only on paths naming their own profile (``{customer_id}``)
and on carts that are theirs or anonymous; a store associate changes stock, returns,
fulfilments and order cancellations of their own store only (docs/architecture.md, "Access
control and audit", says which location counts for each route).
"""

from __future__ import annotations

from dataclasses import dataclass

from omniretail.auth.models import Role
from omniretail.auth.security import AuthPrincipal

PUBLIC = "public"
AUTHENTICATED = "authenticated"


@dataclass(frozen=True)
class Rule:
    permission: str
    # For customers: the route may be used without naming their own profile in the path.
    customer_unscoped: bool = False
    # A public route that writes or holds a connection: counted per client address
    # (``auth.api.authorize``), 429 past ``public_requests_per_window``.
    throttled: bool = False


ALL_STAFF_READ = {"catalog:read", "programme:read"}
# Permissions whose requests a store associate may only make for their own store: the
# locations the request names, and where the fulfilment, hold, transfer or cancelled order
# lines it acts on are served (``auth.access``).
STORE_SCOPED = frozenset({"inventory:write", "returns:write", "fulfilment:write", "orders:write"})

# Permissions no role grants, not even admin's "*": only a system principal (API key, kind
# "system") that was given the permission by name holds it. ``identities:verify`` asserts that
# an identifier was verified by that system (a login provider, a card scanner), so a person's
# token, an admin's included, can never declare an identity verified.
EXPLICIT_ONLY = frozenset({"identities:verify"})
GRANTABLE = EXPLICIT_ONLY

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN.value: frozenset({"*"}),
    Role.STORE_ASSOCIATE.value: frozenset(
        ALL_STAFF_READ
        | {
            "inventory:read",
            "inventory:write",
            "orders:read",
            "orders:write",
            "fulfilment:write",
            "returns:write",
            "returns:request",
            "customers:read",
            "customers:write",
            "consents:write",
            "events:write",
            "loyalty:read",
            "loyalty:redeem",
            "coupons:redeem",
            "carts:write",
            "pricing:read",
            # Writing down an in-store conversation for customer service (not reading them).
            "support:log",
        }
    ),
    Role.SERVICE_AGENT.value: frozenset(
        ALL_STAFF_READ
        | {
            "inventory:read",
            "orders:read",
            "orders:write",
            "returns:write",
            "returns:request",
            "customers:read",
            "customers:write",
            "customers:merge",
            "consents:write",
            "privacy:export",
            "privacy:erase",
            # The message log: every customer's notifications in clear (recipients, names,
            # pickup codes), so not customers:read, which store associates and customers hold.
            "messages:read",
            # Segments and their members (customer ids): to see why a customer got a message.
            "marketing:read",
            "loyalty:read",
            "loyalty:redeem",
            "loyalty:adjust",
            "coupons:redeem",
            # A customer's loyalty coupons with their codes (to read one out on the phone).
            "coupons:codes",
            "carts:write",
            "pricing:read",
            # Customer service: every conversation, reply, note, canned reply and team.
            "support:read",
            "support:write",
            "support:log",
            # The agent's desk (processes.desk): refunds, cancellations, pickup changes,
            # goodwill points and coupons for a customer, each audited.
            "desk:act",
        }
    ),
    # Price lists, schedules and taxes are HQ merchandising: the marketer's (and admin's).
    Role.MARKETER.value: frozenset(
        ALL_STAFF_READ
        | {
            "loyalty:programme",
            "marketing:send",
            "marketing:read",
            "marketing:write",
            "customers:segments",
            "pricing:read",
            "pricing:write",
        }
    ),
    Role.CUSTOMER.value: frozenset(
        ALL_STAFF_READ
        | {
            "customers:read",
            "customers:write",
            "consents:write",
            "events:write",
            "loyalty:read",
            "loyalty:redeem",
            "coupons:redeem",
            # Their own coupons' codes (auth.access: their own profile only).
            "coupons:codes",
            "privacy:export",
            "carts:write",
            # Entering a code that was sent to their own email or phone.
            "identities:confirm",
            # Their own chats with customer service (started signed in, read back).
            "support:chat",
            # Their own orders only (``auth.access``): cancelling what has not shipped.
            "orders:write",
            # Their own orders only: starting, reading and cancelling a return request.
            "returns:request",
            # Their own data only; held while an order is open (``processes.privacy``).
            "privacy:erase",
        }
    ),
}


def allows(role: str, rule: Rule) -> bool:
    """What the role alone grants (``EXPLICIT_ONLY`` permissions never)."""
    if rule.permission in (PUBLIC, AUTHENTICATED):
        return True
    if rule.permission in EXPLICIT_ONLY:
        return False
    granted = ROLE_PERMISSIONS.get(role, frozenset())
    return "*" in granted or rule.permission in granted


def permits(principal: AuthPrincipal, rule: Rule) -> bool:
    """The role's permissions, plus an ``EXPLICIT_ONLY`` one given by name to a system
    principal calling with its API key."""
    if rule.permission in EXPLICIT_ONLY:
        return (
            principal.kind == "system"
            and principal.via == "api_key"
            and rule.permission in principal.permissions
        )
    return allows(principal.role, rule)


def R(permission: str, *, customer_unscoped: bool = False, throttled: bool = False) -> Rule:
    return Rule(permission, customer_unscoped, throttled)


POLICY: dict[str, Rule] = {
    # --- system and auth
    "GET /health": R(PUBLIC),
    "GET /metrics": R("system:read"),
    "POST /auth/token": R(PUBLIC),
    # Every principal, customers included, reads itself and changes its own password.
    "GET /auth/me": R(AUTHENTICATED, customer_unscoped=True),
    "POST /auth/signout": R(AUTHENTICATED, customer_unscoped=True),
    "POST /auth/password": R(AUTHENTICATED, customer_unscoped=True),
    # The one-time reset token is the credential.
    "POST /auth/password-reset": R(PUBLIC),
    # Forgot password: answers the same for every email (auth.password_reset).
    "POST /auth/password-reset/request": R(PUBLIC),
    # The self-service assistant: order details only with the order number and its email.
    "POST /support/assistant": R(PUBLIC),
    "POST /support/assistant/me": R(AUTHENTICATED, customer_unscoped=True),
    "GET /auth/principals": R("auth:admin"),
    "POST /auth/principals": R("auth:admin"),
    "PATCH /auth/principals/{principal_id}": R("auth:admin"),
    "DELETE /auth/principals/{principal_id}": R("auth:admin"),
    "POST /auth/principals/{principal_id}/password-reset": R("auth:admin"),
    "POST /auth/principals/{principal_id}/api-keys": R("auth:admin"),
    "GET /auth/api-keys": R("auth:admin"),
    "POST /auth/api-keys/{key_id}/revoke": R("auth:admin"),
    "GET /audit": R("audit:read"),
    # --- the agent's desk (processes.desk): service agents (and admins)
    "POST /support/desk/fulfilments/{fid}/resend-pickup-code": R("desk:act"),
    "POST /support/desk/fulfilments/{fid}/pickup-store": R("desk:act"),
    "POST /support/desk/orders/{number}/cancel-line": R("desk:act"),
    "POST /support/desk/orders/{number}/return": R("desk:act"),
    "POST /support/desk/orders/{number}/refund-line": R("desk:act"),
    "POST /support/desk/customers/{customer_id}/goodwill-points": R("desk:act"),
    "POST /support/desk/customers/{customer_id}/goodwill-coupon": R("desk:act"),
    # --- catalog
    "POST /products": R("catalog:write"),
    "GET /products/{code}": R("catalog:read", customer_unscoped=True),
    "GET /skus": R("catalog:read", customer_unscoped=True),
    "GET /skus/{code}": R("catalog:read", customer_unscoped=True),
    "PUT /channels/{code}": R("catalog:write"),
    "GET /channels": R("catalog:read", customer_unscoped=True),
    "GET /channels/{code}": R("catalog:read", customer_unscoped=True),
    "PUT /locations/{code}": R("catalog:write"),
    "GET /locations": R("catalog:read", customer_unscoped=True),
    "GET /locations/{code}": R("catalog:read", customer_unscoped=True),
    # --- inventory (store associates: their own store where the request names a location)
    "POST /inventory/receipts": R("inventory:write"),
    "POST /inventory/return-restocks": R("inventory:write"),
    "POST /inventory/write-offs": R("inventory:write"),
    "POST /inventory/adjustments": R("inventory:write"),
    "POST /inventory/counts": R("inventory:write"),
    "POST /inventory/sales": R("inventory:write"),
    "PUT /inventory/policies/{sku}/{location}": R("inventory:write"),
    "POST /inventory/reservations": R("inventory:write"),
    "GET /inventory/reservations/{hold_id}": R("inventory:read"),
    "POST /inventory/reservations/{hold_id}/refresh": R("inventory:write"),
    "POST /inventory/reservations/{hold_id}/release": R("inventory:write"),
    "POST /inventory/reservations/{hold_id}/sell": R("inventory:write"),
    "POST /inventory/reservations/{hold_id}/allocate": R("inventory:write"),
    "POST /inventory/allocations": R("inventory:write"),
    "GET /inventory/allocations/{hold_id}": R("inventory:read"),
    "POST /inventory/allocations/{hold_id}/release": R("inventory:write"),
    "POST /inventory/allocations/{hold_id}/fulfil": R("inventory:write"),
    "POST /inventory/transfers": R("inventory:write"),
    "GET /inventory/transfers": R("inventory:read"),
    "GET /inventory/transfers/{transfer_id}": R("inventory:read"),
    "POST /inventory/transfers/{transfer_id}/ship": R("inventory:write"),
    "POST /inventory/transfers/{transfer_id}/receive": R("inventory:write"),
    "POST /inventory/transfers/{transfer_id}/cancel": R("inventory:write"),
    "GET /inventory/stock": R("inventory:read"),
    "GET /inventory/stock/{sku}/{location}": R("inventory:read"),
    "GET /inventory/ledger": R("inventory:read"),
    "GET /inventory/availability": R("catalog:read", customer_unscoped=True),
    "POST /inventory/availability/query": R("catalog:read", customer_unscoped=True),
    "GET /inventory/availability/nearby": R("catalog:read", customer_unscoped=True),
    "GET /inventory/verify": R("inventory:read"),
    "POST /inventory/sweep": R("inventory:admin"),
    # --- customers
    "POST /events": R("events:write", customer_unscoped=True),
    "POST /customers": R("customers:write"),
    "POST /customers/lookup": R("customers:read"),
    "POST /customers/search": R("customers:read"),
    "POST /customers/merges": R("customers:merge"),
    "GET /customers/merges/{merge_id}": R("customers:merge"),
    "POST /customers/merges/{merge_id}/undo": R("customers:merge"),
    "GET /customers/reviews": R("customers:merge"),
    "POST /customers/reviews/{review_id}/decision": R("customers:merge"),
    "GET /customers/{customer_id}": R("customers:read"),
    "PATCH /customers/{customer_id}": R("customers:write"),
    "GET /customers/{customer_id}/360": R("customers:read"),
    "GET /intelligence/customers/{customer_id}": R("customers:read"),
    # Reorder points and stock positions are internal (GET /skus/{code} shows them only to
    # roles with inventory:read).
    "GET /intelligence/skus/{code}": R("inventory:read"),
    # Markdowns are merchandising: read as prices are, approved by who may change prices.
    "GET /markdowns": R("pricing:read"),
    "GET /markdowns/{suggestion_id}": R("pricing:read"),
    "POST /markdowns/{suggestion_id}/approve": R("pricing:write"),
    "POST /markdowns/{suggestion_id}/reject": R("pricing:write"),
    "POST /markdowns/runs": R("pricing:write"),
    "GET /customers/{customer_id}/identities": R("customers:read"),
    "POST /customers/{customer_id}/identities": R("customers:write"),
    # Nobody declares an identity verified: a code is sent to it (customers and staff may ask
    # for one), only the customer enters it, and only a system holding identities:verify
    # attests a check of its own (docs/architecture.md, "Identity verification").
    "POST /customers/{customer_id}/identities/{identity_id}/verification": R("customers:write"),
    "POST /customers/{customer_id}/identities/{identity_id}/verify": R("identities:confirm"),
    "POST /customers/{customer_id}/identities/{identity_id}/attestation": R("identities:verify"),
    "GET /customers/{customer_id}/consents": R("customers:read"),
    "POST /customers/{customer_id}/consents": R("consents:write"),
    "GET /customers/{customer_id}/consents/history": R("customers:read"),
    "GET /customers/{customer_id}/timeline": R("customers:read"),
    "POST /customers/{customer_id}/identify": R("customers:write"),
    "POST /customers/{customer_id}/contacts": R("customers:write"),
    "POST /customers/{customer_id}/messages": R("marketing:send"),
    "GET /customers/{customer_id}/privacy-log": R("privacy:export"),
    "GET /customers/{customer_id}/export": R("privacy:export"),
    "POST /customers/{customer_id}/erase": R("privacy:erase"),
    # --- loyalty
    "GET /loyalty/programme": R("programme:read", customer_unscoped=True),
    # Staff only: customers read the programme's rules, not its liability.
    "GET /loyalty/overview": R("programme:read"),
    "PUT /loyalty/programme": R("loyalty:programme"),
    "POST /loyalty/customers/{customer_id}/enrol": R("customers:write"),
    "GET /loyalty/customers/{customer_id}": R("loyalty:read"),
    "GET /loyalty/customers/{customer_id}/ledger": R("loyalty:read"),
    "GET /loyalty/customers/{customer_id}/lots": R("loyalty:read"),
    # Staff spend a customer's points only with the code the customer was sent for the sale
    # (loyalty.service.presence); the signed-in customer spends their own without one.
    "POST /loyalty/customers/{customer_id}/presence-codes": R("loyalty:redeem"),
    "POST /loyalty/customers/{customer_id}/redemptions": R("loyalty:redeem"),
    "POST /loyalty/redemptions/{redemption_id}/reverse": R("loyalty:adjust"),
    "POST /loyalty/customers/{customer_id}/actions": R("loyalty:adjust"),
    "POST /loyalty/customers/{customer_id}/adjustments": R("loyalty:adjust"),
    # Codes masked without coupons:codes: a store associate learns a code from the customer
    # at the till (the coupon is the proof they are there), as a points spend needs a code.
    "GET /loyalty/customers/{customer_id}/coupons": R("loyalty:read"),
    "POST /loyalty/coupons/{code}/redeem": R("coupons:redeem"),
    "POST /loyalty/jobs/{name}": R("loyalty:jobs"),
    # --- durable jobs (started by their domain's routes)
    # --- marketing: segments
    # The preview runs a rule of the caller's over every active customer: the rule editor's
    # tool (the HQ builder is shown to marketing:write only), not the agents', who read
    # segments and members to see why a customer got a message.
    "POST /marketing/segments/preview": R("marketing:write"),
    "GET /marketing/segments": R("marketing:read"),
    "POST /marketing/segments": R("marketing:write"),
    "POST /marketing/segments/refresh": R("marketing:write"),
    "GET /marketing/segments/{segment_id}": R("marketing:read"),
    "PATCH /marketing/segments/{segment_id}": R("marketing:write"),
    "DELETE /marketing/segments/{segment_id}": R("marketing:write"),
    "POST /marketing/segments/{segment_id}/refresh": R("marketing:write"),
    "GET /marketing/segments/{segment_id}/members": R("marketing:read"),
    # --- marketing: back-in-stock alerts (a customer's own; staff read them all)
    "GET /customers/{customer_id}/stock-alerts": R("customers:read"),
    "POST /customers/{customer_id}/stock-alerts": R("customers:write"),
    "DELETE /customers/{customer_id}/stock-alerts/{alert_id}": R("customers:write"),
    "GET /marketing/stock-alerts": R("marketing:read"),
    # --- support: agents (service_agent, admin) see and work every conversation; associates
    # log in-store contacts; chats are public by their token (the credential, as a tracking
    # token is); a signed-in customer's own chats are under their profile; the inbound
    # webhook is authenticated by its HMAC signature (support.signing)
    "GET /support/conversations": R("support:read"),
    "GET /support/conversations/{conversation_id}": R("support:read"),
    "GET /support/conversations/{conversation_id}/attachments/{attachment_id}": R("support:read"),
    "POST /support/conversations/{conversation_id}/replies": R("support:write"),
    "POST /support/conversations/{conversation_id}/notes": R("support:write"),
    "POST /support/conversations/{conversation_id}/assign": R("support:write"),
    "POST /support/conversations/{conversation_id}/status": R("support:write"),
    "POST /support/conversations/{conversation_id}/priority": R("support:write"),
    "POST /support/conversations/{conversation_id}/tags": R("support:write"),
    "POST /support/conversations/{conversation_id}/links": R("support:write"),
    "POST /support/conversations/{conversation_id}/merge": R("support:write"),
    "POST /support/conversations/{conversation_id}/split": R("support:write"),
    "POST /support/contacts": R("support:log"),
    "GET /support/canned-replies": R("support:read"),
    "GET /support/canned-replies/{code}": R("support:read"),
    "PUT /support/canned-replies/{code}": R("support:write"),
    "DELETE /support/canned-replies/{code}": R("support:write"),
    "GET /support/teams": R("support:read"),
    "PUT /support/teams/{code}": R("support:admin"),
    "POST /support/webhooks/inbound": R(PUBLIC),
    # anyone may chat, so each client address is counted: a chat is a conversation in the
    # agents' queue and a question to the assistant, and each stream holds a connection
    "POST /support/chats": R(PUBLIC, throttled=True),
    "POST /support/chats/{token}/messages": R(PUBLIC, throttled=True),
    "GET /support/chats/{token}/messages": R(PUBLIC, throttled=True),
    "GET /support/chats/{token}/events": R(PUBLIC, throttled=True),
    # A signed-in customer's own chats (their profile is the chat's verified sender): theirs
    # alone. Staff read conversations with support:read and log contacts with support:log;
    # customers:read and customers:write (store associates) neither read nor start them.
    "POST /customers/{customer_id}/support/chats": R("support:chat"),
    "GET /customers/{customer_id}/support/chats": R("support:chat"),
    "GET /jobs": R("jobs:read"),
    "GET /jobs/{job_id}": R("jobs:read"),
    # --- orders: customers use their own carts and anonymous ones (auth.access)
    "POST /carts": R("carts:write", customer_unscoped=True),
    "GET /carts": R("orders:read"),
    "GET /carts/{token}": R("carts:write", customer_unscoped=True),
    "GET /carts/{token}/qr.{fmt}": R("carts:write", customer_unscoped=True),
    "POST /carts/{token}/lines": R("carts:write", customer_unscoped=True),
    "PATCH /carts/{token}/lines/{sku}": R("carts:write", customer_unscoped=True),
    "DELETE /carts/{token}/lines/{sku}": R("carts:write", customer_unscoped=True),
    "POST /carts/{token}/refresh": R("carts:write", customer_unscoped=True),
    "POST /carts/{token}/coupons": R("carts:write", customer_unscoped=True),
    "DELETE /carts/{token}/coupons/{code}": R("carts:write", customer_unscoped=True),
    "POST /carts/{token}/attach": R("carts:write", customer_unscoped=True),
    "GET /carts/{token}/fulfilment-options": R("carts:write", customer_unscoped=True),
    "POST /carts/{token}/checkout": R("carts:write", customer_unscoped=True),
    "GET /fulfilment-options": R("catalog:read", customer_unscoped=True),
    "PUT /prices/{sku}/{channel}": R("catalog:write"),
    "DELETE /prices/{sku}/{channel}": R("catalog:write"),
    "GET /prices": R("catalog:read", customer_unscoped=True),
    # --- pricing: price lists, taxes (HQ), quotes (the store app, API clients)
    "POST /pricing/quote": R("pricing:read"),
    "GET /pricing/price-lists": R("pricing:read"),
    "GET /pricing/price-lists/{code}": R("pricing:read"),
    "PUT /pricing/price-lists/{code}": R("pricing:write"),
    "DELETE /pricing/price-lists/{code}": R("pricing:write"),
    "GET /pricing/price-lists/{code}/entries": R("pricing:read"),
    "PUT /pricing/price-lists/{code}/entries/{sku}": R("pricing:write"),
    "DELETE /pricing/price-lists/{code}/entries/{sku}": R("pricing:write"),
    "GET /pricing/tax-classes": R("pricing:read"),
    "PUT /pricing/tax-classes/{code}": R("pricing:write"),
    "GET /pricing/tax-rates": R("pricing:read"),
    "POST /pricing/tax-rates": R("pricing:write"),
    "GET /pricing/tax-rates/{rate_id}": R("pricing:read"),
    "PUT /pricing/tax-rates/{rate_id}": R("pricing:write"),
    "DELETE /pricing/tax-rates/{rate_id}": R("pricing:write"),
    "GET /pricing/products/{code}/tax-class": R("pricing:read"),
    "PUT /pricing/products/{code}/tax-class": R("pricing:write"),
    "GET /pricing/promotions": R("pricing:read"),
    "GET /pricing/promotions/{code}": R("pricing:read"),
    "PUT /pricing/promotions/{code}": R("pricing:write"),
    "DELETE /pricing/promotions/{code}": R("pricing:write"),
    "POST /pricing/promotions/{code}/pause": R("pricing:write"),
    "POST /pricing/promotions/{code}/resume": R("pricing:write"),
    "GET /pricing/coupons": R("pricing:read"),
    "POST /pricing/coupons": R("pricing:write"),
    "POST /pricing/coupons/batches": R("pricing:write"),
    "GET /pricing/coupons/batches/{batch}.csv": R("pricing:read"),
    "GET /pricing/coupons/{code}": R("pricing:read"),
    "GET /pricing/coupons/{code}/redemptions": R("pricing:read"),
    "PATCH /pricing/coupons/{code}": R("pricing:write"),
    "DELETE /pricing/coupons/{code}": R("pricing:write"),
    "GET /pricing/fees": R("pricing:read"),
    "GET /pricing/fees/{channel}/{method}": R("pricing:read"),
    "PUT /pricing/fees/{channel}/{method}": R("pricing:write"),
    "DELETE /pricing/fees/{channel}/{method}": R("pricing:write"),
    # --- dynamic pricing (intelligence): rules, runs and the change log are HQ merchandising
    "GET /dynamic-pricing/rules": R("pricing:read"),
    "GET /dynamic-pricing/rules/{code}": R("pricing:read"),
    "PUT /dynamic-pricing/rules/{code}": R("pricing:write"),
    "DELETE /dynamic-pricing/rules/{code}": R("pricing:write"),
    "POST /dynamic-pricing/rules/{code}/pause": R("pricing:write"),
    "POST /dynamic-pricing/rules/{code}/resume": R("pricing:write"),
    "POST /dynamic-pricing/preview": R("pricing:read"),
    "POST /dynamic-pricing/runs": R("pricing:write"),
    "POST /dynamic-pricing/runs/job": R("pricing:write"),
    "GET /dynamic-pricing/runs": R("pricing:read"),
    "GET /dynamic-pricing/changes": R("pricing:read"),
    "GET /dynamic-pricing/changes/{change_id}": R("pricing:read"),
    "POST /dynamic-pricing/changes/{change_id}/revert": R("pricing:write"),
    "GET /routing/rules": R("orders:read"),
    "PUT /routing/rules": R("routing:admin"),
    "GET /routing/rules/versions": R("orders:read"),
    "GET /routing/rules/{version}": R("orders:read"),
    "POST /routing/simulate": R("orders:read"),
    "GET /orders": R("orders:read"),
    "POST /orders/sweep-pickups": R("orders:admin"),
    "GET /orders/{number}": R("orders:read"),
    "GET /orders/{number}/log": R("orders:read"),
    "GET /orders/{number}/refunds": R("orders:read"),
    "POST /orders/{number}/cancel": R("orders:write"),
    # Returns and exchanges move stock at the receiving location: a store associate takes
    # them at their own store only.
    "POST /orders/{number}/returns": R("returns:write"),
    "POST /orders/{number}/exchanges": R("returns:write"),
    # Return requests: a customer starts, reads and cancels those of their own orders; the
    # items are received (and refunded) by staff at the receiving location only.
    "POST /orders/{number}/return-requests": R("returns:request"),
    "GET /orders/{number}/return-requests": R("returns:request"),
    "GET /return-requests/{code}": R("returns:request"),
    "POST /return-requests/{code}/cancel": R("returns:request"),
    "POST /return-requests/{code}/receive": R("returns:write"),
    "POST /fulfilments/{fid}/accept": R("fulfilment:write"),
    "POST /fulfilments/{fid}/pick": R("fulfilment:write"),
    "POST /fulfilments/{fid}/pack": R("fulfilment:write"),
    "POST /fulfilments/{fid}/ship": R("fulfilment:write"),
    "POST /fulfilments/{fid}/deliver": R("fulfilment:write"),
    "POST /fulfilments/{fid}/ready": R("fulfilment:write"),
    "POST /fulfilments/{fid}/collect": R("fulfilment:write"),
    "POST /fulfilments/{fid}/reject": R("fulfilment:write"),
    # --- the message log: every notification sent or tried, decrypted (docs/messaging.md)
    "GET /notifications/messages": R("messages:read"),
    "GET /notifications/messages/{message_id}": R("messages:read"),
    # --- marketing messages (the marketer's and admin's)
    "GET /marketing/messages": R("marketing:read"),
    "POST /marketing/messages": R("marketing:write"),
    "GET /marketing/messages/{code}": R("marketing:read"),
    "PUT /marketing/messages/{code}": R("marketing:write"),
    "DELETE /marketing/messages/{code}": R("marketing:write"),
    "POST /marketing/messages/{code}/preview": R("marketing:read"),
    # --- marketing journeys
    "GET /marketing/journeys": R("marketing:read"),
    "POST /marketing/journeys": R("marketing:write"),
    "GET /marketing/journeys/{code}": R("marketing:read"),
    "PUT /marketing/journeys/{code}/draft": R("marketing:write"),
    "POST /marketing/journeys/{code}/publish": R("marketing:write"),
    "POST /marketing/journeys/{code}/pause": R("marketing:write"),
    "POST /marketing/journeys/{code}/resume": R("marketing:write"),
    "POST /marketing/journeys/{code}/archive": R("marketing:write"),
    "GET /marketing/journeys/{code}/versions": R("marketing:read"),
    "GET /marketing/journeys/{code}/runs": R("marketing:read"),
    "GET /marketing/journey-classics": R("marketing:read"),
    "POST /marketing/journey-classics/{code}/install": R("marketing:write"),
    "GET /marketing/journeys/{code}/results": R("marketing:read"),
    # --- marketing sending: the policy, suppressions, sends, customers' cards
    "GET /marketing/policy": R("marketing:read"),
    "PUT /marketing/policy": R("marketing:write"),
    "GET /marketing/suppressions": R("marketing:read"),
    "POST /marketing/suppressions": R("marketing:write"),
    "DELETE /marketing/suppressions/{customer_id}/{channel}": R("marketing:write"),
    "GET /marketing/sends": R("marketing:read"),
    "GET /marketing/customers/{customer_id}/cards": R("customers:read"),
    "POST /marketing/customers/{customer_id}/cards/{card_id}/dismiss": R("customers:read"),
    # the signed-in customer's own app inbox (staff have none)
    "GET /marketing/inbox": R("customers:read", customer_unscoped=True),
    "POST /marketing/inbox/{card_id}/seen": R("customers:read", customer_unscoped=True),
    "POST /marketing/inbox/{card_id}/dismiss": R("customers:read", customer_unscoped=True),
    # --- webhooks (operators only)
    "POST /webhooks": R("webhooks:admin"),
    "GET /webhooks": R("webhooks:admin"),
    "GET /webhooks/dead-letters": R("webhooks:admin"),
    "POST /webhooks/deliveries/{delivery_id}/replay": R("webhooks:admin"),
    "GET /webhooks/{subscription_id}": R("webhooks:admin"),
    "PATCH /webhooks/{subscription_id}": R("webhooks:admin"),
    "DELETE /webhooks/{subscription_id}": R("webhooks:admin"),
    "GET /webhooks/{subscription_id}/deliveries": R("webhooks:admin"),
}

# Console actions with no API route (they change no stored data, or run a job the CLI also
# runs); the console authorises them by these keys like any other operation.
CONSOLE_ONLY: dict[str, Rule] = {
    "POST /console/signout": R(AUTHENTICATED, customer_unscoped=True),
    "POST /console/store/choose": R("inventory:admin"),
    "GET /console/planning": R("inventory:read"),
    "POST /console/planning/run": R("inventory:admin"),
    # The journey editor's buttons (add, move, remove a step): the form re-drawn, not saved.
    "POST /console/journeys/edit": R("marketing:write"),
}

ADMIN_ONLY = Rule("undeclared")


def rule_for(method: str, path: str) -> Rule | None:
    key = f"{method} {path}"
    return POLICY.get(key) or CONSOLE_ONLY.get(key)


def is_public(method: str, path: str) -> bool:
    """Whether ``method path`` (under /api/v1) is open to anyone (the OpenAPI document says
    so; ``api.openapi`` is given this function, the HTTP kit does not import auth)."""
    rule = rule_for(method, path)
    return rule is not None and rule.permission == PUBLIC


def is_throttled(method: str, path: str) -> bool:
    """Whether ``method path`` (under /api/v1) is counted per client address (429 documented)."""
    rule = rule_for(method, path)
    return rule is not None and rule.throttled
