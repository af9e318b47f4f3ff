"""docs/operations.md's configuration reference is what ``scripts/settings_reference.py``
writes from the settings classes: every variable, with its type, default and description."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from omniretail.settings import PasswordHashSettings, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "settings_reference", ROOT / "scripts" / "settings_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["settings_reference"] = module
    spec.loader.exec_module(module)
    return module


def test_the_document_is_current(script: ModuleType) -> None:
    assert script.main(["--check"]) == 0


def test_every_setting_is_in_the_document_with_its_default(script: ModuleType) -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    for cls in (Settings, PasswordHashSettings):
        prefix = cls.model_config["env_prefix"]
        for name in cls.model_fields:
            assert f"| `{prefix}{name.upper()}` |" in text, name
    assert "| `OMNIRETAIL_SMTP_PORT` | integer | `25` |" in text
    assert "| `OMNIRETAIL_IDENTITY_CODE_DIGITS` | integer (>= 6, <= 10) | `6` |" in text


def test_a_stale_document_fails_the_check(
    script: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "operations.md"
    current = (ROOT / "docs" / "operations.md").read_text()
    stale.write_text(current.replace("| `OMNIRETAIL_SMTP_PORT` |", "| `OMNIRETAIL_SMTP_PORTS` |"))
    monkeypatch.setattr(script, "DOC", stale)

    assert script.main(["--check"]) == 1
    assert script.main([]) == 0  # rewrites it
    assert stale.read_text() == current


def test_a_setting_without_a_description_is_refused(
    script: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Undocumented(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="X_", use_attribute_docstrings=True)

        described: int = Field(default=1)
        """Has one."""
        bare: int = 2

    monkeypatch.setattr(script, "CLASSES", (Undocumented,))
    with pytest.raises(SystemExit, match=r"no description .* for bare"):
        script.reference()
