"""HTTP routes for back-in-stock alerts: the customer's own
(``/customers/{customer_id}/stock-alerts``, scoped to their profile by the policy) and the
staff's list (``/marketing/stock-alerts``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from omniretail.api.deps import ReadDep, UseCaseDep, no_content
from omniretail.api.params import IdPath
from omniretail.db.uow import UnitOfWork
from omniretail.marketing import service
from omniretail.marketing.schemas import StockAlertCreate, StockAlertRead

router = APIRouter(tags=["marketing"])
Code = Annotated[str | None, Query(min_length=1, max_length=40)]


@router.get("/customers/{customer_id}/stock-alerts", response_model=list[StockAlertRead])
def my_alerts(customer_id: IdPath, uow: ReadDep) -> list[StockAlertRead]:
    return service.stock_alerts(uow, customer_id=customer_id)


@router.post(
    "/customers/{customer_id}/stock-alerts", status_code=201, response_model=StockAlertRead
)
def create_alert(
    customer_id: IdPath, body: StockAlertCreate, use_case: UseCaseDep
) -> StockAlertRead:
    """ "Tell me when it's back": at the named store, else the customer's own; one
    ``marketing.back_in_stock`` when the SKU is available there again."""

    def run(uow: UnitOfWork) -> StockAlertRead:
        return service.create_stock_alert(uow, customer_id, body)

    return use_case.run(run, status_code=201)


@router.delete("/customers/{customer_id}/stock-alerts/{alert_id}", status_code=204)
def cancel_alert(customer_id: IdPath, alert_id: IdPath, use_case: UseCaseDep) -> Response:
    use_case.run(
        no_content(lambda uow: service.cancel_stock_alert(uow, customer_id, alert_id)),
        status_code=204,
    )
    return Response(status_code=204)


@router.get("/marketing/stock-alerts", response_model=list[StockAlertRead])
def staff_alerts(
    uow: ReadDep,
    sku: Code = None,
    store: Code = None,
    status: Annotated[Literal["waiting", "notified", "cancelled"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[StockAlertRead]:
    """Alerts, newest first (which SKUs customers wait for, by store)."""
    return service.stock_alerts(uow, sku=sku, store=store, status=status, limit=limit)
