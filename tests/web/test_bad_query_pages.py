"""A console page whose query fails its declared bounds answers with a page a person can read,
not the API's problem+json; the API keeps problem+json for the same kind of mistake."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_shop_query_out_of_bounds_is_a_readable_page(web: TestClient) -> None:
    answer = web.get("/shop", params={"q": "x" * 500})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "Please check what you entered" in answer.text
    assert "q:" in answer.text


def test_a_bad_page_number_is_a_readable_page(web: TestClient) -> None:
    answer = web.get("/shop", params={"page": "abc"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "page:" in answer.text


def test_the_api_still_answers_problem_json(web: TestClient) -> None:
    answer = web.get("/api/v1/skus", params={"limit": "abc"})
    assert answer.status_code in (401, 422)
    assert answer.headers["content-type"].startswith("application/problem+json")
