"""The dashboard's service panel reads its times as a person would: an instant answer is
"under a minute" (not "0.0"), longer spans in minutes, hours and days."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.support import service as support
from omniretail.support.schemas import ChatStart
from omniretail.web.rendering import minutes
from tests.conftest import FixedClock
from tests.web.conftest import sign_in
from tests.web.seed import ADMIN, Seeded


def test_minutes_read_as_a_person_would() -> None:
    assert [minutes(v) for v in (None, 0.0, 0.9, 1.0, 59.4, 60, 95, 1440, 3000)] == [
        "\N{EN DASH}",
        "under a minute",
        "under a minute",
        "1 min",
        "59 min",
        "1 h",
        "1 h 35 min",
        "1 d",
        "2 d 2 h",
    ]


def test_an_instant_answer_reads_under_a_minute(
    web: TestClient, container: Container, seeded: Seeded, clock: FixedClock
) -> None:
    with container.uow() as uow:
        support.start_chat(
            uow,
            ChatStart(message="Where is my order?", email="ada@example.com"),
            assistant=lambda _uow, _request: "It is on its way.",
        )
    clock.advance(seconds=1)  # the panel counts conversations opened before now
    assert sign_in(web, ADMIN).startswith("/hq")
    page = web.get("/hq").text
    first = re.search(r'<td class="n" id="m-first">([^<]*)</td>', page)
    assert first is not None, page
    assert first.group(1) == "under a minute · under a minute"
    assert "(min)" not in page
