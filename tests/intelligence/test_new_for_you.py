"""``service.new_for_you``: the stored "new for you" list (products the person has not
bought) behind the console's customer page; None once personalisation is withdrawn."""

from __future__ import annotations

from omniretail.intelligence import service
from omniretail.intelligence.tasks import refresh_all
from tests.intelligence.helpers import A_ONLY, A, B, customer_ids, import_synthetic


def test_new_for_you_offers_what_was_bought_with_theirs_and_respects_consent(
    client, container, tmp_path
):
    import_synthetic(container, tmp_path)
    with container.read_uow() as uow:
        assert service.new_for_you(uow, customer_ids(container)[A_ONLY]) == []  # no run yet
    refresh_all(container)
    a_only = customer_ids(container)[A_ONLY]

    with container.read_uow() as uow:
        offered = [p.sku for p in service.new_for_you(uow, a_only, 5) or []]
    assert B in offered  # bought with A by five others
    assert A not in offered  # already bought: not new

    withdrawn = client.post(
        f"/api/v1/customers/{a_only}/consents",
        json={"purpose": "personalisation", "channel": "all", "granted": False},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    with container.read_uow() as uow:
        assert service.new_for_you(uow, a_only, 5) is None
