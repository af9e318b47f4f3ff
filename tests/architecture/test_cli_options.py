"""The ``--db URL`` option is defined once, in the CLI kit (``cli/context.py``), and every
command that opens the database takes it from there."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "src" / "omniretail"
# the demo's --db differs on purpose: its default is the embedded SQLite file, not the settings
OWN_DB_OPTION = {"cli/context.py", "demo/cli.py"}


def test_the_db_option_is_defined_only_in_the_cli_kit() -> None:
    defining = sorted(
        path.relative_to(PACKAGE_DIR).as_posix()
        for path in PACKAGE_DIR.rglob("*.py")
        if re.search(r"""typer\.Option\(\s*["']--db["']""", path.read_text(encoding="utf-8"))
    )
    assert set(defining) == OWN_DB_OPTION, defining


def test_commands_with_a_db_parameter_use_the_shared_option() -> None:
    from typer.testing import CliRunner

    from omniretail.commands.main import app

    users = [
        path.relative_to(PACKAGE_DIR).as_posix()
        for path in PACKAGE_DIR.rglob("*.py")
        if "db: DbOption" in path.read_text(encoding="utf-8")
    ]
    assert len(users) > 10, users
    for command in (["migrate"], ["jobs", "run"], ["support", "ingest"]):
        result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
        assert result.exit_code == 0, result.output
        assert "--db" in result.output and "OMNIRETAIL_DATABASE_URL" in result.output
