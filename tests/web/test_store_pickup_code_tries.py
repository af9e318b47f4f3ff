"""The store app's hand-over form counts wrong pickup codes (a black-box probe): it shows the
tries left, and after five it asks only for an override with a reason, which hands the order
over (logged). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.web.conftest import post, sign_in
from tests.web.seed import ASSOCIATE, Seeded


def test_the_hand_over_form_counts_wrong_codes_and_then_asks_for_an_override(
    web: TestClient, seeded: Seeded
) -> None:
    sign_in(web, ASSOCIATE)
    page = f"/store/orders/{seeded.pickup_order}"
    html = web.get(page).text
    assert 'id="pickup-code-tries"' not in html and 'id="pickup-code-locked"' not in html
    fid = html.split("/fulfilments/")[1].split("/")[0]
    action = f"{page}/fulfilments/{fid}/collect"
    wrong = "000000" if seeded.pickup_code != "000000" else "111111"

    first: Any = post(web, page, action, {"pickup_code": wrong})
    assert first.status_code == 422
    assert "the pickup code does not match (4 tries left)" in first.text
    assert "1 wrong code tried: 4 tries left before the code is refused." in first.text
    for _ in range(4):
        last: Any = post(web, page, action, {"pickup_code": wrong})
    assert "that was the last try, the code is refused from now on" in last.text

    locked = web.get(page).text
    assert 'id="pickup-code-locked"' in locked
    assert "5 pickup codes were tried without the right one" in locked
    assert 'name="pickup_code"' not in locked  # only the override is asked for
    # the right code posted anyway is refused now
    refused: Any = post(web, page, action, {"pickup_code": seeded.pickup_code})
    assert refused.status_code == 422
    assert "its code is refused from now on" in refused.text

    done: Any = post(web, page, action, {"override_reason": "ID checked: driving licence"})
    assert done.status_code == 303, done.text
    collected = web.get(page).text
    assert "Collected" in collected and 'id="pickup-code-locked"' not in collected
