"""Run the Alembic history programmatically (the installed package carries its migrations).

The scripts live in the edge package ``omniretail.migrations`` (its ``env.py`` imports every
domain's tables); they are found here by path, never imported."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from omniretail.kernel.keys import Keyring

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head", keyring: Keyring | None = None) -> None:
    """``keyring``: for data migrations that encrypt values written in clear before."""
    config = alembic_config(engine)
    if keyring is not None:
        config.attributes["keyring"] = keyring
    command.upgrade(config, revision)
