"""The programme rules as data: the active version, cached per unit of work."""

from __future__ import annotations

from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import repository as repo
from omniretail.loyalty.events import (
    ProgrammeSaved,
)
from omniretail.loyalty.models import (
    Programme,
)
from omniretail.loyalty.schemas import (
    ProgrammeRead,
    ProgrammeRules,
)
from omniretail.loyalty.service.grants import require_coupon_promotions

_RULES_KEY = "loyalty:rules"


# --- programme -----------------------------------------------------------------------------


def rules(uow: UnitOfWork) -> ProgrammeRules:
    """The active programme's rules (cached a few seconds; defaults until one is saved)."""
    cached = uow.cache.get(_RULES_KEY)
    if isinstance(cached, ProgrammeRules):
        return cached
    programme = repo.active_programme(uow.session)
    result = ProgrammeRules.model_validate(programme.rules) if programme else ProgrammeRules()
    uow.cache.put(_RULES_KEY, result)
    return result


def save_programme(uow: UnitOfWork, data: ProgrammeRules, *, actor: str) -> ProgrammeRead:
    """A new version of the rules becomes active; earlier versions stay for the record.
    Coupons the rules give must unlock an existing pricing promotion."""
    require_coupon_promotions(uow, data)
    version = repo.latest_version(uow.session) + 1
    programme = Programme(
        version=version,
        rules=data.model_dump(mode="json"),
        active=True,
        created_at=uow.now,
        created_by=actor,
    )
    repo.add_programme(uow.session, programme)
    uow.cache.invalidate()
    uow.record(ProgrammeSaved(customer_id=0, version=version))
    return programme_read(programme)


def get_programme(uow: UnitOfWork) -> ProgrammeRead:
    programme = repo.active_programme(uow.session)
    if programme is None:
        return ProgrammeRead(
            version=0, active=True, rules=ProgrammeRules(), created_at=uow.now, created_by="default"
        )
    return programme_read(programme)


def programme_read(p: Programme) -> ProgrammeRead:
    return ProgrammeRead(
        version=p.version,
        active=p.active,
        rules=ProgrammeRules.model_validate(p.rules),
        created_at=p.created_at,
        created_by=p.created_by,
    )
