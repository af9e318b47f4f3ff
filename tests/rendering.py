"""The statements SQLAlchemy renders again when it runs them: an expanding ``IN`` (a list
bound as one parameter) is rendered anew on every execution (its post-compile step)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.sql.compiler import SQLCompiler


@contextmanager
def rendered_again() -> Iterator[list[str]]:
    """The text (its first 160 characters) of each statement rendered again while the block
    runs."""
    rendered: list[str] = []
    original = SQLCompiler._process_parameters_for_postcompile

    def counted(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        rendered.append(" ".join(self.string.split())[:160])
        return original(self, *args, **kwargs)

    SQLCompiler._process_parameters_for_postcompile = counted  # type: ignore[method-assign]
    try:
        yield rendered
    finally:
        SQLCompiler._process_parameters_for_postcompile = original  # type: ignore[method-assign]
