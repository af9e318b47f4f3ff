"""The shared CEL kernel: compile once, evaluate to a bool, errors as false."""

from __future__ import annotations

import sys

import pytest

from omniretail.kernel import cel


def test_compile_is_cached_and_a_syntax_error_is_raised() -> None:
    assert cel.compile_program("a > 1") is cel.compile_program("a > 1")
    with pytest.raises(cel.CelSyntaxError) as caught:
        cel.compile_program("a >")
    assert str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.detail.startswith(str(caught.value).strip())


def test_holds_and_evaluate() -> None:
    assert cel.holds(None, {}) and cel.holds("  ", {})
    assert cel.holds('a > 1 && "x" in b', {"a": 2, "b": ["x"]})
    assert not cel.holds("a > 1", {"a": 1})
    assert not cel.holds("a > 1", {"a": "s"})  # a type error: false
    assert not cel.holds("missing == 1", {})  # an unknown variable: false
    assert not cel.holds("a >", {"a": 1})  # does not parse: false
    assert not cel.holds("a", {"a": 3})  # not a bool: false
    prepared = cel.activation({"a": 2.5})
    assert cel.evaluate(cel.compile_program("a >= 2.5"), prepared)
    assert not cel.evaluate(cel.compile_program("a < 2.5"), prepared)


def test_compiling_leaves_the_recursion_limit_as_the_import_set_it():
    before = sys.getrecursionlimit()
    assert before >= cel.CEL_RECURSION_LIMIT
    cel.compile_program("1 + 1 == 2 && 'recursion' != ''")
    assert sys.getrecursionlimit() == before
