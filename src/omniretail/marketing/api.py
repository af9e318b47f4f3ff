"""HTTP routes for marketing (mounted by ``app.py``)."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.marketing.segments_api import router as segments_router

router = APIRouter()
router.include_router(segments_router)
