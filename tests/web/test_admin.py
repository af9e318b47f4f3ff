"""HQ administration: users and roles (an associate created, then signing in with the
password set through the admin's code), last-admin protection, API keys shown once, the
audit log's filters, stores and channels with validation, and who may do each."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from omniretail.auth import service as auth
from omniretail.auth.models import ApiKey, AuditEntry, Principal, Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.catalog import service as catalog
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, PASSWORD

TOKEN = re.compile(r'<code class="secret" id="reset-token">([^<]+)</code>')
KEY = re.compile(r'<code class="secret" id="new-key">([^<]+)</code>')
NEW_PASSWORD = "a-long-new-password-42"


def _principal(container, username):
    with container.read_uow() as uow:
        return uow.session.scalars(select(Principal).where(Principal.username == username)).one()


def _create_associate(web, username="new-assoc"):
    return post(
        web,
        "/hq/people",
        "/hq/people",
        {"username": username, "role": "store_associate", "store_code": "LON2", "kind": "person"},
    )


def test_an_admin_creates_an_associate_who_sets_a_password_and_signs_in(web, container):
    sign_in(web, ADMIN)
    created = _create_associate(web)
    assert created.status_code == 303
    row = _principal(container, "new-assoc")
    assert (row.role, row.store_code, row.active, row.password_hash) == (
        "store_associate",
        "LON2",
        True,
        None,
    )
    page = web.get(created.headers["location"])
    assert "Issue a set-password code" in page.text
    assert "$argon2" not in page.text  # never a hash on a page
    issued = web.post(f"/hq/people/{row.id}/reset", data={"csrf_token": csrf_of(page.text)})
    assert issued.status_code == 200
    token = TOKEN.search(issued.text).group(1)
    assert "Hand it to new-assoc yourself" in issued.text
    assert "/signin/set-password" in issued.text
    # Shown once: the person's page no longer shows it.
    assert token not in web.get(f"/hq/people/{row.id}").text

    web.cookies.clear()
    form = web.get("/signin/set-password")
    mismatch = web.post(
        "/signin/set-password",
        data={
            "token": token,
            "new_password": NEW_PASSWORD,
            "confirm_password": "other",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert mismatch.status_code == 422 and "differ" in mismatch.text
    done = web.post(
        "/signin/set-password",
        data={
            "token": token,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": csrf_of(form.text),
        },
    )
    assert done.status_code == 303, done.text
    assert sign_in(web, "new-assoc", NEW_PASSWORD) == "/store"
    again = web.post(
        "/signin/set-password",
        data={
            "token": token,
            "new_password": "yet-another-password-7",
            "confirm_password": "yet-another-password-7",
            "csrf_token": csrf_of(web.get("/signin/set-password").text),
        },
    )
    assert again.status_code == 422  # single use
    with container.read_uow() as uow:
        actions = set(uow.session.scalars(select(AuditEntry.action)))
    assert {
        "POST /auth/principals",
        "POST /auth/principals/{principal_id}/password-reset",
        "POST /auth/password-reset",
    } <= actions


def test_the_set_password_link_is_the_configured_address_not_the_callers_host(web, container):
    """The admin hands the link on: a Host header (any proxy or caller may set it) must not
    make it point elsewhere."""
    sign_in(web, ADMIN)
    _create_associate(web, "linked-assoc")
    row = _principal(container, "linked-assoc")
    page = web.get(f"/hq/people/{row.id}")
    issued = web.post(
        f"/hq/people/{row.id}/reset",
        data={"csrf_token": csrf_of(page.text)},
        headers={"Host": "evil.example"},
    )
    assert issued.status_code == 200, issued.text
    base = container.settings.public_base_url.rstrip("/")
    assert f'href="{base}/signin/set-password"' in issued.text
    assert "evil.example" not in issued.text


def test_creating_shows_the_services_messages_on_the_form(web, container):
    sign_in(web, ADMIN)
    no_store = post(
        web,
        "/hq/people",
        "/hq/people",
        {"username": "lonely", "role": "store_associate", "store_code": "", "kind": "person"},
    )
    assert no_store.status_code == 422
    assert "choose the store the associate works at" in no_store.text
    taken = post(
        web,
        "/hq/people",
        "/hq/people",
        {"username": ASSOCIATE, "role": "marketer", "kind": "person"},
    )
    assert taken.status_code == 409 or taken.status_code == 422
    assert "is taken" in taken.text
    weak = post(
        web,
        "/hq/people",
        "/hq/people",
        {"username": "weakling", "role": "marketer", "kind": "person", "password": "short"},
    )
    assert weak.status_code == 422 and "at least 12 characters" in weak.text
    with container.read_uow() as uow:
        names = set(uow.session.scalars(select(Principal.username)))
    assert not {"lonely", "weakling"} & names


def test_disable_enable_and_delete(web, container):
    sign_in(web, ADMIN)
    row = _principal(container, ASSOCIATE)
    post(web, f"/hq/people/{row.id}", f"/hq/people/{row.id}/disable", {})
    assert _principal(container, ASSOCIATE).active is False
    post(web, f"/hq/people/{row.id}", f"/hq/people/{row.id}/enable", {})
    assert _principal(container, ASSOCIATE).active is True
    deleted = post(web, f"/hq/people/{row.id}", f"/hq/people/{row.id}/delete", {})
    assert deleted.status_code == 303
    with container.read_uow() as uow:
        assert uow.session.get(Principal, row.id) is None


def test_the_last_admin_cannot_be_locked_out(web, container):
    with container.uow() as uow:
        other = auth.create_principal(
            uow, PrincipalCreate(username="second-admin", role=Role.ADMIN, password=PASSWORD)
        )
    sign_in(web, "second-admin")
    first = _principal(container, ADMIN)
    # Two admins: one may disable the other.
    assert (
        post(web, f"/hq/people/{first.id}", f"/hq/people/{first.id}/disable", {}).status_code == 303
    )
    # Now second-admin is the last active admin; nobody may disable or delete them, not even
    # through the API (the same service).
    refused = post(web, f"/hq/people/{other.id}", f"/hq/people/{other.id}/delete", {})
    assert refused.status_code == 409
    assert "cannot delete yourself" in refused.text
    with container.uow() as uow:
        me = auth.as_auth(uow.session.get(Principal, first.id))
        with pytest.raises(Exception, match="last active admin"):
            auth.delete_principal(uow, other.id, acting=me)
        with pytest.raises(Exception, match="last active admin"):
            from omniretail.auth.schemas import PrincipalUpdate

            auth.update_principal(uow, other.id, PrincipalUpdate(active=False), acting=me)
    assert _principal(container, "second-admin").active is True


def test_the_api_refuses_to_disable_the_last_admin(client, container):
    """``client`` signs in with the admin API key of a system admin; the person admin stays."""
    with container.uow() as uow:
        admin = auth.create_principal(
            uow, PrincipalCreate(username="only-person-admin", role=Role.ADMIN, password=PASSWORD)
        )
    refused = client.patch(f"/api/v1/auth/principals/{admin.id}", json={"active": False})
    assert refused.status_code == 409, refused.text
    assert "last active admin" in refused.json()["detail"]
    assert client.delete(f"/api/v1/auth/principals/{admin.id}").status_code == 409


def test_an_api_key_is_shown_once_then_only_its_prefix(web, container):
    sign_in(web, ADMIN)
    with container.uow() as uow:
        system = auth.create_principal(
            uow, PrincipalCreate(username="wms", role=Role.ADMIN, kind="system")
        )
    missing = post(web, "/hq/api-keys", "/hq/api-keys", {"principal_id": "", "label": ""})
    assert missing.status_code == 422 and "Choose whose key it is" in missing.text
    created = post(
        web, "/hq/api-keys", "/hq/api-keys", {"principal_id": str(system.id), "label": "WMS"}
    )
    assert created.status_code == 201
    key = KEY.search(created.text).group(1)
    with container.read_uow() as uow:
        row = uow.session.scalars(select(ApiKey).where(ApiKey.label == "WMS")).one()
    assert row.prefix in key and key != row.key_hash
    # made by the admin signed in, whom its goodwill credits count against
    assert row.created_by == _principal(container, ADMIN).id
    me = web.get("/api/v1/auth/me", headers={"X-API-Key": key}).json()
    assert (me["name"], me["via"]) == ("wms", "api_key")
    listing = web.get("/hq/api-keys")
    assert key not in listing.text and f"{row.prefix}…" in listing.text
    assert row.key_hash not in listing.text
    web_api = web.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert web_api.status_code == 200
    revoked = post(web, "/hq/api-keys", f"/hq/api-keys/{row.id}/revoke", {})
    assert revoked.status_code == 303
    with container.read_uow() as uow:
        assert uow.session.get(ApiKey, row.id).revoked_at is not None
    assert web.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401
    csv = web.get("/hq/api-keys?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert row.prefix in csv.text and key not in csv.text


def test_the_api_lists_and_revokes_keys(client, container):
    keys = client.get("/api/v1/auth/api-keys").json()
    assert keys and all("key" not in k and "key_hash" not in k for k in keys)
    revoked = client.post(f"/api/v1/auth/api-keys/{keys[0]['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.post("/api/v1/auth/api-keys/999999/revoke").status_code in (401, 404)


def test_the_audit_log_filters_by_who_what_and_when(web, container, clock):
    sign_in(web, ADMIN)
    _create_associate(web, "audited-one")
    clock.advance(days=3)
    sign_in(web, ADMIN)  # the session of three days ago has expired
    counted = post(
        web,
        "/hq/inventory/A1/LON1",
        "/hq/inventory/A1/LON1/count",
        {"counted_quantity": "9", "source": "cycle_count"},
    )
    assert counted.status_code == 303
    everything = web.get("/hq/audit")
    assert "POST /auth/principals" in everything.text
    assert "POST /inventory/counts" in everything.text
    by_area = web.get("/hq/audit", params={"area": "inventory"})
    assert "POST /inventory/counts" in by_area.text and "POST /auth/principals<" not in by_area.text
    by_what = web.get("/hq/audit", params={"action": "/auth/principals"})
    assert "POST /inventory/counts" not in by_what.text
    day = clock.now().date()
    by_when = web.get("/hq/audit", params={"since": day.isoformat(), "until": day.isoformat()})
    assert "POST /inventory/counts" in by_when.text and "POST /auth/principals" not in by_when.text
    nobody = web.get("/hq/audit", params={"who": "nobody-at-all"})
    assert "No entry matches" in nobody.text
    bad = web.get("/hq/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    csv = web.get("/hq/audit", params={"area": "inventory", "format": "csv"})
    lines = csv.text.strip().splitlines()
    assert lines[0] == "occurred_at,actor,role,area,action,subject"
    assert all(",inventory," in line for line in lines[1:]) and len(lines) >= 2


def test_audit_paging(web, container):
    with container.uow() as uow:
        me = auth.as_auth(
            uow.session.scalars(select(Principal).where(Principal.username == ADMIN)).one()
        )
        for i in range(55):
            auth.record_audit(uow, me, action=f"POST /thing/{i}", area="things", subject=None)
    sign_in(web, ADMIN)
    first = web.get("/hq/audit", params={"area": "things"})
    assert "POST /thing/54" in first.text and "POST /thing/4<" not in first.text
    assert "Older" in first.text
    second = web.get("/hq/audit", params={"area": "things", "page": 2})
    assert "POST /thing/4<" in second.text and "POST /thing/54" not in second.text


def test_locations_and_channels_are_created_and_edited_with_messages(web, container):
    sign_in(web, ADMIN)
    form = {
        "code": "lon3",
        "name": "London Soho",
        "kind": "store",
        "latitude": "51.51",
        "longitude": "-0.13",
        "address": "1 Soho Sq",
        "timezone": "Europe/London",
        "opening_hours": "mon: 09:00-17:30\nsun: closed",
        "daily_capacity": "12",
        "capabilities.pickup": "on",
    }
    bad = post(web, "/hq/locations/new", "/hq/locations", {**form, "latitude": "123"})
    assert bad.status_code == 422 and "less than or equal to 90" in bad.text
    bad_hours = post(web, "/hq/locations/new", "/hq/locations", {**form, "opening_hours": "mon"})
    assert bad_hours.status_code == 422 and "one day a line" in bad_hours.text
    assert post(web, "/hq/locations/new", "/hq/locations", form).status_code == 303
    with container.read_uow() as uow:
        saved = catalog.get_location(uow, "LON3")
    assert saved.capabilities.pickup and not saved.capabilities.ships_to_home
    assert saved.opening_hours == {"mon": "09:00-17:30", "sun": "closed"}
    again = post(web, "/hq/locations/new", "/hq/locations", form)
    assert again.status_code == 422 and "exists" in again.text
    edited = post(
        web, "/hq/locations/LON3", "/hq/locations", {**form, "editing": "LON3", "name": "Soho"}
    )
    assert edited.status_code == 303
    with container.read_uow() as uow:
        assert catalog.get_location(uow, "LON3").name == "Soho"

    channel = {"code": "app", "name": "App", "kind": "app", "reservation_ttl_seconds": "600"}
    bad_ttl = post(
        web, "/hq/channels/new", "/hq/channels", {**channel, "reservation_ttl_seconds": "0"}
    )
    assert bad_ttl.status_code == 422 and "greater than 0" in bad_ttl.text
    token = csrf_of(web.get("/hq/channels/new").text)
    made = web.post(
        "/hq/channels",
        data={**channel, "csrf_token": token, "location_codes": ["LON1", "LON3"]},
    )
    assert made.status_code == 303
    with container.read_uow() as uow:
        app = catalog.get_channel(uow, "APP")
    assert (app.reservation_ttl_seconds, app.location_codes) == (600, ["LON1", "LON3"])
    listing = web.get("/hq/network")
    assert "London" in listing.text and "APP" in listing.text
    assert "LON3" in web.get("/hq/network?format=csv").text


@pytest.mark.parametrize(
    "page",
    ["/hq/people", "/hq/api-keys", "/hq/audit", "/hq/locations/new", "/hq/channels/new"],
)
def test_non_admins_are_refused(web, container, page):
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="agent-smith", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
    sign_in(web, "agent-smith")
    assert web.get(page).status_code == 403
    assert web.get("/hq/network").status_code == 200  # every staff member reads the network


def test_a_non_admin_cannot_post_admin_forms(web, container):
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="agent-smith", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
    sign_in(web, "agent-smith")
    token = csrf_of(web.get("/hq/customers").text)
    refused = web.post(
        "/hq/people",
        data={"username": "sneaky", "role": "admin", "kind": "person", "csrf_token": token},
    )
    assert refused.status_code == 403
    assert _principal_or_none(container, "sneaky") is None
    web.cookies.clear()
    assert sign_in(web, ASSOCIATE) == "/store"
    assert web.get("/hq/people").status_code == 403


def _principal_or_none(container, username):
    with container.read_uow() as uow:
        return uow.session.scalars(select(Principal).where(Principal.username == username)).first()
