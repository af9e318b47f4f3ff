"""The sandbox for templates that staff write (marketing messages, canned replies): Jinja2's
sandbox, plus bounds on what one expression can allocate, so ``{{ 'a' * 10**9 }}`` or
``{{ 2 ** 10**8 }}`` is refused instead of taking a worker's memory or CPU, and a budget
for one render: every ``for`` loop's items count against ``MAX_LOOP_ITERATIONS`` (nested
loops over ``range(1000)`` stop at once), and ``render_bounded`` stops an output longer than
``MAX_OUTPUT``. Field widths in ``%`` and ``format`` and ``center`` are bounded like
repetitions. Every refusal is a ``SecurityError``."""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import do_center
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment
from jinja2.utils import pass_eval_context

MAX_REPEAT = 1_000  # items or characters a repetition (``*``) or a field width may produce
MAX_EXPONENT = 100
MAX_RANGE = 1_000
MAX_LOOP_ITERATIONS = 10_000  # items all the loops of one render may go through
MAX_OUTPUT = 200_000  # characters one render may write

_LOOP_BUDGET = "omniretail_loop_budget"
_BUDGET_STATE = "_omniretail_loops_done"
_FORMAT_NUMBER = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")
_NESTED_SPEC = re.compile(r"\{[^{}]*:[^{}]*\{")


def _bounded_range(*args: int) -> range:
    made = range(*args)
    if len(made) > MAX_RANGE:
        raise SecurityError(f"range() of more than {MAX_RANGE} items is not allowed")
    return made


def _check_widths(numbers: Iterable[str]) -> None:
    """Widths written as numbers; one given as an argument (``*``) is refused."""
    if any(n == "*" or (n and int(n) > MAX_REPEAT) for n in numbers):
        raise SecurityError(f"a field width beyond {MAX_REPEAT} is not allowed")


def _bounded_center(value: str, width: int = 80) -> str:
    _check_widths([str(max(int(width), 0))])
    return do_center(value, width)


@pass_eval_context
def _counted(eval_ctx: EvalContext, iterable: Any) -> Iterator[Any]:
    """The items of a ``for`` loop, each counted against the render's budget (kept in a list
    on the render's evaluation context, so ``{% autoescape %}`` blocks, which restore the
    context's fields, share it)."""
    done: list[int] = eval_ctx.__dict__.setdefault(_BUDGET_STATE, [0])
    for item in iterable:
        done[0] += 1
        if done[0] > MAX_LOOP_ITERATIONS:
            raise SecurityError(
                f"the loops of this template went through more than {MAX_LOOP_ITERATIONS} items"
            )
        yield item


class _Bounds:
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, op: str, left: Any, right: Any) -> Any:
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                repeats = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if repeats and len(seq) * max(times, 0) > MAX_REPEAT:
                    raise SecurityError(f"a repetition longer than {MAX_REPEAT} is not allowed")
            return operator.mul(left, right)
        if op == "%":
            if isinstance(left, str):
                _check_widths(n for spec in _PERCENT_SPEC.findall(left) for n in spec)
            return operator.mod(left, right)
        if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent beyond {MAX_EXPONENT} is not allowed")
        return operator.pow(left, right)

    def wrap_str_format(self, value: Any) -> Any:
        """``'...'.format``: its field widths are bounded like a repetition."""
        wrapped = super().wrap_str_format(value)  # type: ignore[misc]
        if wrapped is not None:
            spec = str(getattr(value, "__self__", ""))
            if _NESTED_SPEC.search(spec):
                raise SecurityError("a field width given as an argument is not allowed")
            _check_widths(n for f in _BRACE_SPEC.findall(spec) for n in _FORMAT_NUMBER.findall(f))
        return wrapped

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Every ``for`` loop's iterable goes through ``_counted``."""
        tree: nodes.Template = super()._parse(source, name, filename)  # type: ignore[misc]
        for loop in list(tree.find_all(nodes.For)):
            loop.iter = nodes.Call(
                nodes.Name(_LOOP_BUDGET, "load", lineno=loop.lineno),
                [loop.iter],
                [],
                None,
                None,
                lineno=loop.lineno,
            )
        return tree


def _install(env: SandboxedEnvironment) -> None:
    env.globals["range"] = _bounded_range
    env.globals[_LOOP_BUDGET] = _counted
    env.filters["center"] = _bounded_center


class BoundedSandbox(_Bounds, SandboxedEnvironment):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        _install(self)


class BoundedImmutableSandbox(_Bounds, ImmutableSandboxedEnvironment):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        _install(self)


def render_bounded(template: Any, *args: Any, **kwargs: Any) -> str:
    """``template.render(...)``, refused once the output passes ``MAX_OUTPUT`` characters."""
    chunks: list[str] = []
    size = 0
    for chunk in template.generate(*args, **kwargs):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise SecurityError(f"the template wrote more than {MAX_OUTPUT} characters")
        chunks.append(chunk)
    return "".join(chunks)
