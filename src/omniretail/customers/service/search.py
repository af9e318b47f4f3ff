"""Staff search for customers by name or postcode, with no clear text at rest.

Names and addresses are ciphertext, so they cannot be searched as they are stored. Each
profile also keeps two keyed hashes (``kernel.vault.PiiVault.blind_index``) of deliberately
coarse values: the surname, and the postcode's outward code (the district, "SW1A" of
"SW1A 1AA"). A search hashes the same coarse value of the query, reads the few profiles that
share it, decrypts them and keeps those that match the whole query (every word of a name, the
full postcode when one is given). Equal hashes reveal only that two profiles share a surname
or a district; whoever holds the index key could test guesses against them, as for emails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import Row

from omniretail.customers import repository as repo
from omniretail.customers.schemas import Address, CustomerMatch
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import PiiVault

SURNAME = "surname"
POSTCODE = "postcode_outward"
# Profiles read for one search before the whole query is matched (a common surname).
CANDIDATES = 500
UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")
SearchBy = Literal["name", "postcode"]


def surname_of(name: str) -> str | None:
    words = name.split()
    return words[-1].lower() if words else None


def postcode_key(postcode: str) -> str:
    """Upper case without spaces: how postcodes are compared."""
    return re.sub(r"\s+", "", postcode).upper()


def outward_code(postcode: str) -> str | None:
    """The district of a UK postcode ("SW1A" of "sw1a 1aa"); another country's postcode or a
    partial one is kept whole."""
    key = postcode_key(postcode)
    if not key:
        return None
    return key[:-3] if UK_POSTCODE.match(key) else key


def search_index(vault: PiiVault, kind: str, value: str | None) -> str | None:
    """The stored search key of a name (``SURNAME``) or a postcode (``POSTCODE``)."""
    if not value:
        return None
    coarse = surname_of(value) if kind == SURNAME else outward_code(value)
    return vault.blind_index(kind, coarse) if coarse else None


def search_customers(
    uow: UnitOfWork, by: SearchBy, query: str, *, vault: PiiVault, limit: int = 50
) -> list[CustomerMatch]:
    """Active customers whose name has every word of ``query`` (matched on the surname
    first), or whose postcode is ``query`` (a district alone finds the whole district)."""
    query = " ".join(query.split())
    if not query:
        raise DomainError(f"enter a {'name' if by == 'name' else 'postcode'}", field="value")
    keep: Callable[[CustomerMatch], bool]
    if by == "name":
        index, column = search_index(vault, SURNAME, query), "surname_index"
        words = query.lower().split()

        def keep(m: CustomerMatch) -> bool:
            return m.name is not None and all(w in m.name.lower() for w in words)

    else:
        index, column = search_index(vault, POSTCODE, query), "postcode_index"
        wanted = postcode_key(query)
        whole = outward_code(query) != wanted

        def keep(m: CustomerMatch) -> bool:
            return m.postcode is not None and (not whole or postcode_key(m.postcode) == wanted)

    assert index is not None
    found: list[CustomerMatch] = []
    for row in repo.by_search_index(uow.session, column, index, CANDIDATES):
        match = _match(row, vault)
        if keep(match):
            found.append(match)
        if len(found) >= limit:
            break
    return found


def _match(row: Row[Any], vault: PiiVault) -> CustomerMatch:
    address_json = vault.decrypt("address", row.address_enc)
    address = Address.model_validate_json(address_json) if address_json else None
    return CustomerMatch(
        id=row.id,
        name=vault.decrypt("name", row.name_enc),
        postcode=address.postcode if address else None,
        city=address.city if address else None,
        home_store=row.home_store,
        customer_number=row.customer_number,
    )
