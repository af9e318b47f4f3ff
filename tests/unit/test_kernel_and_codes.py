"""Pure helpers tested only through the database before: the PII vault (encryption bound to
its field and key id, blind indexes over normalised values), the shared input bounds, and
catalog's source-code rules."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import TypeAdapter, ValidationError

from omniretail.catalog.codes import is_product_code, non_product_kind, normalise_code
from omniretail.kernel.keys import Keyring, KeyringError
from omniretail.kernel.limits import MAX_OBJECT_BYTES, JsonObject, Money, TimeZoneName
from omniretail.kernel.vault import PiiVault, UnknownKeyId, is_ciphertext, key_id_of, normalise

OLD = Keyring.parse("k1:first-secret-0123456789abcdef")
NEW = Keyring.parse("k2:second-secret-0123456789abcdef,k1:first-secret-0123456789abcdef")


def test_ciphertext_names_its_key_and_opens_only_for_its_field():
    vault = PiiVault(OLD)

    token = vault.encrypt("email", "ann@example.com")

    assert token is not None and token.startswith("v2:k1:") and is_ciphertext(token)
    assert key_id_of(token) == "k1"
    assert vault.decrypt("email", token) == "ann@example.com"
    assert vault.encrypt("email", "ann@example.com") != token  # a fresh nonce every time
    with pytest.raises(InvalidTag):
        vault.decrypt("phone", token)  # copied into another column: does not open
    assert vault.try_decrypt("phone", token) is None
    assert vault.try_decrypt("email", "plain text") is None
    assert (vault.encrypt("email", None), vault.decrypt("email", None)) == (None, None)


def test_a_rotated_ring_reads_old_ciphertext_and_reencrypts_under_the_new_key():
    old_token = PiiVault(OLD).encrypt("name", "Ann")
    assert old_token is not None
    vault = PiiVault(NEW)

    renewed = vault.reencrypt("name", old_token)

    assert vault.decrypt("name", old_token) == "Ann"
    assert key_id_of(renewed) == "k2" and vault.decrypt("name", renewed) == "Ann"
    assert vault.reencrypt("name", renewed) == renewed
    with pytest.raises(UnknownKeyId, match="'k2'"):
        PiiVault(OLD).decrypt("name", renewed)


def test_blind_indexes_match_on_the_normalised_value_and_survive_rotation():
    assert normalise("email", "  Ann@Example.COM ") == "ann@example.com"
    assert normalise("phone", "07700 900-123") == "+447700900123"
    assert normalise("card", " ab  12 ") == "AB 12"
    old, new = PiiVault(OLD), PiiVault(NEW)

    assert old.blind_index("email", "Ann@example.com") == old.blind_index(
        "email", "ann@example.com "
    )
    assert old.blind_index("email", "ann@example.com") != old.blind_index(
        "phone", "ann@example.com"
    )
    # The index key stays the oldest secret's: look-ups keep working after a rotation.
    assert new.blind_index("email", "ann@example.com") == old.blind_index(
        "email", "ann@example.com"
    )


def test_a_key_ring_refuses_short_or_duplicate_secrets():
    with pytest.raises(KeyringError, match="at least 16 bytes"):
        Keyring.parse("k1:short")
    with pytest.raises(KeyringError, match="distinct"):
        Keyring.parse("k1:first-secret-0123456789abcdef,k1:other-secret-0123456789abcdef")
    with pytest.raises(KeyringError, match="no secret"):
        Keyring.parse(" , ")


def test_shared_input_bounds():
    money = TypeAdapter(Money)
    objects = TypeAdapter(JsonObject)
    zones = TypeAdapter(TimeZoneName)

    assert str(money.validate_python("9999999999.99")) == "9999999999.99"
    for bad in ("-0.01", "10000000000.00", "1.001"):
        with pytest.raises(ValidationError):
            money.validate_python(bad)
    assert objects.validate_python({"a": 1}) == {"a": 1}
    with pytest.raises(ValidationError, match=f"at most {MAX_OBJECT_BYTES} bytes"):
        objects.validate_python({"a": "x" * MAX_OBJECT_BYTES})
    with pytest.raises(ValidationError):
        objects.validate_python({str(i): i for i in range(101)})
    assert zones.validate_python("Europe/London") == "Europe/London"
    with pytest.raises(ValidationError, match="not a time zone name"):
        zones.validate_python("Mars/Olympus")


@pytest.mark.parametrize(
    ("raw", "code", "product", "kind"),
    [
        (" 85123a ", "85123A", True, None),
        ("22423", "22423", True, None),
        ("post", "POST", False, "postage"),
        ("BANK CHARGES", "BANK CHARGES", False, "bank charges"),
        ("gift_0001_20", "GIFT_0001_20", False, "gift voucher"),
        ("DCGS0058", "DCGS0058", False, "dcgs bundle"),
        ("8512", "8512", False, "other"),
    ],
)
def test_source_codes_are_normalised_and_told_apart(raw, code, product, kind):
    assert normalise_code(raw) == code
    assert is_product_code(code) is product
    if not product:
        assert non_product_kind(code) == kind
