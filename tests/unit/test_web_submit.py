"""``web.deps.submit``: a save form's change, or the form again with its errors and status."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Response
from pydantic import BaseModel, Field

from omniretail.kernel.errors import Conflict
from omniretail.web import deps


class Body(BaseModel):
    name: str = Field(max_length=3)


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []

    def change(request: Any, decided: Any, fn: Any) -> Any:
        calls.append(decided)
        return fn("uow")

    monkeypatch.setattr(deps, "change", change)
    return calls


def answer(fn: Any, **kwargs: Any) -> Response:
    return deps.submit(
        None,  # type: ignore[arg-type]
        "decided",  # type: ignore[arg-type]
        fn,
        done=lambda result: Response(f"done {result}", status_code=303),
        failed=lambda errors, status: Response(repr(sorted(errors.items())), status_code=status),
        **kwargs,
    )


def test_done_gets_the_result_of_the_change(ran: list[Any]) -> None:
    got = answer(lambda uow: Body.model_validate({"name": "abc"}).name + f" in {uow}")
    assert (got.status_code, got.body) == (303, b"done abc in uow")
    assert ran == ["decided"]


def test_a_schema_refusal_is_422_beside_its_field(ran: list[Any]) -> None:
    got = answer(lambda uow: Body.model_validate({"name": "abcd"}))
    assert got.status_code == 422
    assert b"'name'" in got.body and b"at most 3" in got.body


def test_a_domain_error_keeps_its_status_and_errors_can_be_renamed(ran: list[Any]) -> None:
    def refuse(uow: Any) -> None:
        raise Conflict("taken", field="code")

    got = answer(refuse, errors=lambda exc: {"other": exc.detail})
    assert (got.status_code, got.body) == (409, b"[('other', 'taken')]")
    assert answer(refuse).body == b"[('code', 'taken')]"
