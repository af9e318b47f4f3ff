"""The registry of every column that holds vault ciphertext, and the work done over all of
them: the per-key census, re-encryption under the current key (``omniretail keys
re-encrypt``) and the start-up check that the key ring reads this database.

A domain that stores a new encrypted column adds one line to ``ENCRYPTED_COLUMNS``; the
re-encrypt command and the personal-data map (docs/security.md) follow it."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from sqlalchemy import TableClause, func, inspect, make_url, select, update

from omniretail.db.engine import is_sqlite
from omniretail.db.sql import rowcount
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.keys import Keyring, KeyringError, generate_secret
from omniretail.kernel.vault import PiiVault, UnknownKeyId, is_ciphertext, key_id_of
from omniretail.settings import Settings

CLEAR = "clear"  # a value written before its column was encrypted


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    # The vault field (associated data) the value is encrypted for.
    field: str
    key: str = "id"

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn("customers", "name_enc", "name"),
    EncryptedColumn("customers", "address_enc", "address"),
    EncryptedColumn("customers", "birth_date_enc", "birth_date"),
    EncryptedColumn("customer_identities", "value_enc", "identity"),
    EncryptedColumn("orders", "contact_email_enc", "order_contact_email"),
    EncryptedColumn("orders", "delivery_enc", "order_delivery"),
    EncryptedColumn("orders", "tracking_token_enc", "order_tracking_token"),
    EncryptedColumn("orders", "payment_token_enc", "order_payment_token"),
    EncryptedColumn("fulfilments", "pickup_code_enc", "fulfilment_pickup_code"),
    EncryptedColumn("carts", "token_enc", "cart_token"),
    EncryptedColumn("notifications", "recipient", "notification_recipient"),
    EncryptedColumn("notifications", "subject", "notification_subject"),
    EncryptedColumn("notifications", "body", "notification_body"),
    EncryptedColumn("notifications", "html_body", "notification_html_body"),
    EncryptedColumn("webhook_subscriptions", "secret_enc", "webhook_secret"),
    EncryptedColumn("marketing_cards", "title", "marketing_card_title"),
    EncryptedColumn("marketing_cards", "body", "marketing_card_body"),
    EncryptedColumn("marketing_cards", "link", "marketing_card_link"),
    EncryptedColumn("support_conversations", "subject_enc", "support_subject"),
    EncryptedColumn("support_conversations", "contact_enc", "support_contact"),
    EncryptedColumn("support_messages", "sender_enc", "support_sender"),
    EncryptedColumn("support_messages", "body_enc", "support_body"),
    # files: bytes sealed into a text token (PiiVault.encrypt_bytes)
    EncryptedColumn("support_attachments", "data_enc", "support_attachment"),
)

UowFactory = Callable[[], AbstractContextManager[UnitOfWork]]


def _table(entry: EncryptedColumn) -> TableClause:
    # A bare table clause: db knows table names, not the domains' models.
    return sa.table(entry.table, sa.column(entry.key), sa.column(entry.column))


def present(uow: UnitOfWork) -> list[EncryptedColumn]:
    """The registered columns this database has (a column may land before its migration)."""
    inspector = inspect(uow.session.connection())
    tables = set(inspector.get_table_names())
    columns = {
        t: {c["name"] for c in inspector.get_columns(t)}
        for t in {c.table for c in ENCRYPTED_COLUMNS}
        if t in tables
    }
    return [c for c in ENCRYPTED_COLUMNS if c.column in columns.get(c.table, set())]


def _rows(
    uow: UnitOfWork, column: EncryptedColumn, after: object, limit: int
) -> list[tuple[object, str]]:
    table = _table(column)
    key, value = table.c[column.key], table.c[column.column]
    query = select(key, value).where(value.is_not(None)).order_by(key).limit(limit)
    if after is not None:
        query = query.where(key > after)
    return [(r[0], str(r[1])) for r in uow.session.execute(query)]


def _kid(value: str) -> str:
    return key_id_of(value) if is_ciphertext(value) else CLEAR


def census(uow_factory: UowFactory, batch_size: int = 1000) -> dict[str, Counter[str]]:
    """How many values of each column are under each key id ("clear": not yet encrypted)."""
    result: dict[str, Counter[str]] = {}
    with uow_factory() as uow:
        columns = present(uow)
    for column in columns:
        counts: Counter[str] = Counter()
        for batch in _batches(uow_factory, column, batch_size):
            counts.update(_kid(v) for _, v in batch)
        result[column.name] = counts
    return result


def _batches(
    uow_factory: UowFactory, column: EncryptedColumn, batch_size: int
) -> Iterator[list[tuple[object, str]]]:
    after: object = None
    while True:
        with uow_factory() as uow:
            batch = _rows(uow, column, after, batch_size)
        if not batch:
            return
        yield batch
        after = batch[-1][0]


def count_values(uow_factory: UowFactory) -> dict[str, int]:
    with uow_factory() as uow:
        totals = {}
        for column in present(uow):
            table = _table(column)
            totals[column.name] = int(
                uow.session.scalar(select(func.count()).where(table.c[column.column].is_not(None)))
                or 0
            )
        return totals


@dataclass
class ReencryptReport:
    # column -> key id it was under -> how many values
    before: dict[str, Counter[str]]
    rewritten: int = 0


def reencrypt(
    uow_factory: UowFactory,
    vault: PiiVault,
    *,
    batch_size: int = 500,
    on_batch: Callable[[EncryptedColumn, int], None] | None = None,
) -> ReencryptReport:
    """Rewrites every registered value not under the current key, one transaction per batch.

    Each row is updated only if it still holds the value read (a concurrent change wins), so
    the command may run beside the server and may be run again: a second run rewrites nothing.
    Raises ``UnknownKeyId`` when a value is under a key that is no longer in the ring."""
    report = ReencryptReport(before={})
    with uow_factory() as uow:
        columns = present(uow)
    current = f"v2:{vault.kid}:"
    for column in columns:
        table = _table(column)
        key, value = table.c[column.key], table.c[column.column]
        counts: Counter[str] = Counter()
        after: object = None
        while True:
            with uow_factory() as uow:
                batch = _rows(uow, column, after, batch_size)
                for row_key, stored in batch:
                    counts[_kid(stored)] += 1
                    if stored.startswith(current):
                        continue
                    fresh = vault.reencrypt(column.field, stored)
                    result = uow.session.execute(
                        update(table).where(key == row_key, value == stored).values({value: fresh})
                    )
                    report.rewritten += rowcount(result)
            if not batch:
                break
            after = batch[-1][0]
            if on_batch is not None:
                on_batch(column, len(batch))
        report.before[column.name] = counts
    return report


def check_keyring(uow: UnitOfWork, vault: PiiVault) -> None:
    """Start-up check: the newest value of each registered column decrypts with this ring.

    Catches a process started with another key (or a ring missing an old key) before it
    writes anything; raises ``KeyringError`` saying which key id is missing."""
    for column in present(uow):
        table = _table(column)
        stored = uow.session.scalar(
            select(table.c[column.column])
            .where(table.c[column.column].is_not(None))
            .order_by(table.c[column.key].desc())
            .limit(1)
        )
        if stored is None or not is_ciphertext(stored):
            continue
        try:
            vault.decrypt_bytes(column.field, str(stored))  # bytes: a sealed file is no text
        except UnknownKeyId as exc:
            raise KeyringError(f"{column.name}: {exc}") from None
        except (InvalidTag, ValueError):
            raise KeyringError(
                f"the configured secret key does not decrypt {column.name} (key id "
                f"{key_id_of(str(stored))!r}): this database was written with another key. "
                "Set OMNIRETAIL_SECRET_KEY to the key the other processes use."
            ) from None
    _check_blind_index(uow, vault)


def _check_blind_index(uow: UnitOfWork, vault: PiiVault) -> None:
    """The newest identity's blind index matches the ring's index key (it is pinned: a ring
    that dropped its oldest secret without an ``index:`` entry would find nobody)."""
    if "customer_identities" not in inspect(uow.session.connection()).get_table_names():
        return
    identities = sa.table(
        "customer_identities", *(sa.column(c) for c in ("id", "kind", "value_enc", "value_index"))
    )
    row = uow.session.execute(
        select(identities.c.kind, identities.c.value_enc, identities.c.value_index)
        .order_by(identities.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return
    value = vault.decrypt("identity", row.value_enc)
    if value is not None and vault.blind_index(row.kind, value) != row.value_index:
        raise KeyringError(
            "the blind-index key changed: look-ups by email or phone would find nobody. Keep "
            "the oldest secret in OMNIRETAIL_SECRET_KEYS or add the `index:` entry printed by "
            "`omniretail keys index-key` under the old ring (docs/security.md)."
        )


MISSING_KEY = (
    "OMNIRETAIL_SECRET_KEY must be set when the database is shared ({backend}): every process "
    "on it needs the same key, or customer data written by one cannot be read by another and "
    "sign-ins of one are refused by the other. Generate one with `omniretail keys generate`, "
    "then set OMNIRETAIL_SECRET_KEY (or OMNIRETAIL_SECRET_KEYS for rotation) in the "
    "environment of every process (server, relay, CLI). See docs/security.md."
)


def load_keyring(settings: Settings) -> Keyring:
    """The key ring from settings (``secret_keys``, else ``secret_key``). Unset: on the embedded
    SQLite database, ``data_dir/secret.key`` (created once, 0600); on a shared database,
    ``KeyringError``: a second process must never make a key of its own."""
    if settings.secret_keys is not None:
        return Keyring.parse(settings.secret_keys.get_secret_value())
    if settings.secret_key is not None:  # one secret, taken whole (it may contain ":")
        return Keyring(settings.secret_key.get_secret_value().encode())
    url = settings.resolved_database_url()
    if not is_sqlite(url):
        raise KeyringError(MISSING_KEY.format(backend=make_url(url).get_backend_name()))
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_secret())
    return Keyring(path.read_text().strip().encode())
