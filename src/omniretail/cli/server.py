"""Running the API under uvicorn."""

from __future__ import annotations

import os

import uvicorn

from omniretail.app import create_app
from omniretail.bootstrap import Container


def run_server(container: Container, *, host: str, port: int, workers: int = 1) -> None:
    """One process serves ``container``; with ``workers`` > 1 uvicorn starts that many, each
    building its own container from the environment (``OMNIRETAIL_*``), where the database
    URL and the number of processes sharing the connection budget are set here."""
    if workers <= 1:
        app = create_app(container)
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
        return
    os.environ["OMNIRETAIL_DATABASE_URL"] = container.settings.resolved_database_url()
    os.environ["OMNIRETAIL_DB_PROCESSES"] = str(container.settings.db_processes)
    container.dispose()
    uvicorn.run(
        "omniretail.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
    )
