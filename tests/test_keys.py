"""Secret keys: a shared database refuses a process without its key, and rotation (a ring of
key ids, old ciphertext and tokens readable, ``keys re-encrypt``, dropping the old key)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner

from omniretail.auth.security import AuthPrincipal, TokenSigner
from omniretail.bootstrap import build_container, load_keyring
from omniretail.commands.main import app
from omniretail.customers import service as customers
from omniretail.customers.models import IdentityKind
from omniretail.db import encrypted
from omniretail.kernel.keys import Keyring, KeyringError
from omniretail.kernel.vault import PiiVault, vault_for
from omniretail.orders import service as lookup
from omniretail.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.customers.test_privacy import EMAIL, NAME, checkout_as_the_person, make_person

NEW_SECRET = "the-next-secret-key-9876543210fedcba98765"


def cli_args(container) -> tuple[list[str], dict[str, str | None]]:
    url = container.engine.url.render_as_string(hide_password=False)
    env = {"OMNIRETAIL_DATABASE_SCHEMA": container.settings.database_schema or ""}
    return ["--db", url], env


def other_process(container, clock, **keys: str | None):
    """A second container on the same database, with these key settings."""
    update = {"secret_key": None, "secret_keys": None}
    update.update({k: SecretStr(v) if v else None for k, v in keys.items()})
    return build_container(container.settings.model_copy(update=update), clock=clock)


# --- a shared database needs its key --------------------------------------------------------


@pytest.mark.parametrize("backend", ["postgres"])
def test_second_process_without_a_key_is_refused_on_a_shared_database(container, monkeypatch):
    monkeypatch.delenv("OMNIRETAIL_SECRET_KEY")
    with pytest.raises(KeyringError, match="OMNIRETAIL_SECRET_KEY must be set when the database"):
        other_process(container, None)

    db, env = cli_args(container)
    for command in (["migrate"], ["events", "relay", "--once"], ["keys", "status"]):
        result = CliRunner().invoke(app, [*command, *db], env=env)
        assert result.exit_code == 2, (command, result.output)
        assert "OMNIRETAIL_SECRET_KEY must be set when the database is shared" in result.output
        assert "omniretail keys generate" in result.output
        assert "Traceback" not in result.output and result.exception is not None


def test_a_process_with_another_key_is_refused_once_data_exists(container):
    make_person(container)
    db, env = cli_args(container)
    result = CliRunner().invoke(
        app, ["migrate", *db], env={**env, "OMNIRETAIL_SECRET_KEY": NEW_SECRET}
    )
    assert result.exit_code == 2, result.output
    assert "not in the key ring" in result.output
    assert CliRunner().invoke(app, ["migrate", *db], env=env).exit_code == 0


def test_embedded_sqlite_keeps_its_own_key_file(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path)
    settings = settings.model_copy(update={"secret_key": None, "secret_keys": None})
    first, again = load_keyring(settings), load_keyring(settings)
    assert first == again
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_key_ring_parsing():
    ring = Keyring.parse(f"k2:{NEW_SECRET}, k1:{TEST_SECRET_KEY}")
    assert ring.kids == ("k2", "k1")
    assert Keyring.parse(TEST_SECRET_KEY).kid == Keyring.parse(TEST_SECRET_KEY).kid != "k1"
    colon = "legacy:secret:with-colons-0123456789"  # a single key is taken whole
    settings = Settings(secret_key=colon, database_url="postgresql://h/db")  # type: ignore[arg-type]
    assert load_keyring(settings).master == colon.encode()
    assert Keyring.parse(f"k1:{colon}").master == colon.encode()
    for bad in ("", "k1:short", f"k1:{NEW_SECRET},k1:{TEST_SECRET_KEY}", f"index:{NEW_SECRET}"):
        with pytest.raises(KeyringError):
            Keyring.parse(bad)


def test_v1_ciphertext_from_before_key_ids_stays_readable():
    import base64
    import os as _os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    old = Keyring.parse(TEST_SECRET_KEY)
    nonce = _os.urandom(12)
    sealed = AESGCM(old.derive("pii-encryption")).encrypt(nonce, b"ada@example.com", b"identity")
    legacy = "v1:" + base64.b64encode(nonce + sealed).decode()
    ring = Keyring.parse(f"k2:{NEW_SECRET},{TEST_SECRET_KEY}")
    assert PiiVault(ring).decrypt("identity", legacy) == "ada@example.com"
    assert PiiVault(ring).reencrypt("identity", legacy).startswith("v2:k2:")


# --- rotation --------------------------------------------------------------------------------


def values_per_key(container) -> dict[str, dict[str, int]]:
    return {
        name: dict(counts)
        for name, counts in encrypted.census(container.read_uow).items()
        if counts
    }


def test_rotation_reads_old_data_re_encrypts_everything_then_drops_the_old_key(
    container, client, clock
):
    # Written under the single key (k1, an id derived from it).
    customer_id = make_person(container)
    number = checkout_as_the_person(container, client, clock, customer_id, idempotency_key=None)
    old_kid = container.keyring.kid
    principal = AuthPrincipal(id=7, role="customer", name=EMAIL, customer_id=customer_id)
    old_token = TokenSigner(container.keyring, 3600).issue(principal, clock.now())
    assert set().union(*(c.keys() for c in values_per_key(container).values())) == {old_kid}

    # Rotate: the new key first, the old one still in the ring.
    ring = f"k2:{NEW_SECRET},{TEST_SECRET_KEY}"
    rotated = other_process(container, clock, secret_keys=ring)
    vault = vault_for(rotated.keyring)
    with rotated.uow() as uow:
        encrypted.check_keyring(uow, vault)
        assert customers.find_customer(uow, IdentityKind.EMAIL, EMAIL, vault=vault) == customer_id
        assert customers.get_customer(uow, customer_id, vault=vault).name == NAME
        assert lookup.get_order(uow, number).contact_email == EMAIL
    signer = TokenSigner(rotated.keyring, 3600)
    verified = signer.verify(old_token, clock.now() + timedelta(minutes=1))
    assert verified is not None and verified.token_id  # a token of its own (sign-out revokes it)
    assert (verified.id, verified.role, verified.name, verified.customer_id) == (
        principal.id,
        principal.role,
        principal.name,
        principal.customer_id,
    )
    new_token = signer.issue(principal, clock.now())
    assert TokenSigner(container.keyring, 3600).verify(new_token, clock.now()) is None

    # Re-encrypt, through the command, with the rotated ring.
    db, env = cli_args(container)
    env = {**env, "OMNIRETAIL_SECRET_KEY": None, "OMNIRETAIL_SECRET_KEYS": ring}
    result = CliRunner().invoke(app, ["keys", "re-encrypt", *db], env={**env, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "customer_identities.value_enc" in result.output and old_kid in result.output
    assert "everything is under key k2" in result.output
    assert set().union(*(c.keys() for c in values_per_key(container).values())) == {"k2"}
    again = CliRunner().invoke(app, ["keys", "re-encrypt", *db], env=env)
    assert again.exit_code == 0 and "rewrote 0 value(s)" in again.output, again.output

    # Drop the old key, keeping the blind-index key it pinned.
    index = CliRunner().invoke(app, ["keys", "index-key"], env=env)
    assert index.exit_code == 0 and index.output.startswith("index:"), index.output
    without_index = other_process(container, clock, secret_keys=f"k2:{NEW_SECRET}")
    with without_index.read_uow() as uow, pytest.raises(KeyringError, match="blind-index"):
        encrypted.check_keyring(uow, vault_for(without_index.keyring))
    without_index.dispose()

    dropped = other_process(container, clock, secret_keys=f"k2:{NEW_SECRET},{index.output.strip()}")
    vault = vault_for(dropped.keyring)
    with dropped.uow() as uow:
        encrypted.check_keyring(uow, vault)
        assert customers.find_customer(uow, IdentityKind.EMAIL, EMAIL, vault=vault) == customer_id
        assert customers.get_customer(uow, customer_id, vault=vault).name == NAME
        assert lookup.get_order(uow, number).contact_email == EMAIL
        notes = uow.session.execute(text("SELECT recipient FROM notifications")).scalars()
        assert [vault.decrypt("notification_recipient", n) for n in notes] == [EMAIL]
    assert TokenSigner(dropped.keyring, 3600).verify(old_token, clock.now()) is None
    survived = TokenSigner(dropped.keyring, 3600).verify(new_token, clock.now())
    assert survived is not None and (survived.id, survived.role) == (principal.id, principal.role)
    for other in (rotated, dropped):
        other.dispose()


def test_re_encrypt_refuses_data_under_a_key_missing_from_the_ring(container, clock):
    make_person(container)
    stranger = other_process(container, clock, secret_keys=f"k9:{NEW_SECRET}")
    with pytest.raises(Exception, match="not in the key ring"):
        encrypted.reencrypt(stranger.uow, vault_for(stranger.keyring))
    stranger.dispose()
    assert os.environ["OMNIRETAIL_SECRET_KEY"] == TEST_SECRET_KEY
