"""The sandbox for templates that staff write (marketing messages, canned replies): Jinja2's
sandbox, plus bounds on what one expression can allocate, so ``{{ 'a' * 10**9 }}`` or
``{{ 2 ** 10**8 }}`` is refused instead of taking a worker's memory or CPU."""

from __future__ import annotations

import operator
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

MAX_REPEAT = 1_000  # items or characters a repetition (``*``) may produce
MAX_EXPONENT = 100
MAX_RANGE = 1_000


def _bounded_range(*args: int) -> range:
    made = range(*args)
    if len(made) > MAX_RANGE:
        raise SecurityError(f"range() of more than {MAX_RANGE} items is not allowed")
    return made


class _Bounds:
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, op: str, left: Any, right: Any) -> Any:
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                repeats = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if repeats and len(seq) * max(times, 0) > MAX_REPEAT:
                    raise SecurityError(f"a repetition longer than {MAX_REPEAT} is not allowed")
            return operator.mul(left, right)
        if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent beyond {MAX_EXPONENT} is not allowed")
        return operator.pow(left, right)


class BoundedSandbox(_Bounds, SandboxedEnvironment):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range


class BoundedImmutableSandbox(_Bounds, ImmutableSandboxedEnvironment):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
