"""The dashboard's sales table shows each channel's column in the channel's currency (its
orders are in it): pounds with pence, then whole yen once the channel sells in yen."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import ChannelWrite
from tests.web.conftest import sign_in
from tests.web.seed import ADMIN, Seeded


def _cells(web: TestClient, refresh: bool) -> list[str]:
    """The sales table's amounts once the job is done (polled, never timed)."""
    url = "/hq/dashboard/sales" + ("?refresh=1" if refresh else "")
    page = web.get(url, headers={"hx-request": "true"}).text
    deadline = time.monotonic() + 60
    while "Computing weekly sales" in page and time.monotonic() < deadline:
        time.sleep(0.2)
        page = web.get("/hq/dashboard/sales", headers={"hx-request": "true"}).text
    assert '<th scope="col" class="n">WEB</th>' in page, page
    return re.findall(r'<td class="n">([^<]*)</td>', page)


def test_the_sales_table_is_in_each_channels_currency(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    assert sign_in(web, ADMIN).startswith("/hq")
    pounds = _cells(web, refresh=False)
    assert pounds and all(re.fullmatch(r"£[\d,]+\.\d\d", c) for c in pounds), pounds
    assert any(c != "£0.00" for c in pounds)
    with container.uow() as uow:
        web_channel = catalog.get_channel(uow, "WEB")
        data = web_channel.model_dump(exclude={"location_codes"})
        catalog.save_channel(
            uow,
            ChannelWrite(
                **{**data, "currency": "JPY", "location_codes": web_channel.location_codes}
            ),
        )
    yen = _cells(web, refresh=True)
    assert yen and all(re.fullmatch(r"¥[\d,]+", c) for c in yen), yen
