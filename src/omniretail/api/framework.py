"""FastAPI without the per-request parts Omniretail does not use.

FastAPI 0.165 asks on every request whether its native OpenTelemetry is on (three
environment reads when no provider is passed) and wraps every app in an exception-telemetry
middleware and a body-limit middleware. Omniretail uses neither: telemetry is turned off
(where this FastAPI has the ``telemetry`` argument) and the two middlewares are left out of
the stack when they would only pass requests through (``api.limits.BodyLimitMiddleware``
limits bodies). Older FastAPI versions have none of them and are left as they are.
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

# FastAPI's own middlewares that do nothing with telemetry off and no ``max_body_size``.
PASS_THROUGH = frozenset({"ExceptionTelemetryMiddleware", "AppBodyLimitMiddleware"})


def telemetry_off() -> dict[str, Any]:
    """FastAPI's keyword argument turning its telemetry off; none where it has no such one."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {
        "telemetry": {"tracing": False, "metrics": False, "logs": False, "auto_configure": False}
    }


class App(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        telemetry = getattr(self, "_native_telemetry", None)
        if getattr(self, "max_body_size", None) is not None or (
            telemetry is not None and telemetry.enabled()
        ):
            return stack
        outer: Any = stack
        while outer is not None:
            inner: Any = getattr(outer, "app", None)
            while _passes_through(inner):
                inner = inner.app
                outer.app = inner
            outer = inner
        return stack


def _passes_through(app: Any) -> bool:
    kind = type(app)
    return kind.__module__.startswith("fastapi.") and kind.__name__ in PASS_THROUGH
