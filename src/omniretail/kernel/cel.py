"""CEL (Google's Common Expression Language, evaluated by ``cel-python``) for the rules of every
domain: a text compiled once (cached), evaluated to a bool. An evaluation error (an unknown
variable, a type error) is false; a text that does not parse raises ``CelSyntaxError``, which
each domain turns into its own error."""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel

# Building a ``celpy.Environment`` sets the interpreter's recursion limit to 2,500 (the depth
# its grammar needs), each time: raised once here, at import, it no longer changes in the
# middle of a request (nor under a test that checks it is left alone).
CEL_RECURSION_LIMIT = 2500
if sys.getrecursionlimit() < CEL_RECURSION_LIMIT:
    sys.setrecursionlimit(CEL_RECURSION_LIMIT)


class CelSyntaxError(ValueError):
    """The text does not parse as CEL: ``str()`` is the parser's first line, ``detail`` all."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail.splitlines()[0] if detail else "invalid")
        self.detail = detail.strip() or "invalid expression"


@functools.lru_cache(maxsize=4096)
def compile_program(text: str) -> Any:
    """The compiled program of ``text`` (cached per text); raises ``CelSyntaxError``."""
    env = celpy.Environment()
    try:
        return env.program(env.compile(text))
    except Exception as exc:  # celpy raises its parser's errors
        raise CelSyntaxError(str(exc)) from exc


MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


@functools.lru_cache(maxsize=4096)
def names(text: str) -> frozenset[str]:
    """The variables ``text`` reads (not those a macro such as ``exists(x, ...)`` binds);
    raises ``CelSyntaxError``."""
    try:
        tree = celpy.Environment().compile(text)
    except Exception as exc:  # celpy raises its parser's errors
        raise CelSyntaxError(str(exc)) from exc
    bound: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "member_dot_arg" and str(node.children[1]) in MACROS:
            first = [n for n in node.children[2].children[0].iter_subtrees() if n.data == "ident"]
            bound.update(str(n.children[0]) for n in first[:1])
    read = {str(n.children[0]) for n in tree.iter_subtrees() if n.data == "ident"}
    return frozenset(read - bound)


def activation(variables: Mapping[str, Any]) -> Any:
    """The variables as CEL values: convert once when several programs read the same ones."""
    return json_to_cel(dict(variables))


def evaluate(program: Any, prepared: Any) -> bool:
    """Whether ``program`` is true for ``activation(...)`` values; an evaluation error: false."""
    try:
        result = program.evaluate(prepared)
    except Exception:  # an unknown field or a type error means "does not apply"
        return False
    return result is True or (isinstance(result, celtypes.BoolType) and bool(result))


def holds(text: str | None, variables: Mapping[str, Any]) -> bool:
    """Whether the expression is true for the variables: empty, always; an error, false."""
    if not text or not text.strip():
        return True
    try:
        program = compile_program(text)
    except CelSyntaxError:
        return False
    return evaluate(program, activation(variables))
