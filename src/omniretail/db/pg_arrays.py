"""Array parameters on PostgreSQL sent without a regular expression per element.

Batches go to PostgreSQL as one array per column (``db.bulk``, ``db.batch``), in psycopg's
text array format. psycopg's own text dumper runs a regular expression over every element to
decide whether it needs quotes; over a batch of rendered messages (kilobytes of ciphertext per
element) and JSON documents that cost more CPU than everything else the statement does. This
dumper quotes every element instead and escapes it with ``bytes.replace`` (a quoted element is
valid array input whatever its type, ``"1"`` for an integer too). Registered for ``list`` on
each PostgreSQL connection (``install``); anything unusual (nested lists, elements of no known
type) goes to psycopg's dumper unchanged.

The commonest arrays skip the per-element dumper: integers are formatted at once, strings
are joined around a NUL (which PostgreSQL text can never hold), escaped in one pass over the
whole and split again only when NULLs are among them, and a list of datetimes dumps each
distinct value once (a batch's rows mostly share ``now``).
"""

from __future__ import annotations

from datetime import datetime
from types import NoneType
from typing import Any

from psycopg._encodings import conn_encoding
from psycopg.abc import Buffer
from psycopg.types.array import ListDumper


class QuotedListDumper(ListDumper):
    def dump(self, obj: list[Any]) -> Buffer | None:
        if not obj or self.sub_dumper is None:
            return super().dump(obj)
        kinds = set(map(type, obj))
        nulls = NoneType in kinds
        kinds.discard(NoneType)
        if not kinds:
            return b"{" + self.delimiter.join([b"NULL"] * len(obj)) + b"}"
        if len(kinds) == 1:
            kind = kinds.pop()
            if kind is int:
                if nulls:
                    return self._join([b"NULL" if i is None else b"%d" % i for i in obj])
                return self._join(list(map(b"%d".__mod__, obj)))
            if kind is str:
                present = [s for s in obj if s is not None] if nulls else obj
                joined = "\x00".join(present)
                if joined.count("\x00") == len(present) - 1:  # no element holds a NUL itself
                    return self._strings(obj, joined, nulls)
            elif kind is datetime:
                return self._quoted(obj, {})
        return self._quoted(obj, None)

    def _join(self, tokens: list[bytes]) -> bytes:
        return b"{" + self.delimiter.join(tokens) + b"}"

    def _strings(self, obj: list[str | None], joined: str, nulls: bool) -> Buffer:
        encoding = conn_encoding(self.connection)
        data = joined.encode(encoding if encoding != "ascii" else "utf-8")  # as psycopg's
        escaped = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        if nulls:
            pieces = iter(escaped.split(b"\x00"))
            return self._join([b"NULL" if s is None else b'"' + next(pieces) + b'"' for s in obj])
        return b'{"' + escaped.replace(b"\x00", b'"' + self.delimiter + b'"') + b'"}'

    def _quoted(self, obj: list[Any], seen: dict[Any, bytes] | None) -> Buffer | None:
        dump = self.sub_dumper.dump  # type: ignore[union-attr]
        tokens: list[bytes] = []
        for item in obj:
            if item is None:
                tokens.append(b"NULL")
                continue
            if seen is not None and (token := seen.get(item)) is not None:
                tokens.append(token)
                continue
            if isinstance(item, list):
                return super().dump(obj)
            data = dump(item)
            if data is None:
                tokens.append(b"NULL")
                continue
            if not isinstance(data, bytes):
                data = bytes(data)
            token = b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
            if seen is not None:
                seen[item] = token
            tokens.append(token)
        return b"{" + self.delimiter.join(tokens) + b"}"


def install(connection: Any) -> None:
    """Use ``QuotedListDumper`` for lists on this psycopg connection."""
    connection.adapters.register_dumper(list, QuotedListDumper)
