"""The outbox relay as its own process, for benchmarks: what ``omniretail events relay`` runs
(the container from the environment's settings, ``relay.run_forever`` at the configured idle
interval), plus a statement count the benchmark can read.

On SIGUSR1 it writes ``{"statements": n, "transactions": n}`` (SQL statements sent by this
process so far, BEGIN excluded, as the server's ``/metrics`` counts them; and commits) to the
file named by ``OMNIRETAIL_BENCH_RELAY_STATS``, then renames it into place, so the benchmark
takes the counts at the start and end of its measured window without a polling thread adding
CPU to the relay."""

from __future__ import annotations

import cProfile
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from omniretail.bootstrap import build_container
from omniretail.settings import Settings


def main() -> None:
    container = build_container(Settings())
    stats_path = Path(os.environ["OMNIRETAIL_BENCH_RELAY_STATS"])
    commits = [0]

    def count_commit(_conn: Any) -> None:
        commits[0] += 1

    for engine in {container.engine, container.relaxed_engine or container.engine}:
        event.listen(engine, "commit", count_commit)

    def write_stats(_signum: int, _frame: Any) -> None:
        partial = stats_path.with_suffix(".tmp")
        partial.write_text(
            json.dumps({"statements": container.counter.value, "transactions": commits[0]})
        )
        partial.replace(stats_path)

    signal.signal(signal.SIGUSR1, write_stats)
    relay = container.relay()
    # OMNIRETAIL_BENCH_RELAY_PROFILE=<file>: cProfile the relay thread (its CPU time),
    # written when SIGTERM stops the relay.
    profile_path = os.environ.get("OMNIRETAIL_BENCH_RELAY_PROFILE")
    profiler = cProfile.Profile(time.thread_time) if profile_path else None
    signal.signal(signal.SIGTERM, lambda *_: relay.stopping.set())
    try:
        if profiler is not None:
            profiler.enable()
        relay.run_forever(container.settings.relay_interval_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        if profiler is not None and profile_path:
            profiler.disable()
            profiler.dump_stats(profile_path)
        container.dispose()


if __name__ == "__main__":
    main()
