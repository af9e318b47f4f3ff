"""Starting a command or a server process imports the app, not the model libraries: SciPy,
statsmodels (and pandas under it), scikit-learn and LightGBM are imported where a model is
fitted or asked. Together they took ~2.5 s of the ~6 s that `omniretail --help` took."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["scipy", "statsmodels", "pandas", "sklearn", "lightgbm", "statsforecast", "matplotlib"]

PROBE = f"""
import json, sys
import omniretail.app, omniretail.commands.main
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""


def test_the_app_and_the_commands_start_without_the_model_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
