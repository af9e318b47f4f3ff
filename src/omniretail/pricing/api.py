"""HTTP routes: price lists and their entries, tax classes and rates, product tax classes,
and the quote (a few lines priced in a context, for the store app and API clients)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict

from omniretail.api.deps import ActorDep, ReadDep, UseCaseDep, no_content
from omniretail.api.downloads import attachment
from omniretail.api.params import IdPath
from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import Timestamp
from omniretail.kernel.money import CountryCode
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import (
    CouponBatchRead,
    CouponBatchWrite,
    CouponRead,
    CouponRedemptionRead,
    CouponWrite,
    FeeMethod,
    FeeRead,
    FeeWrite,
    PriceEntryRead,
    PriceEntryWrite,
    PriceListRead,
    PriceListWrite,
    ProductTaxClassRead,
    ProductTaxClassWrite,
    PromotionRead,
    PromotionWrite,
    QuoteRead,
    QuoteRequest,
    TaxClassRead,
    TaxClassWrite,
    TaxRateRead,
    TaxRateWrite,
)

router = APIRouter(prefix="/pricing", tags=["pricing"])

ListCodePath = Annotated[
    str, Path(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
TaxClassPath = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")]
SkuPath = Annotated[str, Path(min_length=1, max_length=40)]


@router.post("/quote", response_model=QuoteRead)
def quote(body: QuoteRequest, uow: ReadDep) -> QuoteRead:
    """Lines priced as a cart on the channel would be: the list each price came from, the
    adjustments, net, tax and gross per line and in total. Nothing is stored."""
    return pricing.quote(uow, body)


@router.get("/price-lists", response_model=list[PriceListRead])
def list_price_lists(
    uow: ReadDep,
    channel: Code | None = None,
    at: Annotated[Timestamp | None, Query(description="Only the lists in force then")] = None,
) -> list[PriceListRead]:
    return pricing.list_price_lists(uow, channel, at)


@router.get("/price-lists/{code}", response_model=PriceListRead)
def get_price_list(code: ListCodePath, uow: ReadDep) -> PriceListRead:
    return pricing.get_price_list(uow, code.upper())


@router.put("/price-lists/{code}", response_model=PriceListRead)
def save_price_list(
    code: ListCodePath, body: PriceListWrite, use_case: UseCaseDep, actor: ActorDep
) -> PriceListRead:
    """Creates or changes a list. A scheduled price change is a list whose window starts
    later: it takes effect at ``valid_from``, with no job to run."""
    return use_case.run(lambda uow: pricing.save_price_list(uow, code.upper(), body, actor=actor))


@router.delete("/price-lists/{code}", status_code=204)
def delete_price_list(code: ListCodePath, use_case: UseCaseDep, actor: ActorDep) -> Response:
    use_case.run(
        no_content(lambda uow: pricing.delete_price_list(uow, code.upper(), actor=actor)),
        status_code=204,
        remember=False,
    )
    return Response(status_code=204)


@router.get("/price-lists/{code}/entries", response_model=list[PriceEntryRead])
def list_entries(code: ListCodePath, uow: ReadDep, sku: Code | None = None) -> list[PriceEntryRead]:
    return pricing.list_entries(uow, code.upper(), sku)


@router.put("/price-lists/{code}/entries/{sku}", response_model=PriceEntryRead)
def set_entry(
    code: ListCodePath, sku: SkuPath, body: PriceEntryWrite, use_case: UseCaseDep, actor: ActorDep
) -> PriceEntryRead:
    return use_case.run(
        lambda uow: pricing.set_entry(uow, code.upper(), sku.upper(), body, actor=actor)
    )


@router.delete("/price-lists/{code}/entries/{sku}", status_code=204)
def remove_entry(
    code: ListCodePath, sku: SkuPath, use_case: UseCaseDep, actor: ActorDep
) -> Response:
    use_case.run(
        no_content(lambda uow: pricing.remove_entry(uow, code.upper(), sku.upper(), actor=actor)),
        status_code=204,
        remember=False,
    )
    return Response(status_code=204)


@router.get("/tax-classes", response_model=list[TaxClassRead])
def list_tax_classes(uow: ReadDep) -> list[TaxClassRead]:
    return pricing.list_tax_classes(uow)


@router.put("/tax-classes/{code}", response_model=TaxClassRead)
def save_tax_class(
    code: TaxClassPath, body: TaxClassWrite, use_case: UseCaseDep, actor: ActorDep
) -> TaxClassRead:
    return use_case.run(lambda uow: pricing.save_tax_class(uow, code.lower(), body, actor=actor))


@router.get("/tax-rates", response_model=list[TaxRateRead])
def list_tax_rates(uow: ReadDep, country: CountryCode | None = None) -> list[TaxRateRead]:
    return pricing.list_tax_rates(uow, country)


@router.post("/tax-rates", status_code=201, response_model=TaxRateRead)
def add_tax_rate(body: TaxRateWrite, use_case: UseCaseDep, actor: ActorDep) -> TaxRateRead:
    return use_case.run(lambda uow: pricing.add_tax_rate(uow, body, actor=actor), status_code=201)


@router.get("/tax-rates/{rate_id}", response_model=TaxRateRead)
def get_tax_rate(rate_id: IdPath, uow: ReadDep) -> TaxRateRead:
    return pricing.get_tax_rate(uow, rate_id)


@router.put("/tax-rates/{rate_id}", response_model=TaxRateRead)
def update_tax_rate(
    rate_id: IdPath, body: TaxRateWrite, use_case: UseCaseDep, actor: ActorDep
) -> TaxRateRead:
    return use_case.run(lambda uow: pricing.update_tax_rate(uow, rate_id, body, actor=actor))


@router.delete("/tax-rates/{rate_id}", status_code=204)
def delete_tax_rate(rate_id: IdPath, use_case: UseCaseDep, actor: ActorDep) -> Response:
    use_case.run(
        no_content(lambda uow: pricing.delete_tax_rate(uow, rate_id, actor=actor)),
        status_code=204,
        remember=False,
    )
    return Response(status_code=204)


@router.get("/products/{code}/tax-class", response_model=ProductTaxClassRead)
def get_product_tax_class(code: SkuPath, uow: ReadDep) -> ProductTaxClassRead:
    return pricing.get_product_tax_class(uow, code.upper())


@router.put("/products/{code}/tax-class", response_model=ProductTaxClassRead)
def set_product_tax_class(
    code: SkuPath, body: ProductTaxClassWrite, use_case: UseCaseDep, actor: ActorDep
) -> ProductTaxClassRead:
    return use_case.run(
        lambda uow: pricing.set_product_tax_class(uow, code.upper(), body, actor=actor)
    )


# --- delivery and pickup fees


@router.get("/fees", response_model=list[FeeRead])
def list_fees(uow: ReadDep, channel: Code | None = None) -> list[FeeRead]:
    return pricing.list_fees(uow, channel.upper() if channel else None)


@router.get("/fees/{channel}/{method}", response_model=FeeRead)
def get_fee(channel: SkuPath, method: FeeMethod, uow: ReadDep) -> FeeRead:
    return pricing.get_fee(uow, channel.upper(), method)


@router.put("/fees/{channel}/{method}", response_model=FeeRead)
def save_fee(
    channel: SkuPath, method: FeeMethod, body: FeeWrite, use_case: UseCaseDep, actor: ActorDep
) -> FeeRead:
    """What ``method`` costs on ``channel`` (in its currency; ``free_over``: none above it).
    A ``free_delivery`` promotion waives it; no fee: the method is free."""
    return use_case.run(
        lambda uow: pricing.save_fee(uow, channel.upper(), method, body, actor=actor)
    )


@router.delete("/fees/{channel}/{method}", status_code=204)
def delete_fee(
    channel: SkuPath, method: FeeMethod, use_case: UseCaseDep, actor: ActorDep
) -> Response:
    use_case.run(
        no_content(lambda uow: pricing.delete_fee(uow, channel.upper(), method, actor=actor)),
        status_code=204,
        remember=False,
    )
    return Response(status_code=204)


# --- promotions and coupons


class CouponPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool


CouponPath = Annotated[str, Path(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/promotions", response_model=list[PromotionRead])
def list_promotions(uow: ReadDep) -> list[PromotionRead]:
    return pricing.list_promotions(uow)


@router.get("/promotions/{code}", response_model=PromotionRead)
def get_promotion(code: ListCodePath, uow: ReadDep) -> PromotionRead:
    return pricing.get_promotion(uow, code.upper())


@router.put("/promotions/{code}", response_model=PromotionRead)
def save_promotion(
    code: ListCodePath, body: PromotionWrite, use_case: UseCaseDep, actor: ActorDep
) -> PromotionRead:
    """Creates or replaces the promotion (conditions in CEL: ``pricing.promotion_rules``)."""
    return use_case.run(lambda uow: pricing.save_promotion(uow, code.upper(), body, actor=actor))


@router.post("/promotions/{code}/pause", response_model=PromotionRead)
def pause_promotion(code: ListCodePath, use_case: UseCaseDep, actor: ActorDep) -> PromotionRead:
    """Stops the promotion applying (its coupons with it) until it is resumed."""
    return use_case.run(
        lambda uow: pricing.set_promotion_active(uow, code.upper(), False, actor=actor)
    )


@router.post("/promotions/{code}/resume", response_model=PromotionRead)
def resume_promotion(code: ListCodePath, use_case: UseCaseDep, actor: ActorDep) -> PromotionRead:
    """The promotion applies again, within its window."""
    return use_case.run(
        lambda uow: pricing.set_promotion_active(uow, code.upper(), True, actor=actor)
    )


@router.delete("/promotions/{code}", status_code=204)
def delete_promotion(code: ListCodePath, use_case: UseCaseDep, actor: ActorDep) -> Response:
    use_case.run(
        no_content(lambda uow: pricing.delete_promotion(uow, code.upper(), actor=actor)),
        status_code=204,
        remember=False,
    )
    return Response(status_code=204)


@router.get("/coupons", response_model=list[CouponRead])
def list_coupons(
    uow: ReadDep, promotion: Code | None = None, batch: Code | None = None
) -> list[CouponRead]:
    return pricing.list_coupons(
        uow, promotion.upper() if promotion else None, batch.upper() if batch else None
    )


@router.post("/coupons", status_code=201, response_model=CouponRead)
def create_coupon(body: CouponWrite, use_case: UseCaseDep, actor: ActorDep) -> CouponRead:
    """One shared code (e.g. WELCOME10) for a promotion, with its limits."""
    return use_case.run(lambda uow: pricing.create_coupon(uow, body, actor=actor), status_code=201)


@router.post("/coupons/batches", status_code=201, response_model=CouponBatchRead)
def generate_coupons(
    body: CouponBatchWrite, use_case: UseCaseDep, actor: ActorDep
) -> CouponBatchRead:
    """``count`` unique codes (single use unless ``max_uses`` says), exportable as CSV."""
    return use_case.run(
        lambda uow: pricing.generate_coupons(uow, body, actor=actor), status_code=201
    )


@router.get(
    "/coupons/batches/{batch}.csv",
    response_class=Response,
    responses={
        200: {
            "description": "the batch's codes as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def export_coupons(batch: ListCodePath, uow: ReadDep) -> Response:
    coupons = pricing.list_coupons(uow, batch=batch.upper(), limit=None)
    return Response(
        pricing.coupons_csv(coupons),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(f"coupons-{batch.upper()}.csv")},
    )


@router.get("/coupons/{code}", response_model=CouponRead)
def get_coupon(code: CouponPath, uow: ReadDep) -> CouponRead:
    return pricing.get_coupon(uow, code)


@router.get("/coupons/{code}/redemptions", response_model=list[CouponRedemptionRead])
def coupon_redemptions(code: CouponPath, uow: ReadDep) -> list[CouponRedemptionRead]:
    """The coupon's uses: the order, the customer, the money off, and whether a cancellation
    gave the use back."""
    pricing.get_coupon(uow, code)
    return pricing.coupon_redemptions(uow, coupon=code)


@router.patch("/coupons/{code}", response_model=CouponRead)
def pause_coupon(
    code: CouponPath, body: CouponPatch, use_case: UseCaseDep, actor: ActorDep
) -> CouponRead:
    return use_case.run(lambda uow: pricing.set_coupon_active(uow, code, body.active, actor=actor))


@router.delete("/coupons/{code}", status_code=204)
def delete_coupon(code: CouponPath, use_case: UseCaseDep, actor: ActorDep) -> Response:
    use_case.run(
        no_content(lambda uow: pricing.delete_coupon(uow, code, actor=actor)),
        status_code=204,
        remember=False,
    )
    return Response(status_code=204)
