from __future__ import annotations

from omniretail.kernel.errors import InvalidRequest, NotFound


class HistoryFileNotFound(NotFound):
    slug = "history-file-not-found"
    title = "Transaction log not found"


class InvalidHistoryFile(InvalidRequest):
    slug = "invalid-history-file"
    title = "The transaction log cannot be imported"
