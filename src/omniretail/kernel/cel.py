"""CEL (Google's Common Expression Language, evaluated by ``cel-python``) for the rules of every
domain: a text compiled once (cached), evaluated to a bool. An evaluation error (an unknown
variable, a type error) is false; a text that does not parse raises ``CelSyntaxError``, which
each domain turns into its own error.

**Bounded cost.** A rule is evaluated per customer, per cart, per event: its work must not
grow with anything an author can type. ``compile_program`` refuses (``CelTooCostly``, a
``CelSyntaxError`` whose message names the limit, so every domain answers its usual 422)
a text over one of these limits, checked on the parse tree:

- a comprehension macro (``map``, ``filter``, ``all``, ``exists``, ``exists_one``) inside
  another's body: nested loops multiply (ten items each, three deep: 1,000 evaluations);
- ``map`` over the result of another ``map``: each can multiply the size of the items
  (``x.map(a, a + a).map(b, b + b)...`` doubles them at every step);
- more than ``MAX_MACROS`` comprehension macros, more than ``MAX_LITERAL`` items in one list
  or map literal, more than ``MAX_TERMS`` operations and values, a parse tree deeper than
  ``MAX_DEPTH`` (brackets within brackets: cel-python's evaluation recurses, and a deep
  tree overflowed its recursion limit, which made the rule silently false).

The limits hold the largest rule the platform writes itself (the loyalty tier-up trigger of
a 20-tier programme, the most a programme may have: 378 terms of the 500, lists of 19, depth
49, no macro) and are far above the guides' examples (under 40 terms, one macro). Without
nesting, a rule's work is at most its size times the length of the lists in its variables (a
cart's lines, a customer's channels).

``matches`` runs on RE2 (``google-re2``, linear time in the text, no backtracking: a pattern
such as ``(a+)+$`` cannot hang on a long name), as cel-python 0.5 does too, but declared
here rather than left to the interpreter's choice, with RE2's error log silenced (a bad
pattern from a rule is an evaluation error: false) and the compiled patterns cached.

**Bounded values.** The limits above bound a rule's steps, not the size of what a step
builds: a fifth probe passed them with a tree of ``a + a`` (a 440 KB text, 127 additions)
fed to ``matches("a[ab]{1000}c")``, 26 s an evaluation (RE2 out of DFA memory is linear in
text times pattern). So ``+`` refuses a text over ``MAX_VALUE_CHARS`` or a list over
``MAX_VALUE_ITEMS`` before building it, ``matches`` a text over ``MAX_MATCH_TEXT`` or a
pattern over ``MAX_PATTERN_PROGRAM`` RE2 instructions, and a rule may make at most
``MAX_MATCHES`` ``matches`` evaluations: each is an evaluation error, so false. That rule
now answers false in ~0.05 s, ten of the costliest ``matches`` allowed in ~0.015 s.
Callers looping over many rows (the segment preview) add a wall-clock budget
(``Deadline``)."""

from __future__ import annotations

import functools
import operator
import sys
import time
from collections.abc import Mapping
from typing import Any

import celpy
import re2
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

# Building a ``celpy.Environment`` sets the interpreter's recursion limit to 2,500 (the depth
# its grammar needs), each time: raised once here, at import, it no longer changes in the
# middle of a request (nor under a test that checks it is left alone).
CEL_RECURSION_LIMIT = 2500
if sys.getrecursionlimit() < CEL_RECURSION_LIMIT:
    sys.setrecursionlimit(CEL_RECURSION_LIMIT)

MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
MAX_MACROS = 10
MAX_LITERAL = 100
MAX_TERMS = 500
MAX_DEPTH = 250
MAX_MATCHES = 10  # matches() evaluations a rule may make (a macro's body counts per item)
# What one value may grow to: ``+`` refuses a longer string or list (an evaluation error, so
# false), and ``matches`` a longer text or a pattern whose RE2 program is bigger. RE2 is
# linear in the text but, once its DFA runs out of memory, also in the pattern's program:
# a 440 KB string built by a tree of ``a + a`` against ``a[ab]{1000}c`` took 2-3 s a call.
MAX_VALUE_CHARS = 10_000
MAX_VALUE_ITEMS = 1_000
MAX_MATCH_TEXT = 1_000
MAX_PATTERN_PROGRAM = 200


class CelSyntaxError(ValueError):
    """The text does not parse as CEL: ``str()`` is the parser's first line, ``detail`` all."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail.splitlines()[0] if detail else "invalid")
        self.detail = detail.strip() or "invalid expression"

    @property
    def summary(self) -> str:
        """What is wrong, in a line, to follow "the condition is ..."."""
        return f"not valid CEL: {self}"


class CelTooCostly(CelSyntaxError):
    """The text parses but passes a cost limit (module docstring): the message, "too costly
    to evaluate: ...", says which."""

    @property
    def summary(self) -> str:
        return str(self)


def _is_macro(node: Any) -> bool:
    return node.data == "member_dot_arg" and str(node.children[1]) in MACROS


def _is_matches(node: Any) -> bool:
    """``text.matches(p)`` or ``matches(text, p)``."""
    if node.data == "member_dot_arg":
        return str(node.children[1]) == "matches"
    return node.data == "ident_arg" and str(node.children[0]) == "matches"


def _literal_size(node: Any) -> int:
    """Items of a list literal, entries of a map literal (``{k: v}``), fields of a message."""
    if node.data not in ("list_lit", "map_lit") or not node.children:
        return 0
    inits = node.children[0]
    if isinstance(inits, str):  # pragma: no cover - the grammar wraps items in a subtree
        return 0
    items = [c for c in inits.children if not isinstance(c, str)]
    return len(items) // 2 if inits.data == "mapinits" else len(items)


def _unwrapped(node: Any) -> Any:
    while (
        node.data not in ("list_lit", "map_lit")
        and len(node.children) == 1
        and not isinstance(node.children[0], str)
    ):
        node = node.children[0]
    return node


def _refuse(reason: str) -> CelTooCostly:
    return CelTooCostly(f"too costly to evaluate: {reason}")


def check_cost(tree: Any) -> None:
    """Raises ``CelTooCostly`` when the parse tree passes one of the limits (module
    docstring). Iterative: a deep tree must not overflow the stack being measured."""
    terms = macros = matching = 0
    # (node, depth, times it runs, the macro whose body holds it, inside what a map() ranges
    # over); the body of a macro over a literal list runs once per item and counts so.
    stack: list[tuple[Any, int, int, str | None, bool]] = [(tree, 1, 1, None, False)]
    while stack:
        node, depth, times, body_of, in_map_target = stack.pop()
        if depth > MAX_DEPTH:
            raise _refuse(
                f"nested more than {MAX_DEPTH} levels deep (brackets within brackets, long"
                " chains of operators)"
            )
        children = node.children
        if not (len(children) == 1 and not isinstance(children[0], str)):
            terms += times  # a node that only passes its one subtree through costs nothing
            if terms > MAX_TERMS:
                raise _refuse(
                    f"more than {MAX_TERMS} operations and values (the body of a macro over"
                    " a literal list counts once per item)"
                )
        if _is_matches(node):
            matching += times
            if matching > MAX_MATCHES:
                raise _refuse(
                    f"more than {MAX_MATCHES} matches() evaluations (a macro's body counts once"
                    " per item of a literal list)"
                )
        if (size := _literal_size(node)) > MAX_LITERAL:
            raise _refuse(f"a literal of {size} items, at most {MAX_LITERAL} in one list or map")
        if not _is_macro(node):
            stack.extend(
                (c, depth + 1, times, body_of, in_map_target)
                for c in children
                if not isinstance(c, str)
            )
            continue
        name = str(children[1])
        if body_of is not None:
            raise _refuse(
                f"{name}() inside the body of {body_of}(); a comprehension nested in another"
                " multiplies the work, at most one level"
            )
        if name == "map" and in_map_target:
            raise _refuse(
                "map() over the result of another map(); each can multiply the size of the items"
            )
        macros += 1
        if macros > MAX_MACROS:
            raise _refuse(
                f"more than {MAX_MACROS} comprehension macros (map, filter, all, exists,"
                " exists_one)"
            )
        target, _name, *rest = children
        stack.append((target, depth + 1, times, None, in_map_target or name == "map"))
        each = max(1, _literal_size(_unwrapped(target)))
        for args in rest:  # the bound variable, then the body (or predicate and transform)
            stack.append((args, depth + 1, times * each, name, in_map_target))


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a rule's bad pattern is an evaluation error, not a log line


def _too_big(what: str) -> CELEvalError:
    return CELEvalError(f"too costly to evaluate: {what}", ValueError, ())


def _matches(text: Any, pattern: Any) -> Any:
    """``text.matches(pattern)`` on RE2, within ``MAX_MATCH_TEXT`` characters of text and
    ``MAX_PATTERN_PROGRAM`` instructions of pattern: at most their product in steps."""
    if isinstance(text, str) and len(text) > MAX_MATCH_TEXT:
        return _too_big(f"matches() on more than {MAX_MATCH_TEXT} characters")
    try:
        compiled = re2.compile(pattern, _RE2_OPTIONS)  # re2 caches compiled patterns
        if compiled.programsize > MAX_PATTERN_PROGRAM:
            return _too_big(f"a pattern of more than {MAX_PATTERN_PROGRAM} RE2 instructions")
        found = compiled.search(text)
    except (re2.error, TypeError, ValueError) as exc:
        return CELEvalError("match error", exc.__class__, exc.args)
    return celtypes.BoolType(found is not None)


def _add(left: Any, right: Any) -> Any:
    """CEL's ``+``, refusing a string, bytes or list past ``MAX_VALUE_CHARS`` /
    ``MAX_VALUE_ITEMS`` before it is built (a tree of ``a + a`` doubles a value per level)."""
    texts = isinstance(left, str | bytes) and isinstance(right, str | bytes)
    if texts and len(left) + len(right) > MAX_VALUE_CHARS:
        return _too_big(f"a text of more than {MAX_VALUE_CHARS} characters")
    lists = isinstance(left, list) and isinstance(right, list)
    if lists and len(left) + len(right) > MAX_VALUE_ITEMS:
        return _too_big(f"a list of more than {MAX_VALUE_ITEMS} items")
    return operator.add(left, right)


FUNCTIONS: dict[str, Any] = {"matches": _matches, "_+_": _add}


@functools.lru_cache(maxsize=4096)
def _compiled(text: str) -> tuple[Any, tuple[type[CelSyntaxError], str] | None]:
    """(program, None), or (None, the refusal): refusals are cached too (as their class and
    message: an exception raised again would keep growing its traceback)."""
    env = celpy.Environment()
    try:
        tree = env.compile(text)
    except Exception as exc:  # celpy raises its parser's errors
        return None, (CelSyntaxError, str(exc))
    try:
        check_cost(tree)
    except CelTooCostly as exc:
        return None, (CelTooCostly, exc.detail)
    return env.program(tree, functions=FUNCTIONS), None


def compile_program(text: str) -> Any:
    """The compiled program of ``text`` (cached per text); raises ``CelSyntaxError`` (or its
    ``CelTooCostly``)."""
    program, refused = _compiled(text)
    if refused is not None:
        cls, detail = refused
        raise cls(detail)
    return program


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
        if _is_macro(node):
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


class Deadline:
    """A wall-clock budget over many evaluations (one rule over every customer): ``passed()``
    between rows, so a rule that is slow on real data stops within one row of the budget."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() >= self._end
