"""A way into the demo's API: an admin system principal with a fresh API key per run (only a
digest of a key is stored, so an earlier run's key cannot be shown again). The key is
recorded as made by the demo's ``admin`` person, the one the run shows both their password
and the key to: per-person limits (goodwill points) count its use against them."""

from __future__ import annotations

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import ApiKeyCreated, PrincipalCreate
from omniretail.db.uow import UnitOfWork

DEMO_ADMIN = "demo-admin"
DEMO_PERSON = "admin"  # demo.people's admin, set up before the key


def issue_demo_api_key(uow: UnitOfWork) -> ApiKeyCreated:
    principal = next((p for p in auth.list_principals(uow) if p.username == DEMO_ADMIN), None)
    if principal is None:
        principal = auth.create_principal(
            uow, PrincipalCreate(username=DEMO_ADMIN, role=Role.ADMIN, kind="system")
        )
    admin = auth.principal_by_username(uow, DEMO_PERSON)
    return auth.create_api_key(
        uow, principal.id, label="omniretail demo", created_by=admin.id if admin else None
    )
