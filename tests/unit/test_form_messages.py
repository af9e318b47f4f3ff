"""Form errors in plain words: a code that breaks its pattern says which characters it may use."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from omniretail.web.forms import errors_of, plain_pattern


class Coded(BaseModel):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    slug: str = Field(default="a", pattern=r"^[a-z0-9_-]+$")
    country: str = Field(default="GB", pattern=r"^[A-Za-z]{2}$")


def _errors(**values: str) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Coded.model_validate({"code": "A", **values})
    return errors_of(caught.value)


def test_a_code_with_a_space_says_which_characters_it_may_use():
    assert _errors(code="SPRING SALE") == {
        "code": "Only letters, digits, underscores and hyphens, starting with a letter or digit"
    }
    assert _errors(slug="Big") == {
        "slug": "Only lower-case letters, digits, underscores and hyphens"
    }


def test_a_pattern_it_cannot_put_in_words_keeps_the_schema_message():
    assert _errors(country="GBR") == {"country": "String should match pattern '^[A-Za-z]{2}$'"}
    assert plain_pattern(r"^\d{2}:\d{2}$") is None
