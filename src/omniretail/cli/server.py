"""Running the API under uvicorn."""

from __future__ import annotations

import uvicorn

from omniretail.app import create_app
from omniretail.bootstrap import Container


def run_server(container: Container, *, host: str, port: int) -> None:
    app = create_app(container)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
