"""The API's worker processes for benchmarks, each accepting on a listening socket of its own
(``SO_REUSEPORT``, ``omniretail.commands.workers``: what ``omniretail serve --workers N``
runs), with the benchmark server's uvicorn options (uvloop, httptools, a long keep-alive).

    python benchmarks/_api.py --port 8000 --workers 2

The database and the rest come from the environment (``OMNIRETAIL_*``), as in
``_server.running_server``."""

from __future__ import annotations

import argparse

import uvicorn

from omniretail.commands.workers import serve_workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = uvicorn.Config(
        "omniretail.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        backlog=2048,
        # Buyers' connections are opened before the sale and may idle while it runs.
        timeout_keep_alive=300,
        log_level="warning",
        access_log=False,
    )
    serve_workers(config, args.workers)


if __name__ == "__main__":
    main()
