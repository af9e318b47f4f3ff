"""Array parameters on PostgreSQL sent without a regular expression per element.

Batches go to PostgreSQL as one array per column (``db.bulk``, ``db.batch``), in psycopg's
text array format. psycopg's own text dumper runs a regular expression over every element to
decide whether it needs quotes; over a batch of rendered messages (kilobytes of ciphertext per
element) and JSON documents that cost more CPU than everything else the statement does. This
dumper quotes every element instead and escapes it with ``bytes.replace`` (a quoted element is
valid array input whatever its type, ``"1"`` for an integer too). Registered for ``list`` on
each PostgreSQL connection (``install``); anything unusual (nested lists, elements of no known
type) goes to psycopg's dumper unchanged.
"""

from __future__ import annotations

from typing import Any

from psycopg.abc import Buffer
from psycopg.types.array import ListDumper


class QuotedListDumper(ListDumper):
    def dump(self, obj: list[Any]) -> Buffer | None:
        if not obj or self.sub_dumper is None:
            return super().dump(obj)
        dump = self.sub_dumper.dump
        tokens: list[bytes] = []
        for item in obj:
            if item is None:
                tokens.append(b"NULL")
                continue
            if isinstance(item, list):
                return super().dump(obj)
            data = dump(item)
            if data is None:
                tokens.append(b"NULL")
                continue
            if not isinstance(data, bytes):
                data = bytes(data)
            tokens.append(b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')
        return b"{" + self.delimiter.join(tokens) + b"}"


def install(connection: Any) -> None:
    """Use ``QuotedListDumper`` for lists on this psycopg connection."""
    connection.adapters.register_dumper(list, QuotedListDumper)
