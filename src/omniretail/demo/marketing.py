"""The demo's journeys: every classic installed (messages, the win-back segment, the coupon
promotions), and two switched on, the welcome series and the abandoned cart, so that a
sign-up or a basket left in the shop starts a real journey. Through the marketing service,
as a marketer would; idempotent (an installed journey is left as it is)."""

from __future__ import annotations

from dataclasses import dataclass, field

from omniretail.db.uow import UnitOfWork
from omniretail.marketing import service as marketing

LIVE = ("welcome-series", "abandoned-cart")


@dataclass(frozen=True)
class DemoJourneys:
    installed: list[str] = field(default_factory=list)
    live: list[str] = field(default_factory=list)


def seed_journeys(uow: UnitOfWork, *, actor: str, site_url: str) -> DemoJourneys:
    existing = {j.code for j in marketing.list_journeys(uow)}
    installed: list[str] = []
    for classic in marketing.CLASSICS:
        if classic.code in existing:
            continue
        marketing.install_classic(uow, classic.code, actor=actor, site_url=site_url)
        installed.append(classic.code)
        if classic.code in LIVE:
            marketing.publish(uow, classic.code, actor=actor)
    live = [j.code for j in marketing.list_journeys(uow) if j.status == "live"]
    return DemoJourneys(installed=installed, live=live)
