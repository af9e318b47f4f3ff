"""The ``Content-Disposition`` of a file the browser saves (RFC 6266), for every download.

Response headers are Latin-1, so a name in another script ("счёт.pdf", sent by a customer)
cannot go in as it is (a 500); and a name is never a path. The header carries the last
path segment twice: ASCII letters, digits and ``._-`` in ``filename``, and in full,
percent-encoded UTF-8, in ``filename*`` (RFC 8187), which browsers prefer."""

from __future__ import annotations

from urllib.parse import quote

MAX_NAME = 120


def attachment(filename: str, *, default: str = "download") -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:MAX_NAME]
    ascii_name = "".join(c for c in name if c.isascii() and (c.isalnum() or c in "._- "))
    ascii_name = ascii_name.strip(" .") or default
    header = f'attachment; filename="{ascii_name}"'
    if name and name != ascii_name:
        # "replace": a name parsed from an email may hold undecodable bytes (surrogates)
        full = quote(name.encode("utf-8", "replace"), safe="")
        header += f"; filename*=UTF-8''{full}"
    return header
