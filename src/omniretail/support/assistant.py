"""The self-service assistant: one question in, one reply out, answered from live data.

``answer(runtime_or_uow, text, context)`` recognises the intent (``assistant_model``), then
answers it through the domains' public faces: order tracking (``orders.service``), stock at a
store (``inventory.service.availability``, the item found with rapidfuzz over SKU names and
codes), opening hours (catalog locations), returns (the return window setting and the shop's
return pages), the points balance (``loyalty.service``) and how to stop marketing messages
(the unsubscribe link, the shop's preferences page). Order details are given only to a
verified customer: signed in as the order's owner (``context.customer_id``, set by the caller
from the session, never from the request body), or the order number with the email address it
was placed with, compared through the vault's blind index; the pickup code and the tracking
link (whose page shows the code) only to the signed-in owner, since an order number and its
email are printed on receipts and labels. Below the confidence threshold, or
when asked for a person, the reply hands over (``handover=True``) with the transcript.

State is minimal: ``AssistantContext.pending_intent`` remembers a question waiting for an order
number and email; the caller keeps the context between turns."""

from __future__ import annotations

import hmac
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process, utils

from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.loyalty import service as loyalty
from omniretail.orders import service as orders
from omniretail.runtime import Runtime
from omniretail.support.assistant_model import IntentData, IntentModel, load_data, trained

ORDER_NUMBER = re.compile(r"\bOR[\s-]?([A-Z0-9]{10})\b", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ORDER_INTENTS = {"where_is_my_order", "pickup_code", "cancel_order", "change_pickup_store"}
# The questions that can wait for an order number and email (``pending_intent``).
WAITING = ORDER_INTENTS | {"start_return"}
DEFAULT_THRESHOLD = 0.4
DEFAULT_RETURN_WINDOW = 30
# The customer's account page: their orders, each with its return.
ACCOUNT = "/account"
# The shop's privacy and contact preferences: the marketing consents, per channel.
PREFERENCES = "/account/privacy"
SHIPPED = {"shipped", "delivered", "collected", "cancelled"}
STATE_WORDS = {
    "created": "order received",
    "accepted": "being prepared",
    "picking": "being picked",
    "packed": "packed, waiting for the courier",
    "shipped": "on its way",
    "delivered": "delivered",
    "ready_for_pickup": "ready to collect",
    "collected": "collected",
    "cancelled": "cancelled",
}


@dataclass(frozen=True)
class AssistantContext:
    """Who is asking, as the caller established it. ``customer_id``: signed in (verified by the
    session); ``verified_orders``: order numbers this conversation has already verified;
    ``store``: the customer's store (location code), e.g. the shop's chosen store."""

    customer_id: int | None = None
    verified_orders: tuple[str, ...] = ()
    store: str | None = None
    channel: str = "chat"
    pending_intent: str | None = None
    transcript: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssistantReply:
    intent: str
    confidence: float
    text: str
    handover: bool = False
    needs_verification: bool = False
    order_number: str | None = None
    context: AssistantContext = field(default_factory=AssistantContext)
    transcript: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssistantConfig:
    threshold: float = DEFAULT_THRESHOLD
    return_window_days: int = DEFAULT_RETURN_WINDOW
    operator_file: Path | None = None
    cache_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> AssistantConfig:
        return cls(
            threshold=settings.support_assistant_threshold,
            return_window_days=settings.return_window_days,
            operator_file=settings.support_assistant_file,
            cache_dir=settings.resolved_cache_dir(),
        )


def model_for(config: AssistantConfig) -> tuple[IntentModel, IntentData]:
    data = load_data(config.operator_file)
    return trained(data, config.cache_dir), data


def answer(
    source: Runtime | UnitOfWork,
    text: str,
    context: AssistantContext,
    *,
    order_number: str | None = None,
    email: str | None = None,
    config: AssistantConfig | None = None,
) -> AssistantReply:
    """The reply to ``text``. ``source``: a runtime (a read unit of work is opened) or an open
    unit of work. ``order_number``/``email``: given in fields of their own (the API's)."""
    if isinstance(source, UnitOfWork):
        cfg = config or AssistantConfig()
        return _answer(source, text, context, order_number, email, cfg)
    cfg = config or AssistantConfig.from_settings(source.settings)
    with source.read_uow() as uow:
        return _answer(uow, text, context, order_number, email, cfg)


def _answer(
    uow: UnitOfWork,
    text: str,
    ctx: AssistantContext,
    order_number: str | None,
    email: str | None,
    cfg: AssistantConfig,
) -> AssistantReply:
    model, data = model_for(cfg)
    number = _order_number(order_number or text)
    email = email or _email(text)
    transcript = (*ctx.transcript, f"customer: {text}")
    prediction = model.predict(text)
    intent, confidence = prediction.intent, prediction.confidence
    # An order number and email given in answer to "which order?": the waiting question.
    if ctx.pending_intent in WAITING and number and (email or ctx.customer_id):
        intent, confidence = ctx.pending_intent, 1.0
    turn = _Turn(uow, ctx, data.answers, cfg, number, email, text)
    if confidence < cfg.threshold:
        reply = turn.handover(intent, confidence)  # the best guess, for the agent
    else:
        reply = turn.reply(intent, confidence)
    said = (*transcript, f"assistant: {reply.text}")
    return replace(reply, transcript=said, context=replace(reply.context, transcript=said))


class _Turn:
    def __init__(
        self,
        uow: UnitOfWork,
        ctx: AssistantContext,
        answers: dict[str, dict[str, Any]],
        cfg: AssistantConfig,
        number: str | None,
        email: str | None,
        text: str,
    ) -> None:
        self.uow = uow
        self._text = text
        self.ctx = replace(ctx, pending_intent=None)
        self.answers = answers
        self.cfg = cfg
        self.number = number
        self.email = email

    def template(self, intent: str, key: str = "answer") -> str:
        spec = self.answers.get(intent, {})
        return str(spec.get(key) or self.answers["other"]["answer"])

    def say(self, intent: str, confidence: float, text: str, **extra: Any) -> AssistantReply:
        return AssistantReply(intent, round(confidence, 3), text, context=self.ctx, **extra)

    def handover(self, intent: str, confidence: float, text: str | None = None) -> AssistantReply:
        return self.say(intent, confidence, text or self.template("handover"), handover=True)

    def reply(self, intent: str, confidence: float) -> AssistantReply:
        handler: Callable[[str, float], AssistantReply] | None = {
            "where_is_my_order": self.where_is_my_order,
            "pickup_code": self.pickup_code,
            "cancel_order": self.cancel_order,
            "change_pickup_store": self.change_pickup_store,
            "start_return": self.start_return,
            "return_policy": self.return_policy,
            "points_balance": self.points_balance,
            "stock_at_store": self.stock_at_store,
            "opening_hours": self.opening_hours,
            "stop_marketing": self.stop_marketing,
        }.get(intent)
        if handler is not None:
            return handler(intent, confidence)
        spec = self.answers.get(intent, {})
        if spec.get("handover"):
            return self.handover(intent, confidence, self.template(intent))
        return self.say(intent, confidence, self.template(intent))

    # --- verification ------------------------------------------------------------------------

    def verified_order(self, intent: str) -> Any | None:
        """The order row the customer is entitled to see, or None. Signed in: the named order
        if it is theirs, else their latest order. Otherwise the order number with the email
        it was placed with (compared by blind index), or a number verified earlier."""
        uow = self.uow
        if self.number:
            order = orders.get_order_by_number(uow.session, self.number)
            if order is None:
                return None
            if self.number in self.ctx.verified_orders or self._owns(order):
                return order
            if self.email and self._email_matches(order, self.email):
                self.ctx = replace(
                    self.ctx, verified_orders=(*self.ctx.verified_orders, order.number)
                )
                return order
            return None
        if self.ctx.customer_id is not None:
            latest = orders.list_orders(uow, self.ctx.customer_id, limit=1)
            if latest:
                return orders.get_order_by_number(uow.session, latest[0].number)
        if self.ctx.verified_orders:
            return orders.get_order_by_number(uow.session, self.ctx.verified_orders[-1])
        return None

    def _owns(self, order: Any) -> bool:
        if self.ctx.customer_id is None or order.customer_id is None:
            return False
        return order.customer_id in customers.cluster(self.uow, self.ctx.customer_id)

    def _email_matches(self, order: Any, email: str) -> bool:
        stored = orders.contact_email(self.uow.vault, order)
        if not stored:
            return False
        vault = self.uow.vault
        return hmac.compare_digest(
            vault.blind_index("email", stored), vault.blind_index("email", email)
        )

    def ask_to_verify(self, intent: str, confidence: float) -> AssistantReply:
        identified = self.number or self.ctx.customer_id or self.ctx.verified_orders
        key = "unknown" if identified and self.number else "verify"
        if self.ctx.customer_id is not None and not self.number:
            key = "none"
        self.ctx = replace(self.ctx, pending_intent=intent)
        return self.say(
            intent, confidence, self.template(intent, key), needs_verification=key != "none"
        )

    # --- order intents -----------------------------------------------------------------------

    def tracking(self, order: Any) -> Any:
        return orders.tracking_of(self.uow, order)

    def where_is_my_order(self, intent: str, confidence: float) -> AssistantReply:
        order = self.verified_order(intent)
        if order is None or not orders.is_live(order):
            return self.ask_to_verify(intent, confidence)
        track = self.tracking(order)
        rows = []
        for f in track.fulfilments:
            items = ", ".join(f"{ln['quantity']} x {ln['name'] or ln['sku']}" for ln in f.lines)
            carrier = f" with {f.carrier}" if f.carrier else ""
            if f.tracking_number:
                carrier += f" (tracking {f.tracking_number})"
            done = f.status in SHIPPED - {"shipped"}
            promise = "" if done else f", expected by {f.promised_date:%A %d %B}"
            rows.append(
                self.template(intent, "fulfilment").format(
                    items=items or "your items",
                    state=STATE_WORDS.get(f.status, f.status),
                    carrier=carrier,
                    promise=promise,
                )
            )
        # The tracking link only for its owner (it names the order and where it is collected).
        owner = self._owns(order)
        text = self.template(intent, "answer" if owner else "answer_by_email").format(
            number=track.number,
            status=STATE_WORDS.get(track.status, track.status.replace("_", " ")),
            fulfilments="\n".join(rows),
            tracking_url=orders.tracking_link(self.uow.vault, order) if owner else None,
        )
        return self.say(intent, confidence, text, order_number=track.number)

    def pickup_code(self, intent: str, confidence: float) -> AssistantReply:
        order = self.verified_order(intent)
        if order is None or not orders.is_live(order):
            return self.ask_to_verify(intent, confidence)
        track = self.tracking(order)
        # The code hands the order over: the order number and its email (printed on receipts
        # and labels, guessable) are not enough for it, nor for the tracking link.
        by_email = "" if self._owns(order) else "_by_email"
        url = None if by_email else orders.tracking_link(self.uow.vault, order)
        pickups = [f for f in track.fulfilments if f.pickup_location is not None]
        if not pickups:
            text = self.template(intent, f"not_pickup{by_email}").format(
                number=track.number, tracking_url=url
            )
            return self.say(intent, confidence, text, order_number=track.number)
        ready = [f for f in pickups if f.status == "ready_for_pickup"]
        if not ready:
            state = STATE_WORDS.get(pickups[0].status, pickups[0].status)
            text = self.template(intent, f"not_ready{by_email}").format(
                number=track.number, state=state, tracking_url=url
            )
            return self.say(intent, confidence, text, order_number=track.number)
        f = ready[0]
        assert f.pickup_location is not None
        # Not the code itself, even to its owner: the chat is the conversation agents read
        # (a handover); it points to the order page in their account, which shows it.
        text = self.template(intent, f"answer{by_email}").format(
            number=track.number,
            location=f.pickup_location.name,
            link=f"/account/orders/{track.number}",
            collect_by=f"{f.collect_by:%A %d %B}" if f.collect_by else "the date in your email",
        )
        return self.say(intent, confidence, text, order_number=track.number)

    def cancel_order(self, intent: str, confidence: float) -> AssistantReply:
        order = self.verified_order(intent)
        if order is None or not orders.is_live(order):
            return self.ask_to_verify(intent, confidence)
        track = self.tracking(order)
        link = f"/account/orders/{track.number}"
        if track.fulfilments and all(f.status in SHIPPED for f in track.fulfilments):
            text = self.template(intent, "too_late").format(
                number=track.number,
                state=STATE_WORDS.get(track.fulfilments[0].status, track.status),
                return_link=f"{link}/return",
            )
        else:
            text = self.template(intent).format(number=track.number, link=link)
        return self.say(intent, confidence, text, order_number=track.number)

    def change_pickup_store(self, intent: str, confidence: float) -> AssistantReply:
        order = self.verified_order(intent)
        if order is None or not orders.is_live(order):
            return self.ask_to_verify(intent, confidence)
        track = self.tracking(order)
        where = next((f.pickup_location.name for f in track.fulfilments if f.pickup_location), "-")
        text = self.template(intent).format(number=track.number, location=where)
        return self.say(intent, confidence, text, order_number=track.number, handover=True)

    # --- returns, points ---------------------------------------------------------------------

    def start_return(self, intent: str, confidence: float) -> AssistantReply:
        window = self.cfg.return_window_days
        order = self.verified_order(intent) if (self.number or self.ctx.customer_id) else None
        if order is not None:
            link = f"/account/orders/{order.number}/return"
            text = self.template(intent, "answer_order").format(
                number=order.number, link=link, window=window
            )
            return self.say(intent, confidence, text, order_number=order.number)
        text = self.template(intent).format(link=ACCOUNT, window=window)
        return self.say(intent, confidence, text)

    def return_policy(self, intent: str, confidence: float) -> AssistantReply:
        text = self.template(intent).format(window=self.cfg.return_window_days, link=ACCOUNT)
        return self.say(intent, confidence, text)

    def stop_marketing(self, intent: str, confidence: float) -> AssistantReply:
        return self.say(intent, confidence, self.template(intent).format(link=PREFERENCES))

    def points_balance(self, intent: str, confidence: float) -> AssistantReply:
        # Signed in only: an order number and its email (on receipts and labels) are no
        # proof of the person, and the balance is theirs to spend.
        customer_id = self.ctx.customer_id
        if customer_id is None:
            self.ctx = replace(self.ctx, pending_intent=intent)
            return self.say(
                intent, confidence, self.template(intent, "verify"), needs_verification=True
            )
        account = loyalty.account_status(self.uow, customer_id)
        if not account.enrolled:
            return self.say(intent, confidence, self.template(intent, "not_enrolled"))
        pending = f" and {account.pending} pending" if account.pending else ""
        tier = f" Your tier: {account.tier.tier}." if getattr(account.tier, "tier", None) else ""
        expiry = (
            f" {account.next_expiry_points} points expire on {account.next_expiry:%d %B %Y}."
            if account.next_expiry and account.next_expiry_points
            else ""
        )
        text = self.template(intent).format(
            available=account.available,
            value=f"£{account.value}",
            pending=pending,
            tier=tier,
            expiry=expiry,
        )
        return self.say(intent, confidence, text)

    # --- stores ------------------------------------------------------------------------------

    def stores(self) -> dict[str, Any]:
        return {
            loc.code: loc
            for loc in catalog.list_locations(self.uow)
            if loc.active and loc.kind.value == "store"
        }

    def store_named(self, text: str, stores: dict[str, Any]) -> Any | None:
        """A store named in the text (its code, or a word only its name has, matched with
        rapidfuzz so "Camdn" finds Camden), else the customer's store."""
        words = [w for w in utils.default_process(text).split() if len(w) >= 3]
        if words:
            distinct = _distinct_words(stores)
            best: tuple[float, str] | None = None
            for code, keys in distinct.items():
                for key in keys:
                    found = process.extractOne(key, words, scorer=fuzz.ratio)
                    if (
                        found is not None
                        and found[1] >= 85
                        and (best is None or found[1] > best[0])
                    ):
                        best = (found[1], code)
            if best is not None:
                return stores[best[1]]
        if self.ctx.store and self.ctx.store in stores:
            return stores[self.ctx.store]
        return None

    def opening_hours(self, intent: str, confidence: float) -> AssistantReply:
        stores = self.stores()
        store = self.store_named(self._text, stores)
        if store is None:
            names = ", ".join(s.name for s in stores.values()) or "no stores yet"
            return self.say(
                intent, confidence, self.template(intent, "which_store").format(stores=names)
            )
        if not store.opening_hours:
            return self.say(
                intent, confidence, self.template(intent, "none").format(store=store.name)
            )
        hours = "\n".join(
            f"- {day.capitalize()}: {store.opening_hours[day]}"
            for day in DAYS
            if day in store.opening_hours
        )
        return self.say(
            intent, confidence, self.template(intent).format(store=store.name, hours=hours)
        )

    def stock_at_store(self, intent: str, confidence: float) -> AssistantReply:
        stores = self.stores()
        item = find_item(self.uow, self._text)
        if item is None:
            return self.say(intent, confidence, self.template(intent, "which_item"))
        store = self.store_named(self._text, stores)
        if store is None:
            names = ", ".join(s.name for s in stores.values()) or "no stores yet"
            return self.say(
                intent, confidence, self.template(intent, "which_store").format(stores=names)
            )
        sku, name = item
        [found] = inventory.availability(self.uow, [sku], locations=list(stores))
        by_store = {loc.location: loc.available for loc in found.locations}
        count = by_store.get(store.code, 0)
        if count > 0:
            text = self.template(intent).format(item=name, sku=sku, count=count, store=store.name)
        else:
            others = [stores[c].name for c, n in sorted(by_store.items()) if n > 0 and c in stores]
            elsewhere = (
                self.template(intent, "elsewhere").format(stores=", ".join(others))
                if others
                else ""
            )
            text = self.template(intent, "none").format(
                item=name, sku=sku, store=store.name, elsewhere=elsewhere
            )
        return self.say(intent, confidence, text)


def _distinct_words(stores: dict[str, Any]) -> dict[str, list[str]]:
    """Per store: its code and the words of its name no other store's name has."""
    words = {c: set(utils.default_process(loc.name).split()) for c, loc in stores.items()}
    out = {}
    for code, mine in words.items():
        others = set().union(*(w for c, w in words.items() if c != code))
        out[code] = [code.lower(), *sorted(w for w in mine - others if len(w) >= 4)]
    return out


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def find_item(uow: UnitOfWork, text: str) -> tuple[str, str] | None:
    """The SKU the text names: its code written out, or the best fuzzy match on SKU names
    (rapidfuzz WRatio over the active SKUs, read once and kept in the read cache)."""
    index = _sku_index(uow)
    if not index:
        return None
    for token in re.findall(r"\b[0-9A-Za-z]{4,12}\b", text):
        if token.upper() in index:
            return token.upper(), index[token.upper()]
    query = _strip_question(text)
    if not query:
        return None
    found = process.extractOne(
        query, index, scorer=fuzz.token_set_ratio, processor=utils.default_process
    )
    if found is None or found[1] < 70:
        return None
    return str(found[2]), str(found[0])


SKU_INDEX_SECONDS = 300.0
_SKU_INDEXES: weakref.WeakKeyDictionary[Any, tuple[float, dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)
_QUESTION_WORDS = re.compile(
    r"\b(is|are|the|a|an|do|does|you|u|have|has|got|any|in|at|stock|stok|available|"
    r"availability|my|store|shop|local|branch|today|near|me|of|this|item|check|can|i|buy|"
    r"there|left|still|for|please|pls|sell|want|to|know|if|get)\b",
    re.IGNORECASE,
)


def _strip_question(text: str) -> str:
    return " ".join(_QUESTION_WORDS.sub(" ", text.replace("?", " ")).split())


def _sku_index(uow: UnitOfWork) -> dict[str, str]:
    """Code -> name of the active SKUs, kept per database for ``SKU_INDEX_SECONDS`` (names
    change rarely; the database's read cache lives only seconds, too short for a catalogue)."""
    owner = uow.cache
    kept = _SKU_INDEXES.get(owner)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    index: dict[str, str] = {}
    offset = 0
    while True:
        page = catalog.list_skus(uow, offset=offset, limit=1000, active=True)
        index.update((s.code.upper(), s.name) for s in page)
        if len(page) < 1000:
            break
        offset += 1000
    _SKU_INDEXES[owner] = (time.monotonic() + SKU_INDEX_SECONDS, index)
    return index


def _order_number(text: str | None) -> str | None:
    if not text:
        return None
    found = ORDER_NUMBER.search(text)
    return f"OR-{found.group(1).upper()}" if found else None


def _email(text: str) -> str | None:
    found = EMAIL.search(text)
    return found.group(0) if found else None


def email_auto_reply(
    runtime: Runtime | UnitOfWork,
    body: str,
    sender: str,
    *,
    config: AssistantConfig | None = None,
) -> str | None:
    """The reply to an inbound email, or None when it should go to an agent (below the
    threshold, a request for a person, small talk, or a question needing details the email
    cannot verify). The sender's address stands for the email given with an order number: the
    reply goes back to that address, so order details only ever reach the order's own contact
    address even when a From header is forged. ``runtime``: a runtime or an open unit of work
    (the ingest's, then pass ``config``)."""
    text = " ".join(body.split())[:2000]
    reply = answer(runtime, text, AssistantContext(channel="email"), email=sender, config=config)
    if (
        reply.handover
        or reply.needs_verification
        or reply.intent in ("other", "greeting", "thanks")
    ):
        return None
    return reply.text


def warm_up(runtime: Runtime) -> None:
    """Train (or load from the cache) the model at start, so the first question is fast."""
    model_for(AssistantConfig.from_settings(runtime.settings))
