"""PII at rest: the vault lives in ``kernel.vault`` (orders and messaging encrypt with it too);
these names stay importable from here."""

from __future__ import annotations

from omniretail.kernel.vault import LEGACY_PREFIX, PREFIX, PiiVault, normalise, vault_for

__all__ = ["LEGACY_PREFIX", "PREFIX", "PiiVault", "normalise", "vault_for"]
