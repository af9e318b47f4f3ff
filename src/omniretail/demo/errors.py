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


class TooLittleStock(DomainError):
    slug = "demo-too-little-stock"
    title = "Too little stock for the demo orders"
    status: ClassVar[int] = 409
