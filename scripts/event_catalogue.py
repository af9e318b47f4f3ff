"""Writes docs/events.md from the typed event classes (``kernel.events.catalogue``).

Usage: ``python scripts/event_catalogue.py [--check]``; ``--check`` exits 1 if the file differs.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import omniretail
from omniretail.kernel.events import catalogue

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"


def load_event_modules() -> None:
    """Imports every ``omniretail.<package>.events`` module, so every class is registered."""
    for package in pkgutil.iter_modules(omniretail.__path__):
        if package.ispkg:
            try:
                importlib.import_module(f"omniretail.{package.name}.events")
            except ModuleNotFoundError as exc:
                if exc.name != f"omniretail.{package.name}.events":
                    raise


def main(argv: list[str]) -> int:
    load_event_modules()
    text = catalogue()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is out of date: run python scripts/event_catalogue.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
