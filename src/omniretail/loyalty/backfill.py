"""Moved to ``loyalty.service.backfill``: import ``backfill_history`` from ``loyalty.service``.
This module stays only for ``demo/cli.py`` until it does (then delete it)."""

from __future__ import annotations

from omniretail.loyalty.service.backfill import backfill_history

__all__ = ["backfill_history"]
