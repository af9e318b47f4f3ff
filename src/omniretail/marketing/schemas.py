"""Marketing I/O shared by the API, the console and the CLI."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

RULE_MAX = 4000


class SegmentRule(BaseModel):
    rule: str = Field(min_length=1, max_length=RULE_MAX, description="CEL (segments_rules)")


class SegmentCreate(SegmentRule):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=500)


class SegmentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=500)
    rule: str | None = Field(default=None, min_length=1, max_length=RULE_MAX)


class SegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    rule: str
    member_count: int
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None


class SampleCustomer(BaseModel):
    id: int
    name: str = Field(description="first name and the surname's initial")


class SegmentPreview(BaseModel):
    count: int
    evaluated: int = Field(description="active customers the rule was run on")
    sample: list[SampleCustomer]


class SegmentMemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: int
    entered_at: datetime


class SegmentRefresh(BaseModel):
    segments: int
    customers: int
    entered: int
    exited: int
