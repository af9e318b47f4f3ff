"""The promotions step of each pricing call, fast under many promotions: the active
promotions are kept in process, indexed by what a cart can match, and only the candidates
of a cart are evaluated.

**Cache.** Each database's active promotions (any window: a scheduled one starts at its time
because windows are checked per call at ``context.at``) are loaded once into a
``PromotionIndex`` and kept with the ``stamp`` of the ``pricing_stamps`` row
``promotions``. Triggers on ``promotions`` (migration ``0027``) give that row a new random
stamp on every insert, update or delete, whoever writes, in the writer's transaction. Every
pricing call reads the stamp in its one statement (with the customer's facts and the usable
applied coupons, as before); a different stamp reloads the promotions (a second statement),
so a change made by any process is seen by every worker's next call. The stamp is random, not
a counter, so a rolled-back change can never be mistaken for a later committed one.

**Index.** Promotions whose effect works on items (``percent_off``, ``amount_off``,
``fixed_price``, ``buy_x_get_y``) and names SKUs or categories change nothing on a cart
without them; a condition whose top-level ``&&`` terms require a SKU, a category or a channel
(``conditions.requirements``) is false on a cart without it. Each promotion is filed under
the narrowest of those keys (SKUs, then categories, then channels), the others go to the
general bucket and coupon-only ones under their code; a cart's candidates are the buckets of
its SKUs, categories and channel, the general bucket and the promotions of its usable coupons,
less those out of window or currency. Dropping a promotion that cannot change the cart
cannot change the result (``PromotionsStep`` skips those before stacking counts them).

**Conditions.** Evaluated once per call for the candidates only: with ``conditions``' Python
predicate when the condition has a fast shape, else with cel-python on variables converted
once; the candidates that hold go to ``promotion_rules.PromotionsStep`` with their condition
already met. Semantics are ``promotion_rules``' (its tests and the database tests run
through this index).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from threading import Lock
from typing import Any

from omniretail.kernel import cel
from omniretail.pricing.conditions import Predicate, compile_fast, requirements
from omniretail.pricing.engine import DraftLine, PricingContext, StepResult
from omniretail.pricing.promotion_rules import (
    ActivePromotion,
    ConditionError,
    PromotionsStep,
    activation,
    compile_condition,
)

ITEM_EFFECTS = frozenset({"percent_off", "amount_off", "fixed_price", "buy_x_get_y"})


@dataclass(frozen=True, kw_only=True)
class IndexedPromotion:
    promotion: ActivePromotion  # without coupon
    requires_coupon: bool
    valid_from: datetime | None
    valid_to: datetime | None
    program: Any = None  # the compiled CEL program (None: no condition, or invalid)
    fast: Predicate | None = None
    invalid: bool = False  # the condition does not compile: never holds
    met: ActivePromotion = field(init=False)  # the promotion with its condition met

    def __post_init__(self) -> None:
        object.__setattr__(self, "met", replace(self.promotion, condition=None))

    def in_force(self, context: PricingContext) -> bool:
        p = self.promotion
        return (
            p.currency in (None, context.currency)
            and (self.valid_from is None or self.valid_from <= context.at)
            and (self.valid_to is None or self.valid_to > context.at)
        )


@dataclass(frozen=True)
class PromotionIndex:
    stamp: int | None
    by_code: Mapping[str, IndexedPromotion]
    by_sku: Mapping[str, tuple[IndexedPromotion, ...]]
    by_category: Mapping[str, tuple[IndexedPromotion, ...]]
    by_channel: Mapping[str, tuple[IndexedPromotion, ...]]
    general: tuple[IndexedPromotion, ...]
    without_coupon: tuple[IndexedPromotion, ...]  # for "is any promotion in force"

    def candidates(
        self, context: PricingContext, lines: Sequence[DraftLine]
    ) -> list[IndexedPromotion]:
        found: dict[str, IndexedPromotion] = {}
        buckets: list[Iterable[IndexedPromotion]] = [
            self.general,
            self.by_channel.get(context.channel, ()),
        ]
        for ln in lines:
            buckets.append(self.by_sku.get(ln.sku, ()))
            if ln.category is not None:
                buckets.append(self.by_category.get(ln.category, ()))
        for bucket in buckets:
            for p in bucket:
                if p.promotion.code not in found and p.in_force(context):
                    found[p.promotion.code] = p
        return list(found.values())

    def any_in_force(self, context: PricingContext, coupons: Sequence[CouponRow]) -> bool:
        """What ``load_step`` has always asked: does any promotion apply to the context."""
        for c in coupons:
            p = self.by_code.get(c.promotion)
            if p is not None and p.in_force(context):
                return True
        return any(p.in_force(context) for p in self.without_coupon)


@dataclass(frozen=True)
class CouponRow:
    """An applied coupon the context's customer may use now (``pricing_call_facts``);
    ``owner``: the customer it was issued to (None: anyone's)."""

    code: str
    promotion: str
    budget_left: Decimal | None
    owner: int | None = None


def build_index(stamp: int | None, rows: Iterable[Any]) -> PromotionIndex:
    """The index of the active promotions (rows of ``promotion_repository.all_active``)."""
    by_code: dict[str, IndexedPromotion] = {}
    by_sku: dict[str, list[IndexedPromotion]] = {}
    by_category: dict[str, list[IndexedPromotion]] = {}
    by_channel: dict[str, list[IndexedPromotion]] = {}
    general: list[IndexedPromotion] = []
    for r in rows:
        entry = _entry(r)
        by_code[r.code] = entry
        if entry.requires_coupon:
            continue
        effect = r.effect or {}
        needs = requirements(entry.program.ast) if entry.program is not None else None
        item = effect.get("type") in ITEM_EFFECTS
        if item and effect.get("skus"):
            _file(by_sku, effect["skus"], entry)
        elif needs is not None and needs.skus is not None:
            _file(by_sku, needs.skus, entry)
        elif item and effect.get("categories"):
            _file(by_category, effect["categories"], entry)
        elif needs is not None and needs.categories is not None:
            _file(by_category, needs.categories, entry)
        elif needs is not None and needs.channels is not None:
            _file(by_channel, needs.channels, entry)
        else:
            general.append(entry)
    return PromotionIndex(
        stamp=stamp,
        by_code=by_code,
        by_sku={k: tuple(v) for k, v in by_sku.items()},
        by_category={k: tuple(v) for k, v in by_category.items()},
        by_channel={k: tuple(v) for k, v in by_channel.items()},
        general=tuple(general),
        without_coupon=tuple(p for p in by_code.values() if not p.requires_coupon),
    )


def _file(
    index: dict[str, list[IndexedPromotion]], keys: Iterable[str], entry: IndexedPromotion
) -> None:
    for key in set(keys):
        index.setdefault(str(key), []).append(entry)


def _entry(r: Any) -> IndexedPromotion:
    program, fast, invalid = None, None, False
    if r.condition and r.condition.strip():
        try:
            program = compile_condition(r.condition)
        except ConditionError:
            invalid = True
        else:
            fast = compile_fast(program.ast)
    return IndexedPromotion(
        promotion=ActivePromotion(
            code=r.code,
            name=r.name,
            condition=r.condition,
            effect=r.effect,
            priority=r.priority,
            exclusive=r.exclusive,
            currency=r.currency,
        ),
        requires_coupon=bool(r.requires_coupon),
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        program=program,
        fast=fast,
        invalid=invalid,
    )


@dataclass(frozen=True)
class IndexedPromotionsStep:
    """A ``PricingStep``: the cart's candidates, their conditions, then ``PromotionsStep``."""

    index: PromotionIndex
    coupons: tuple[CouponRow, ...] = ()

    def apply(self, context: PricingContext, lines: Sequence[DraftLine]) -> StepResult:
        if not lines:
            return StepResult()
        chosen = self.select(context, lines)
        return PromotionsStep(tuple(chosen)).apply(context, lines)

    def select(self, context: PricingContext, lines: Sequence[DraftLine]) -> list[ActivePromotion]:
        """The promotions of the cart whose condition holds (as met: ``condition`` None),
        with the coupon that unlocks each (the first code, as the one statement did)."""
        unlocked: dict[str, CouponRow] = {}
        for c in sorted(self.coupons, key=lambda c: c.code):
            if c.owner is not None and context.customer_id is None:
                continue  # an owned coupon never prices an anonymous cart
            unlocked.setdefault(c.promotion, c)
        found = {p.promotion.code: p for p in self.index.candidates(context, lines)}
        for code in unlocked:
            p = self.index.by_code.get(code)
            if p is not None and p.in_force(context):
                found[code] = p
        variables: dict[str, Any] | None = None
        converted: Any = None
        chosen = []
        for code, p in found.items():
            coupon = unlocked.get(code)
            if p.requires_coupon and coupon is None:
                continue
            if p.invalid:
                continue
            if p.program is not None:
                if variables is None:
                    variables = activation(context, lines)
                if p.fast is not None:
                    if not p.fast(variables):
                        continue
                else:
                    if converted is None:
                        converted = cel.activation(variables)
                    if not cel.evaluate(p.program, converted):
                        continue
            chosen.append(
                replace(p.met, coupon=coupon.code, budget_left=coupon.budget_left)
                if coupon
                else p.met
            )
        return chosen


@dataclass
class _Slot:
    index: PromotionIndex | None = None
    lock: Lock = field(default_factory=Lock)


# One index per database: keyed by the container's read cache (one per database and process).
_SLOTS: weakref.WeakKeyDictionary[Any, _Slot] = weakref.WeakKeyDictionary()
_SLOTS_LOCK = Lock()


def cached_index(owner: Any, stamp: int | None) -> PromotionIndex | None:
    """The index kept for ``owner`` if it was loaded at ``stamp`` (None: no stamp, no cache)."""
    slot = _SLOTS.get(owner)
    if stamp is None or slot is None or slot.index is None or slot.index.stamp != stamp:
        return None
    return slot.index


def keep_index(owner: Any, index: PromotionIndex) -> None:
    with _SLOTS_LOCK:
        slot = _SLOTS.setdefault(owner, _Slot())
    slot.index = index
