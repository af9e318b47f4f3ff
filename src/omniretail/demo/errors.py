from __future__ import annotations

from typing import ClassVar

from omniretail.kernel.errors import DomainError, NotFound


class DataNotFound(NotFound):
    slug = "demo-data-not-found"
    title = "Transaction log not found"


class DownloadFailed(DomainError):
    slug = "demo-download-failed"
    title = "The transaction log could not be downloaded"
    status: ClassVar[int] = 502
