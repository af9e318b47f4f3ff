"""Marketing's long work as durable jobs (omniretail.jobs)."""

from __future__ import annotations

from typing import Any

from omniretail.jobs.runner import JobContext, JobKinds
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault, vault_for
from omniretail.marketing import service

SEGMENTS_REFRESH = service.REFRESH_JOB
BROWSE_SWEEP = "marketing.browse_sweep"


def _refresh(context: JobContext, vault: PiiVault) -> dict[str, Any]:
    """Every segment against every active customer, a transaction per batch; a job taken
    over after a crash starts again from the first customer (batches change only what
    differs, so nothing is emitted twice)."""
    report = service.refresh(
        context.uow_factory,
        progress=lambda done, total: context.progress(done, f"{done} of {total} customers"),
        vault=vault,
    )
    return report.model_dump()


def _browse(context: JobContext) -> dict[str, Any]:
    with context.uow_factory() as uow:
        return {"browse_abandoned": service.browse_sweep(uow)}


def install(kinds: JobKinds, keyring: Keyring) -> None:
    """``keyring``: the PII vault's, to read birth dates for ``age``."""
    vault = vault_for(keyring)
    kinds.add(SEGMENTS_REFRESH, lambda context: _refresh(context, vault))
    kinds.add(BROWSE_SWEEP, _browse)
