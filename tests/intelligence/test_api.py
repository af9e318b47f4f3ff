"""The intelligence results through HTTP: the customer 360 and the SKU and product reads (and
the /intelligence routes), after one batch run over a synthetic history; both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.intelligence.models import CustomerScore, Recommendation
from omniretail.intelligence.tasks import refresh_all
from tests.customers.helpers import make_customer
from tests.intelligence.helpers import (
    A_ONLY,
    AS_OF,
    LOYAL,
    SLOW,
    STEADY,
    A,
    B,
    customer_ids,
    import_synthetic,
    levels,
    make_network,
    receive,
)


@pytest.fixture
def scored(container, tmp_path):
    import_synthetic(container, tmp_path)
    make_network(container)
    receive(container, STEADY, "LON1", 30)
    result = refresh_all(container)
    assert result.as_of == AS_OF
    return customer_ids(container)


def api_key(container, role: Role, **extra) -> dict[str, str]:
    with container.uow() as uow:
        principal = auth.create_principal(
            uow, PrincipalCreate(username=f"{role.value}-1", role=role, kind="system", **extra)
        )
        return {"X-API-Key": auth.create_api_key(uow, principal.id, "tests").key}


def test_the_customer_360_carries_segment_clv_p_alive_and_consented_offers(
    client, container, scored
):
    loyal, a_only = scored[LOYAL], scored[A_ONLY]

    response = client.get(f"/api/v1/customers/{loyal}/360", params={"k": 3})

    assert response.status_code == 200, response.text
    block = response.json()["intelligence"]
    assert block["customer_id"] == loyal
    assert block["segment"] == "champions"
    # 30 weekly orders: 300 units of STEADY at 1.00 and 120 of SLOW at 2.00
    assert block["rfm"] == {
        "recency_days": 1,
        "frequency": 30,
        "monetary": 540.0,
        "r_score": 5,
        "f_score": 5,
        "m_score": 5,
    }
    assert block["clv"]["horizon_weeks"] == 12
    assert block["clv"]["expected_revenue"] > 0
    assert 0.5 < block["p_alive"] <= 1.0
    assert block["as_of"] == AS_OF.isoformat()
    assert block["computed_at"] is not None
    offers = block["recommendations"]
    assert (offers["source"], offers["personalised"], offers["reason"]) == ("personal", True, None)
    assert [i["rank"] for i in offers["items"]] == [1, 2, 3]
    assert {i["sku"] for i in offers["items"][:2]} == {STEADY, SLOW}  # buys them again
    # The same block on its own route.
    alone = client.get(f"/api/v1/intelligence/customers/{loyal}", params={"k": 3})
    assert alone.status_code == 200 and alone.json() == block

    # A one-time buyer: worth less, less likely active.
    other = client.get(f"/api/v1/customers/{a_only}/360").json()["intelligence"]
    assert other["clv"]["expected_revenue"] < block["clv"]["expected_revenue"]
    assert other["p_alive"] < block["p_alive"]
    assert other["recommendations"]["items"][0]["sku"] == A
    assert len(other["recommendations"]["items"]) == 6  # every SKU there is

    # Withdrawing consent to personalisation: the popular list, flagged as such.
    withdrawn = client.post(
        f"/api/v1/customers/{a_only}/consents",
        json={"purpose": "personalisation", "channel": "all", "granted": False},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    gated = client.get(f"/api/v1/customers/{a_only}/360").json()["intelligence"]
    newcomer = make_customer(container, "Nia Newcomer")  # after the batch: not scored
    fresh = client.get(f"/api/v1/customers/{newcomer}/360").json()["intelligence"]
    assert gated["recommendations"]["source"] == "popular"
    assert gated["recommendations"]["personalised"] is False
    assert gated["recommendations"]["reason"] == "personalisation_withdrawn"
    assert gated["segment"] == other["segment"]  # the scores themselves stay
    assert fresh["segment"] == "not_scored"
    assert (fresh["rfm"], fresh["clv"], fresh["p_alive"]) == (None, None, None)
    assert fresh["recommendations"]["reason"] == "no_personal_list"
    assert gated["recommendations"]["items"] == fresh["recommendations"]["items"]
    via_route = client.get(f"/api/v1/intelligence/customers/{a_only}").json()
    assert via_route["recommendations"] == gated["recommendations"]

    granted = client.post(
        f"/api/v1/customers/{a_only}/consents",
        json={"purpose": "personalisation", "channel": "all", "granted": True},
    )
    assert granted.status_code == 200
    back = client.get(f"/api/v1/customers/{a_only}/360").json()["intelligence"]
    assert back["recommendations"] == other["recommendations"]

    # Merged into the newcomer's profile: the survivor shows the merged profile's scores.
    merged = client.post(
        "/api/v1/customers/merges",
        json={"survivor_id": newcomer, "merged_id": a_only, "reason": "same person"},
    )
    assert merged.status_code == 201, merged.text
    for asked in (newcomer, a_only):
        view = client.get(f"/api/v1/customers/{asked}/360").json()
        assert view["customer"]["id"] == newcomer
        assert view["intelligence"] == {**other, "customer_id": newcomer}

    for path in ("/api/v1/customers/987654/360", "/api/v1/intelligence/customers/987654"):
        missing = client.get(path)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


def test_erasure_drops_the_scores_and_later_batches_leave_the_person_out(client, container, scored):
    loyal = scored[LOYAL]
    steady_before = client.get(f"/api/v1/skus/{STEADY}").json()["intelligence"]["forecast"]

    erased = client.post(f"/api/v1/customers/{loyal}/erase")

    assert erased.status_code == 200, erased.text
    assert erased.json()["summary"]["intelligence_scores_deleted"] == 1
    assert client.get(f"/api/v1/intelligence/customers/{loyal}").status_code == 410

    refresh_all(container)

    with container.read_uow() as uow:
        scored_ids = set(uow.session.scalars(select(CustomerScore.customer_id)))
        listed_ids = set(uow.session.scalars(select(Recommendation.customer_id)))
    assert loyal not in scored_ids | listed_ids
    assert scored_ids == set(scored.values()) - {loyal}
    # Their orders still count as demand (as guest orders).
    assert client.get(f"/api/v1/skus/{STEADY}").json()["intelligence"]["forecast"] == steady_before


def test_sku_and_product_reads_carry_forecast_and_reorder_points_for_stock_roles(
    client, container, scored
):
    stock = levels(container)

    response = client.get(f"/api/v1/skus/{STEADY.lower()}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["code"], body["name"], body["active"]) == (STEADY, "STEADY", True)
    block = body["intelligence"]
    assert block["sku"] == STEADY and block["model"] == "ses+calendar"
    assert [p["period_start"] for p in block["forecast"]] == [
        (AS_OF + timedelta(weeks=i)).isoformat() for i in range(12)
    ]
    assert all(9.0 < p["quantity"] < 11.0 for p in block["forecast"])
    _, _, reorder_point, order_up_to = stock[(STEADY, "DC1")]
    assert reorder_point is not None
    assert block["reorder_points"] == [
        {
            "location": "DC1",
            "on_hand": 0,
            "position": 0,
            "safety_stock": 0,
            "reorder_point": reorder_point,
            "order_up_to": order_up_to,
            "at_or_below_reorder_point": True,
        },
        {
            "location": "LON1",
            "on_hand": 30,
            "position": 30,
            "safety_stock": 0,
            "reorder_point": None,
            "order_up_to": None,
            "at_or_below_reorder_point": False,
        },
    ]
    assert client.get(f"/api/v1/intelligence/skus/{STEADY}").json() == block

    product = client.get(f"/api/v1/products/{A}")
    assert product.status_code == 200, product.text
    (pair_block,) = product.json()["intelligence"]
    assert pair_block["sku"] == A
    assert pair_block["bought_together"][0]["sku"] == B
    assert [s["code"] for s in product.json()["skus"]] == [A]

    # Stock and demand figures are internal: a marketer reads the catalog record only.
    marketer = api_key(container, Role.MARKETER)
    as_marketer = client.get(f"/api/v1/skus/{STEADY}", headers=marketer)
    assert as_marketer.status_code == 200
    assert as_marketer.json() == {**body, "intelligence": None}
    assert client.get(f"/api/v1/products/{A}", headers=marketer).json()["intelligence"] is None
    assert client.get(f"/api/v1/intelligence/skus/{STEADY}", headers=marketer).status_code == 403
    associate = api_key(container, Role.STORE_ASSOCIATE, store_code="LON1")
    assert client.get(f"/api/v1/skus/{STEADY}", headers=associate).json() == body

    missing = client.get("/api/v1/skus/NOPE1")
    assert missing.status_code == 404
    assert client.get("/api/v1/intelligence/skus/NOPE1").status_code == 404
