"""Running the API under uvicorn."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import typer
import uvicorn

from omniretail.app import create_app
from omniretail.bootstrap import Container
from omniretail.commands.workers import serve_workers


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def exposure_warning(
    host: str, *, ssl_certfile: Path | None, forwarded_allow_ips: str | None
) -> str | None:
    """What to warn about when the server listens beyond this machine without TLS and
    without a TLS-terminating proxy it trusts (sign-in passwords and session cookies would
    cross the network in clear text); ``None`` when there is nothing to say."""
    if is_loopback(host) or ssl_certfile is not None or forwarded_allow_ips:
        return None
    return (
        f"warning: listening on {host} without TLS: passwords, tokens and session cookies"
        " would travel in clear text. Pass --ssl-certfile/--ssl-keyfile, or run behind a"
        " TLS-terminating proxy and name it with --forwarded-allow-ips (or"
        " OMNIRETAIL_FORWARDED_ALLOW_IPS)."
    )


def run_server(
    container: Container,
    *,
    host: str,
    port: int,
    workers: int = 1,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
    forwarded_allow_ips: str | None = None,
) -> None:
    """One process serves ``container``; with ``workers`` > 1 that many worker processes
    (``commands.workers``: each accepts on its own ``SO_REUSEPORT`` socket), each building its
    own container from the environment (``OMNIRETAIL_*``), where the database URL and the
    number of processes sharing the connection budget are set here."""
    forwarded = forwarded_allow_ips or container.settings.forwarded_allow_ips
    warning = exposure_warning(host, ssl_certfile=ssl_certfile, forwarded_allow_ips=forwarded)
    if warning:
        typer.secho(warning, fg=typer.colors.YELLOW, err=True)
    options = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": False,
        "ssl_certfile": str(ssl_certfile) if ssl_certfile else None,
        "ssl_keyfile": str(ssl_keyfile) if ssl_keyfile else None,
        # Client addresses (sign-in throttling) come from X-Forwarded-For only from these.
        "proxy_headers": bool(forwarded),
        "forwarded_allow_ips": forwarded or None,
    }
    if workers <= 1:
        uvicorn.run(create_app(container), **options)  # type: ignore[arg-type]
        return
    os.environ["OMNIRETAIL_DATABASE_URL"] = container.settings.resolved_database_url()
    os.environ["OMNIRETAIL_DB_PROCESSES"] = str(container.settings.db_processes)
    container.dispose()
    config = uvicorn.Config(
        "omniretail.app:create_app",
        factory=True,
        workers=workers,
        **options,  # type: ignore[arg-type]
    )
    serve_workers(config, workers)
