"""The authorisation decision, one for every edge: may this principal perform this operation?

An operation is named as the API names it, ``"METHOD /path-template"`` (under /api/v1), with
its path parameters and the body it acts on (``Action``). ``decide`` looks the operation up in
``auth.policy``, checks the role's permission, then the scopes: a customer acts on their own
data and carts only, a store associate on their own store only (docs/architecture.md, "Access
control and audit"). A refusal raises ``Forbidden`` (403, problem+json in the API, the error
page in the console) before anything is written.

The API (``auth.api.authorize``) and the console (``web.deps.authorize_as``) both decide
here. ``screen`` is the part that needs no database: it settles admins and unscoped roles
alone and returns the checks that need a stored row (a fulfilment's sites, a hold, a transfer,
an order's lines, a cart's or a profile's owner), which the API runs off the event loop only
when there are any. A row that does not exist passes; the operation answers its own 404."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from omniretail.auth import policy
from omniretail.auth.errors import Forbidden
from omniretail.auth.models import Role
from omniretail.auth.security import AuthPrincipal
from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownChannel
from omniretail.catalog.schemas import SELF_SERVICE_KINDS
from omniretail.customers import service as customers
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.errors import UnknownReturnRequest
from omniretail.inventory import service as inventory
from omniretail.inventory import service as transfers
from omniretail.inventory.errors import UnknownHold, UnknownTransfer
from omniretail.orders import service as orders
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.schemas import CancelBody

STORE_FIELDS = ("location", "from_location", "to_location", "store", "location_code")
T = TypeVar("T")
# A scope check that reads stored rows; raises ``Forbidden``.
Check = Callable[[UnitOfWork], None]


class Reader(Protocol):
    """Runs a function in a (read) unit of work and returns its result."""

    def __call__(self, fn: Callable[[UnitOfWork], T], /) -> T: ...


@dataclass(frozen=True)
class Action:
    """An operation as the API names it, with what it acts on."""

    method: str
    path: str  # the template under /api/v1, e.g. "/inventory/transfers/{transfer_id}/ship"
    params: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None
    query: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls, operation: str, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Action:
        method, _, path = operation.partition(" ")
        return cls(method.upper(), path, params or {}, body)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def rule(self) -> policy.Rule:
        return policy.rule_for(self.method, self.path) or policy.ADMIN_ONLY

    @property
    def step(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def decide(read: Reader, principal: AuthPrincipal, action: Action) -> None:
    """Raises ``Forbidden`` unless ``principal`` may perform ``action``."""
    run_checks(read, screen(principal, action))


def run_checks(read: Reader, checks: list[Check]) -> None:
    """The checks ``screen`` left, in one unit of work."""
    if checks:
        read(lambda uow: [check(uow) for check in checks])


def scoped(principal: AuthPrincipal, rule: policy.Rule) -> bool:
    """Whether anything beyond the role's permission applies (the request body or stored
    rows may matter); False for admins and unscoped roles."""
    if rule.permission == policy.PUBLIC:
        return False
    if principal.role == Role.CUSTOMER.value:
        return True
    return principal.role == Role.STORE_ASSOCIATE.value and rule.permission in policy.STORE_SCOPED


def screen(principal: AuthPrincipal, action: Action) -> list[Check]:
    """The decision as far as it goes without the database: raises ``Forbidden`` for what
    the role, the path and the body settle, and returns the checks that need stored rows."""
    rule = action.rule
    if rule.permission == policy.PUBLIC:
        return []
    if not policy.permits(principal, rule):
        raise Forbidden(f"role {principal.role} may not {action.key}")
    if not scoped(principal, rule):
        return []
    if principal.role == Role.CUSTOMER.value:
        return _own_data(principal, rule, action)
    return _own_store(principal, action)


# --- customers: their own profile, events and carts -------------------------------------------


def _own_data(principal: AuthPrincipal, rule: policy.Rule, action: Action) -> list[Check]:
    raw = action.params.get("customer_id")
    if raw is not None:
        return _person(principal, raw, "customers may only see and change their own data")
    number = action.params.get("number")
    if number is not None and action.path.startswith("/orders/{number}"):
        return [_order_check(principal, str(number))]
    code = action.params.get("code")
    if code is not None and action.path.startswith("/return-requests/{code}"):
        return [_order_check(principal, str(code), by_return_code=True)]
    if not rule.customer_unscoped:
        raise Forbidden("customers may only act on their own profile")
    body = action.body
    checks: list[Check] = []
    priced_on = action.query.get("channel")
    if priced_on is not None:  # a cart or an item's options read at another channel's prices
        checks.append(_self_service_channel(str(priced_on)))
    fields = body if isinstance(body, dict) else {}
    channel = fields.get("channel")
    if channel is not None:  # a body's channel, on any route: the prices or stock it shows
        checks.append(_self_service_channel(str(channel)))
    if action.path == "/events":
        events = fields.get("events", [])
        anonymous: set[str] = set()
        for event in events if isinstance(events, list) else []:
            cid = event.get("customer_id") if isinstance(event, dict) else None
            if cid is not None:
                checks += _person(principal, cid, "customers may only send their own events")
            anon = event.get("anonymous_id") if isinstance(event, dict) else None
            if cid is None and isinstance(anon, str):  # filed under the session's profile
                anonymous.add(anon.strip())  # as the event's schema reads it
        if anonymous:
            checks.append(_own_anonymous_ids(principal, sorted(anonymous)))
    elif action.path.startswith("/carts"):
        named = fields.get("customer_id")
        if named is not None:
            checks += _person(
                principal, named, "customers may only create or attach carts for themselves"
            )
        token = action.params.get("token")
        if token is not None:
            checks.append(_cart_check(principal, str(token), changing=action.method != "GET"))
        email = fields.get("contact_email")
        if action.path == "/carts/{token}/checkout" and email is not None:
            checks.append(_own_email(principal, str(email)))
    return checks


def _own_anonymous_ids(principal: AuthPrincipal, anonymous_ids: list[str]) -> Check:
    """Events a customer sends without naming anyone are filed under their browsing session's
    profile: it must be theirs or nobody's yet, or they would land on that person's timeline.
    (An event naming the customer is theirs whatever device sent it: a shared tablet.)"""

    def check(uow: UnitOfWork) -> None:
        for owner in customers.anonymous_owners(uow, anonymous_ids).values():
            if not same_person(uow, principal, owner):
                raise Forbidden("customers may only send events of their own browsing sessions")

    return check


def _own_email(principal: AuthPrincipal, email: str) -> Check:
    """A customer's order mails go to an email they verified: any other address would have
    the shop mail a third party (confirmations, pickup codes, tracking links)."""

    def check(uow: UnitOfWork) -> None:
        owners = customers.verified_email_owners(uow, email, vault=uow.vault)
        if not any(principal.customer_id in cluster for _identity, cluster in owners):
            raise Forbidden(
                "a customer's order mails go to an email address they verified: "
                "leave contact_email out to use yours"
            )

    return check


def _self_service_channel(code: str) -> Check:
    """A cart, line or checkout a customer names a channel for: one they buy on themselves."""

    def check(uow: UnitOfWork) -> None:
        if not _self_service(uow, code):
            raise Forbidden(f"customers buy on the web shop or the app, not on channel {code}")

    return check


def _self_service(uow: UnitOfWork, code: str) -> bool:
    """Whether channel ``code`` is one customers buy on; an unknown one passes (its route
    answers 404)."""
    try:
        return catalog.get_channel(uow, code.strip().upper()).kind in SELF_SERVICE_KINDS
    except UnknownChannel:
        return True


def _person(principal: AuthPrincipal, raw: Any, message: str) -> list[Check]:
    """Nothing to read when ``raw`` is the principal's own id; a refusal when it is no id."""
    try:
        asked = int(raw)
    except (TypeError, ValueError):
        raise Forbidden(message) from None
    if principal.customer_id is None:
        raise Forbidden(message)
    if asked == principal.customer_id:
        return []

    def check(uow: UnitOfWork) -> None:
        if not same_person(uow, principal, asked):
            raise Forbidden(message)

    return [check]


def same_person(uow: UnitOfWork, principal: AuthPrincipal, asked: int) -> bool:
    """``asked`` is the principal's profile or one merged with it."""
    if principal.customer_id is None:
        return False
    if asked == principal.customer_id:
        return True
    try:
        return customers.resolve_id(uow, asked) == customers.resolve_id(uow, principal.customer_id)
    except (UnknownCustomer, CustomerErased):
        return False


def _order_check(principal: AuthPrincipal, number: str, *, by_return_code: bool = False) -> Check:
    """A customer acts on the orders of their own profiles only (and on the return requests
    of those orders, named by their code). Another's order or request answers exactly as an
    unknown one does (404, the routes' words), so order numbers, printed on receipts and
    labels, cannot be tried one by one to learn which exist."""

    def check(uow: UnitOfWork) -> None:
        if by_return_code:
            found = fulfilment.return_request_order(uow, number)
            if found is None:
                return  # no such request: the route answers 404
            owner = orders.order_customer(uow, found)
        else:
            owner = orders.order_customer(uow, number)
        if owner is None:
            return  # no such order: the route answers 404
        if owner.customer_id is None or not same_person(uow, principal, owner.customer_id):
            if by_return_code:
                raise UnknownReturnRequest(f"no return request with code {number!r}", field="code")
            raise UnknownOrder(f"no order with number {number!r}", field="number")

    return check


def _cart_check(principal: AuthPrincipal, token: str, *, changing: bool) -> Check:
    """A customer uses their own carts (those of any profile merged into theirs) and anonymous
    carts, whose token they present. ``changing`` (lines, coupons, attach, checkout): only a
    cart on a web or app channel, whatever channel the request names; a cart an associate
    opened at the till is finished at the till (its prices, promotions and holds are the
    till's)."""

    def check(uow: UnitOfWork) -> None:
        owner = orders.cart_owner(uow, token)
        if owner is None:
            return  # no such cart: the route answers 404
        if owner.customer_id is not None and not same_person(uow, principal, owner.customer_id):
            raise Forbidden("this cart belongs to another customer")
        if changing and owner.active and not _self_service(uow, owner.channel or ""):
            raise Forbidden(
                f"this cart is on channel {owner.channel}: customers change and check out only"
                " carts of the web shop or the app"
            )

    return check


# --- store associates: their own store ----------------------------------------------------------


def _own_store(principal: AuthPrincipal, action: Action) -> list[Check]:
    """Every location the operation names, and the location of the fulfilment, order lines,
    hold or transfer it acts on, must be the associate's store."""
    store = principal.store_code
    params, body = action.params, action.body
    named = [params.get("location")]
    if isinstance(body, dict):
        named += [body.get(f) for f in STORE_FIELDS]
    for value in named:
        if isinstance(value, str) and value.strip().upper() != store:
            raise Forbidden(f"store associates of {store} may not change stock at {value}")
    step = action.step
    if "fid" in params:
        return [_fulfilment_check(store, str(params["fid"]), step)]
    if "hold_id" in params:
        return [_hold_check(store, str(params["hold_id"]), step)]
    if "transfer_id" in params:
        return [_transfer_check(store, str(params["transfer_id"]), step)]
    if action.path == "/orders/{number}/cancel":
        try:  # the lines exactly as the route will read them; a body it refuses passes (422)
            line_nos = CancelBody.model_validate(body).named_line_nos()
        except ValidationError:
            return []
        return [_lines_check(store, str(params["number"]), line_nos)]
    return []


def _fulfilment_check(store: str | None, fid: str, step: str) -> Check:
    def check(uow: UnitOfWork) -> None:
        sites = orders.fulfilment_sites(uow, fid)
        if sites is not None and store not in sites.acting(step):
            where = " or ".join(sorted(sites.acting(step)))
            raise Forbidden(
                f"fulfilment {fid} is served by {where}: store associates of {store} may not"
                f" {step} it"
            )

    return check


def _hold_check(store: str | None, hold_id: str, step: str) -> Check:
    def check(uow: UnitOfWork) -> None:
        try:
            location = inventory.get_hold(uow, hold_id).location
        except UnknownHold:
            return
        if location != store:
            raise Forbidden(
                f"hold {hold_id} is at {location}: store associates of {store} may not {step} it"
            )

    return check


def _transfer_check(store: str | None, transfer_id: str, step: str) -> Check:
    """The sending location ships, the receiving one receives; either cancels."""

    def check(uow: UnitOfWork) -> None:
        try:
            t = transfers.get_transfer(uow, transfer_id)
        except UnknownTransfer:
            return
        if step == "ship":
            ends = {t.from_location}
        elif step == "receive":
            ends = {t.to_location}
        else:
            ends = {t.from_location, t.to_location}
        if store not in ends:
            raise Forbidden(
                f"only {' or '.join(sorted(ends))} may {step} transfer {transfer_id}: store"
                f" associates of {store} may not"
            )

    return check


def _lines_check(store: str | None, number: str, line_nos: list[int] | None) -> Check:
    """Cancelling: every line cancelled (the named ones, else all open lines) is sent from or
    collected at the associate's store."""

    def check(uow: UnitOfWork) -> None:
        for line_no, sites in orders.cancel_sites(uow, number, line_nos) or []:
            if store not in sites:
                raise Forbidden(
                    f"line {line_no} of order {number} is served by"
                    f" {' and '.join(sorted(sites))}: store associates of {store} may cancel"
                    " only lines their store serves"
                )

    return check


# --- the audit row ----------------------------------------------------------------------------


def audit_area(path: str) -> str:
    """The audit log's area of an operation: the first segment of its path."""
    area = path.strip("/").split("/")[0] or "api"
    return "customers" if area == "events" else area
