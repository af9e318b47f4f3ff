"""Path and query parameters with the bounds of their columns (see ``kernel.limits``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from omniretail.kernel.limits import MAX_AMOUNT, MAX_INT32, MAX_INT64

IdPath = Annotated[int, Path(ge=1, le=MAX_INT64)]
Id32Path = Annotated[int, Path(ge=1, le=MAX_INT32)]
# Codes, tokens, order numbers, uuids in the path.
KeyPath = Annotated[str, Path(min_length=1, max_length=200)]
Offset = Annotated[int, Query(ge=0, le=MAX_AMOUNT)]
BeforeId = Annotated[int | None, Query(ge=1, le=MAX_INT64)]
IndexPath = Annotated[int, Path(ge=0, le=1000)]
