"""Normalising source stock codes and telling products from charges and adjustments."""

from __future__ import annotations

import re

PRODUCT_CODE = re.compile(r"^\d{5}[A-Z]*$")
PRODUCT_CODE_PATTERN = PRODUCT_CODE.pattern

# Known non-product codes of the Online Retail II log and what they stand for.
NON_PRODUCT_KINDS: dict[str, str] = {
    "POST": "postage",
    "DOT": "postage",
    "C2": "carriage",
    "C3": "carriage",
    "M": "manual",
    "D": "discount",
    "S": "samples",
    "B": "bad debt adjustment",
    "BANK CHARGES": "bank charges",
    "AMAZONFEE": "marketplace fee",
    "ADJUST": "adjustment",
    "ADJUST2": "adjustment",
    "PADS": "packaging",
    "TEST001": "test",
    "TEST002": "test",
    "GIFT": "gift voucher",
}


def normalise_code(raw: str) -> str:
    return raw.strip().upper()


def is_product_code(code: str) -> bool:
    return PRODUCT_CODE.match(code) is not None


def non_product_kind(code: str) -> str:
    """Why a normalised code is not a product (``other`` where the log gives no clue)."""
    if code in NON_PRODUCT_KINDS:
        return NON_PRODUCT_KINDS[code]
    if code.startswith("GIFT_"):
        return "gift voucher"
    if code.startswith("DCGS"):
        return "dcgs bundle"
    return "other"
