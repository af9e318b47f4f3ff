"""``benchmarks/flow_cpu.py``: the shop's flows run through the app in one process on a fresh
database, and its figures count them (SQLite; the instruction count needs valgrind and is
not run here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "flow_cpu.py"


def test_flows_run_in_process_and_are_counted():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--db", "sqlite", "--flows", "6", "--warm", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["flows"] == 6
    assert figures["errors"] == 0
    assert figures["ordered"] + figures["sold_out"] == 6 and figures["ordered"] > 0
    assert figures["cpu_ms_per_flow"] > 0 and figures["wall_ms_per_flow"] > 0
    assert "instructions_per_flow" not in figures


def test_bad_arguments_are_refused():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--flows", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "--flows must be positive" in done.stderr
