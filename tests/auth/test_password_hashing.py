"""Password hashes: production parameters unless configured, bounded below; the tests' cheap
profile (tests/conftest.py) is a profile of its own, never the default."""

from __future__ import annotations

import argon2
import pytest
from argon2 import Type, extract_parameters
from pydantic import ValidationError

from omniretail.auth.security import password_hasher
from omniretail.settings import PasswordHashSettings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROFILE", "TIME_COST", "MEMORY_COST", "PARALLELISM"):
        monkeypatch.delenv(f"OMNIRETAIL_ARGON2_{name}", raising=False)


def test_production_defaults_are_argon2id_t3_m64mib_p4(clean_env: None) -> None:
    stored = password_hasher(PasswordHashSettings()).hash("correct horse battery staple")

    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert (params.type, params.time_cost, params.memory_cost, params.parallelism) == (
        Type.ID,
        3,
        65536,
        4,
    )
    assert (params.hash_len, params.salt_len) == (32, 16)


def test_parameters_come_from_the_environment(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIRETAIL_ARGON2_TIME_COST", "2")
    monkeypatch.setenv("OMNIRETAIL_ARGON2_MEMORY_COST", "19456")
    monkeypatch.setenv("OMNIRETAIL_ARGON2_PARALLELISM", "1")

    stored = password_hasher(PasswordHashSettings()).hash("pw")

    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize(
    ("name", "value"),
    [("TIME_COST", "1"), ("MEMORY_COST", "8"), ("MEMORY_COST", "19455"), ("PARALLELISM", "0")],
)
def test_a_production_setting_below_the_floor_is_refused(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"OMNIRETAIL_ARGON2_{name}", value)

    with pytest.raises(ValidationError) as error:
        PasswordHashSettings()

    assert error.value.errors()[0]["loc"] == (name.lower(),)


def test_the_test_profile_uses_the_library_minimum_and_verifies_like_any_hash(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIRETAIL_ARGON2_PROFILE", "test")
    hasher = password_hasher(PasswordHashSettings())

    stored = hasher.hash("pw")

    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert hasher.verify(stored, "pw")
    # A hash carries its parameters: the production hasher verifies it too, and vice versa.
    monkeypatch.delenv("OMNIRETAIL_ARGON2_PROFILE")
    production = password_hasher(PasswordHashSettings())
    assert production.verify(stored, "pw")
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        production.verify(stored, "other")
