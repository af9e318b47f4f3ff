"""Sign-in and sessions (penetration test, finding 9): constant-time sign-in, throttling with
back-off, revocation at once, password change and reset, ``GET /auth/me`` for customers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from omniretail.auth import service as auth
from omniretail.auth.models import PasswordReset, Principal, Role, SignInThrottle
from omniretail.auth.schemas import PrincipalCreate, PrincipalUpdate
from omniretail.auth.security import AuthPrincipal
from omniretail.bootstrap import Container
from tests.auth.conftest import CountingHasher
from tests.conftest import FixedClock
from tests.customers.helpers import make_customer
from tests.factories import make_network

API = "/api/v1"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


def token_for(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(
        f"{API}/auth/token",
        data={"username": username, "password": password},
        headers={"X-API-Key": ""},
    )


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = token_for(client, username, password)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}", "X-API-Key": ""}


@pytest.fixture
def people(container: Container, hasher: CountingHasher) -> dict[str, int]:
    make_network(container)
    cara = make_customer(container, "Cara Customer", email="cara@example.com", verified=True)
    ids = {}
    with container.uow() as uow:
        for name, role, extra in [
            ("asha", Role.STORE_ASSOCIATE, {"store_code": "LON1"}),
            ("root", Role.ADMIN, {}),
        ]:
            ids[name] = auth.create_principal(
                uow, PrincipalCreate(username=name, role=role, password=PASSWORD, **extra)
            ).id
        ids["cara"] = auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=cara, password=PASSWORD)
        ).id
        ids["robot"] = auth.create_principal(
            uow, PrincipalCreate(username="robot", role=Role.ADMIN, kind="system")
        ).id
        ids["gone"] = auth.create_principal(
            uow, PrincipalCreate(username="gone", role=Role.MARKETER, password=PASSWORD)
        ).id
    with container.uow() as uow:
        someone = AuthPrincipal(id=0, role="admin", name="tests")
        auth.update_principal(uow, ids["gone"], PrincipalUpdate(active=False), acting=someone)
    return ids


# --- constant-time sign-in ---------------------------------------------------------------------


def test_every_sign_in_failure_costs_one_argon2_check_and_answers_the_same(
    client: TestClient, people: dict[str, int], hasher: CountingHasher
) -> None:
    answers = {}
    for case, username in [
        ("unknown user", "nobody"),
        ("unknown email", "nobody@example.com"),
        ("wrong password", "asha"),
        ("disabled", "gone"),
        ("no password (a system)", "robot"),
        ("customer, wrong password", "cara@example.com"),
    ]:
        hasher.verifications = 0
        password = PASSWORD if case == "disabled" else "not the password"
        r = token_for(client, username, password)
        answers[case] = (hasher.verifications, r.status_code, r.json()["detail"])
    assert set(answers.values()) == {(1, 401, "wrong username or password")}, answers
    hasher.verifications = 0
    assert token_for(client, "asha").status_code == 200
    assert hasher.verifications == 1


# --- throttling with back-off -------------------------------------------------------------------


def test_thirty_wrong_admin_passwords_then_the_right_one_is_refused_until_the_back_off_passes(
    client: TestClient, people: dict[str, int], clock: FixedClock, container: Container
) -> None:
    statuses = [token_for(client, "root", f"guess number {i}").status_code for i in range(30)]
    assert statuses == [401] * 5 + [429] * 25
    refused = token_for(client, "root")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "60"
    assert refused.json()["retry_after"] == 60
    assert refused.json()["type"].endswith("/too-many-sign-in-attempts")

    clock.advance(seconds=59)
    assert token_for(client, "root").status_code == 429
    clock.advance(seconds=1)
    # The lock-out has passed: one more failure locks again, for twice as long.
    assert token_for(client, "root", "guess again").status_code == 401
    again = token_for(client, "root")
    assert (again.status_code, again.headers["retry-after"]) == (429, "120")
    clock.advance(seconds=120)
    assert token_for(client, "root").status_code == 200
    # A success starts the account afresh.
    assert [token_for(client, "root", "typo typo").status_code for _ in range(5)] == [401] * 5
    assert token_for(client, "root").status_code == 429
    # Another account is not affected.
    assert token_for(client, "asha").status_code == 200
    with container.read_uow() as uow:
        stored = list(uow.session.scalars(select(SignInThrottle.key_hash)))
    assert all("root" not in k and len(k) == 64 for k in stored)


def test_an_unknown_username_is_throttled_exactly_like_a_known_one(
    client: TestClient, people: dict[str, int]
) -> None:
    def sequence(username: str) -> list[tuple[int, str | None]]:
        out = []
        for i in range(7):
            r = token_for(client, username, f"wrong {i}")
            out.append((r.status_code, r.headers.get("retry-after")))
        return out

    assert sequence("asha") == sequence("no-such-person")


def test_failures_are_forgotten_after_a_quiet_window(
    client: TestClient, people: dict[str, int], clock: FixedClock
) -> None:
    for _ in range(4):
        assert token_for(client, "asha", "not it at all").status_code == 401
    clock.advance(minutes=15)
    for _ in range(4):
        assert token_for(client, "asha", "not it at all").status_code == 401
    assert token_for(client, "asha").status_code == 200


def test_one_client_address_guessing_many_accounts_is_throttled(
    client: TestClient, people: dict[str, int], container: Container
) -> None:
    container.settings.sign_in_address_max_failures = 3
    statuses = [token_for(client, f"user{i}", "password guess").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert token_for(client, "asha").status_code == 429  # the address is locked out


def _sign_in_from(container: Container, address: str, password: str) -> int:
    from omniretail.auth import sign_in as sign_ins
    from omniretail.auth.errors import InvalidCredentials, SignInThrottled
    from omniretail.kernel.vault import vault_for

    throttle = sign_ins.Throttle.from_settings(container.settings, container.keyring)
    try:
        sign_ins.sign_in(
            container.uow,
            container.read_uow,
            "root",
            password,
            vault=vault_for(container.keyring),
            throttle=throttle,
            address=address,
        )
    except InvalidCredentials:
        return 401
    except SignInThrottled:
        return 429
    return 200


def test_a_guesser_locks_themselves_out_not_the_accounts_owner(
    container: Container, people: dict[str, int]
) -> None:
    """An outside probe locked ``admin`` out with six requests: the lock was the account's
    alone. Now one address's guesses lock that address out of the account."""
    guesses = [_sign_in_from(container, "203.0.113.9", f"guess {i}") for i in range(7)]
    assert guesses == [401] * 5 + [429] * 2
    assert _sign_in_from(container, "203.0.113.9", PASSWORD) == 429  # still locked out
    assert _sign_in_from(container, "198.51.100.7", PASSWORD) == 200  # the owner, elsewhere


def test_a_guess_spread_over_many_addresses_locks_the_account(
    container: Container, people: dict[str, int]
) -> None:
    container.settings.sign_in_account_max_failures = 8
    spread = [_sign_in_from(container, f"10.1.0.{i}", "a wrong guess") for i in range(10)]
    assert spread == [401] * 8 + [429] * 2
    assert _sign_in_from(container, "198.51.100.7", PASSWORD) == 429


# --- revocation at once ----------------------------------------------------------------------


def test_tokens_of_a_disabled_or_deleted_principal_stop_at_once(
    client: TestClient, people: dict[str, int]
) -> None:
    asha = bearer(client, "asha")
    assert client.get(f"{API}/auth/me", headers=asha).json()["name"] == "asha"
    r = client.patch(f"{API}/auth/principals/{people['asha']}", json={"active": False})
    assert (r.status_code, r.json()["active"]) == (200, False)
    assert client.get(f"{API}/auth/me", headers=asha).status_code == 401
    assert token_for(client, "asha").status_code == 401
    # Enabled again: the old token stays dead; a new sign-in works.
    assert client.patch(f"{API}/auth/principals/{people['asha']}", json={"active": True}).is_success
    assert client.get(f"{API}/auth/me", headers=asha).status_code == 401
    root = bearer(client, "root")
    assert client.get(f"{API}/auth/me", headers=root).status_code == 200
    # root is the last admin who signs in: the platform keeps it until there is another.
    assert client.delete(f"{API}/auth/principals/{people['root']}").status_code == 409
    second = {"username": "root2", "role": "admin", "password": PASSWORD}
    assert client.post(f"{API}/auth/principals", json=second).status_code == 201
    assert client.delete(f"{API}/auth/principals/{people['root']}").status_code == 204
    assert client.get(f"{API}/auth/me", headers=root).status_code == 401


def test_api_keys_of_a_disabled_principal_stop_at_once(
    client: TestClient, people: dict[str, int]
) -> None:
    key = client.post(f"{API}/auth/principals/{people['robot']}/api-keys", json={"label": "ci"})
    headers = {"X-API-Key": key.json()["key"]}
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    client.patch(f"{API}/auth/principals/{people['robot']}", json={"active": False})
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 401


def test_an_admin_cannot_disable_or_delete_themselves_and_others_may_not_at_all(
    client: TestClient, people: dict[str, int], container: Container
) -> None:
    root = bearer(client, "root")
    r = client.patch(
        f"{API}/auth/principals/{people['root']}", json={"active": False}, headers=root
    )
    assert (r.status_code, r.json()["field"]) == (409, "active")
    asha = bearer(client, "asha")
    r = client.patch(
        f"{API}/auth/principals/{people['root']}", json={"active": False}, headers=asha
    )
    assert r.status_code == 403
    assert client.delete(f"{API}/auth/principals/{people['root']}", headers=asha).status_code == 403
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).where(Principal.active.is_(False))) == 1


def test_a_bearer_request_costs_one_statement_to_check_its_principal(
    client: TestClient, people: dict[str, int]
) -> None:
    asha = bearer(client, "asha")
    r = client.get(f"{API}/auth/me", headers=asha)
    assert r.headers["server-timing"].endswith('sql;desc="1"')


def test_only_staff_are_told_the_server_timing(client: TestClient, people: dict[str, int]) -> None:
    """Its statement count told an email with an account from one without: a failed sign-in
    or a reset request ran more statements for the first, though both answer the same."""
    anonymous = {"X-API-Key": ""}
    for email in ("cara@example.com", "nobody@example.com"):
        failed = token_for(client, email, "not-the-password-1")
        assert failed.status_code == 401
        assert "server-timing" not in failed.headers
        reset = client.post(
            f"{API}/auth/password-reset/request", json={"email": email}, headers=anonymous
        )
        assert reset.status_code == 202
        assert "server-timing" not in reset.headers
    customer = client.get(f"{API}/auth/me", headers=bearer(client, "cara@example.com"))
    assert customer.status_code == 200
    assert "server-timing" not in customer.headers
    staff = client.get(f"{API}/auth/me", headers=bearer(client, "asha"))
    assert staff.status_code == 200
    assert "sql;desc=" in staff.headers["server-timing"]


# --- password change and reset --------------------------------------------------------------


def test_every_principal_changes_their_own_password_and_earlier_tokens_stop(
    client: TestClient, people: dict[str, int]
) -> None:
    for username in ("cara@example.com", "asha"):
        old = bearer(client, username)
        body = {"current_password": "not my password", "new_password": NEW_PASSWORD}
        wrong = client.post(f"{API}/auth/password", json=body, headers=old)
        assert (wrong.status_code, wrong.json()["field"]) == (401, "current_password")
        guessable = "asha-password-1" if username == "asha" else "password1234"
        for weak, reason in [("short one", "12 characters"), (guessable, "username or easy")]:
            body = {"current_password": PASSWORD, "new_password": weak}
            r = client.post(f"{API}/auth/password", json=body, headers=old)
            assert (r.status_code, r.json()["field"]) == (422, "new_password"), r.text
            assert any(word in r.json()["detail"] for word in reason.split(" or ")), r.text
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        done = client.post(f"{API}/auth/password", json=body, headers=old)
        assert done.status_code == 200, done.text
        fresh = {"Authorization": f"Bearer {done.json()['access_token']}", "X-API-Key": ""}
        assert client.get(f"{API}/auth/me", headers=old).status_code == 401
        assert client.get(f"{API}/auth/me", headers=fresh).status_code == 200
        assert token_for(client, username).status_code == 401
        assert token_for(client, username, NEW_PASSWORD).status_code == 200


def test_guessing_the_current_password_is_throttled(
    client: TestClient, people: dict[str, int]
) -> None:
    cara = bearer(client, "cara@example.com")
    body = {"current_password": "guess", "new_password": NEW_PASSWORD}
    statuses = [
        client.post(f"{API}/auth/password", json=body, headers=cara).status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    body["current_password"] = PASSWORD
    assert client.post(f"{API}/auth/password", json=body, headers=cara).status_code == 429


def test_an_admin_issues_a_one_time_reset_token(
    client: TestClient, people: dict[str, int], clock: FixedClock, container: Container
) -> None:
    cara = bearer(client, "cara@example.com")
    asha = bearer(client, "asha")
    url = f"{API}/auth/principals/{people['cara']}/password-reset"
    assert client.post(url, headers=asha).status_code == 403
    issued = client.post(url)
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    with container.read_uow() as uow:
        stored = uow.session.scalars(select(PasswordReset.token_hash)).all()
    assert token not in stored and len(stored) == 1

    body = {"token": token, "new_password": NEW_PASSWORD}
    public = {"X-API-Key": ""}
    weak = client.post(f"{API}/auth/password-reset", json={**body, "new_password": "x"})
    assert weak.status_code == 422
    done = client.post(f"{API}/auth/password-reset", json=body, headers=public)
    assert done.status_code == 200, done.text
    assert client.get(f"{API}/auth/me", headers=cara).status_code == 401  # sessions ended
    assert token_for(client, "cara@example.com", NEW_PASSWORD).status_code == 200
    again = client.post(f"{API}/auth/password-reset", json=body, headers=public)
    assert (again.status_code, again.json()["field"]) == (422, "token")

    late = client.post(url).json()["token"]
    clock.advance(hours=1)
    expired = client.post(
        f"{API}/auth/password-reset", json={**body, "token": late}, headers=public
    )
    assert expired.status_code == 422
    assert token_for(client, "cara@example.com", NEW_PASSWORD).status_code == 200


def test_a_system_principal_gets_no_reset_token(client: TestClient, people: dict[str, int]) -> None:
    r = client.post(f"{API}/auth/principals/{people['robot']}/password-reset")
    assert r.status_code == 409


def test_a_customer_reads_their_own_principal(client: TestClient, people: dict[str, int]) -> None:
    r = client.get(f"{API}/auth/me", headers=bearer(client, "cara@example.com"))
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["role"]) == (people["cara"], "customer")


def test_new_principals_need_a_strong_password(client: TestClient, people: dict[str, int]) -> None:
    for password, reason in [
        ("short pass", "12 characters"),
        ("newbie-rules-ok", "username"),
        ("password1234", "too easy"),
    ]:
        r = client.post(
            f"{API}/auth/principals",
            json={"username": "newbie", "role": "marketer", "password": password},
        )
        assert r.status_code == 422 and reason in r.text, r.text


def test_parallel_guesses_cannot_slip_past_the_limit(
    container: Container, people: dict[str, int]
) -> None:
    """Each attempt is charged before its password is checked, so twenty guesses at once
    (from twenty addresses: the account's own counter) get exactly five answers."""
    from concurrent.futures import ThreadPoolExecutor

    from omniretail.auth import sign_in as sign_ins
    from omniretail.auth.errors import InvalidCredentials, SignInThrottled
    from omniretail.kernel.vault import vault_for

    container.settings.sign_in_account_max_failures = 5
    throttle = sign_ins.Throttle.from_settings(container.settings, container.keyring)

    def guess(i: int) -> str:
        try:
            sign_ins.sign_in(
                container.uow,
                container.read_uow,
                "root",
                f"guess {i}",
                vault=vault_for(container.keyring),
                throttle=throttle,
                address=f"10.0.0.{i}",
            )
        except InvalidCredentials:
            return "401"
        except SignInThrottled:
            return "429"
        return "200"

    with ThreadPoolExecutor(8) as pool:
        answers = sorted(pool.map(guess, range(20)))
    assert answers == ["401"] * 5 + ["429"] * 15
