"""The support routes (mounted by ``app``). The integrator merges this with the rest of the
support domain's routes: the assistant's are in ``assistant_api.py``."""

from __future__ import annotations

from omniretail.support.assistant import warm_up
from omniretail.support.assistant_api import router

__all__ = ["router", "warm_up"]
