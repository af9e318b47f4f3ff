"""QR codes as HTTP responses (a cart's hand-over code, a pickup code)."""

from __future__ import annotations

import io
from typing import Literal

import segno
from fastapi import Response


def qr_response(data: str, fmt: Literal["svg", "png"]) -> Response:
    qr = segno.make(data, error="m")
    buffer = io.BytesIO()
    if fmt == "svg":
        qr.save(buffer, kind="svg", scale=6, border=2)
        return Response(buffer.getvalue(), media_type="image/svg+xml")
    qr.save(buffer, kind="png", scale=6, border=2)
    return Response(buffer.getvalue(), media_type="image/png")
