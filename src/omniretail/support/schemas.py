"""Support I/O shared by the API, the CLI and the desk."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from omniretail.kernel.limits import EmailAddress, Id, ShortText, TimeZoneName, Tiny
from omniretail.support import hours as business_hours

BODY_MAX = 20_000
StatusName = Literal["open", "pending", "resolved", "closed"]
PriorityName = Literal["low", "normal", "high", "urgent"]
ChannelName = Literal["email", "chat", "webhook-social", "phone", "in_store"]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=BODY_MAX)]
Clock = Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$", max_length=5)]


class TeamWrite(BaseModel):
    name: ShortText
    time_zone: TimeZoneName = "Europe/London"
    hours: dict[
        Annotated[str, StringConstraints(max_length=1)],
        Annotated[list[Clock], Field(min_length=2, max_length=2)],
    ] = Field(
        default_factory=lambda: dict(business_hours.DEFAULT_HOURS),
        max_length=7,
        description='ISO weekday ("1" Monday .. "7" Sunday) -> ["09:00", "17:00"]',
    )
    first_response_minutes: int = Field(240, ge=1, le=525_600)
    resolution_minutes: int = Field(2880, ge=1, le=5_256_000)
    address: Annotated[str, StringConstraints(max_length=200)] | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return business_hours.validate(value)


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    time_zone: str
    hours: dict[str, list[str]]
    first_response_minutes: int
    resolution_minutes: int
    address: str | None


class AttachmentRead(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int


class MessageRead(BaseModel):
    id: int
    direction: str
    author: str
    channel: str
    sender: str | None
    body: str
    created_at: datetime
    sent_at: datetime | None
    message_id: str | None
    quoted_trimmed: bool
    mentions: list[str]
    attachments: list[AttachmentRead] = []
    attachments_refused: int = 0
    sender_verified: bool | None = Field(
        default=None,
        description="an incoming email's own sender check; null where the conversation's stands",
    )


class ConversationRead(BaseModel):
    id: int
    reference: str
    team: str
    channel: str
    status: str
    priority: str
    assignee_id: int | None
    tags: list[str]
    subject: str | None
    contact: str | None
    customer_id: int | None
    sender_verified: bool | None = None
    order_number: str | None
    fulfilment_id: int | None
    return_request_code: str | None
    merged_into_id: int | None
    created_at: datetime
    last_message_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    reopened: int
    messages: list[MessageRead] | None = None


class ConversationPage(BaseModel):
    items: list[ConversationRead]


class ConversationQuery(BaseModel):
    team: Tiny | None = None
    status: StatusName | None = None
    assignee_id: Id | None = None
    unassigned: bool = False
    channel: ChannelName | None = None
    customer_id: Id | None = None
    tag: Tag | None = None
    priority: PriorityName | None = None
    breached: bool = False
    limit: int = Field(50, ge=1, le=500)


class ReplyCreate(BaseModel):
    body: Annotated[str, StringConstraints(max_length=BODY_MAX)] = ""
    canned: Tiny | None = Field(None, description="a canned reply's code, rendered as the body")
    status: Literal["pending", "resolved"] | None = Field(
        None, description="the status to set with the reply (default: pending)"
    )


class NoteCreate(BaseModel):
    body: Body


class AssignRequest(BaseModel):
    assignee_id: Id | None = None
    team: Tiny | None = None


class StatusRequest(BaseModel):
    status: StatusName


class PriorityRequest(BaseModel):
    priority: PriorityName


class TagsRequest(BaseModel):
    add: list[Tag] = Field(default_factory=list, max_length=20)
    remove: list[Tag] = Field(default_factory=list, max_length=20)


class LinkRequest(BaseModel):
    """Re-link: ``null`` clears a link, a missing field keeps it."""

    customer_id: Id | None = None
    order_number: Annotated[str, StringConstraints(max_length=40)] | None = None
    fulfilment_id: Id | None = None
    return_request_code: Annotated[str, StringConstraints(max_length=40)] | None = None


class MergeRequest(BaseModel):
    into: Id = Field(description="the conversation that survives")


class SplitRequest(BaseModel):
    message_ids: list[Id] = Field(min_length=1, max_length=200)
    subject: ShortText | None = None


class CannedReplyWrite(BaseModel):
    title: ShortText
    body: Annotated[str, StringConstraints(min_length=1, max_length=BODY_MAX)]


class CannedReplyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    title: str
    body: str


class ContactCreate(BaseModel):
    """A phone call or an in-store conversation logged by an agent or an associate."""

    channel: Literal["phone", "in_store"]
    body: Body
    subject: ShortText | None = None
    customer_id: Id | None = None
    order_number: Annotated[str, StringConstraints(max_length=40)] | None = None
    contact: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="the phone number or email the customer gave"
    )
    team: Tiny | None = None
    resolved: bool = False


class ChatStart(BaseModel):
    message: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    name: ShortText | None = None
    email: EmailAddress | None = None
    order_number: Annotated[str, StringConstraints(max_length=40)] | None = None
    page: Annotated[str, StringConstraints(max_length=500)] | None = None


class ChatPost(BaseModel):
    message: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class ChatMessage(BaseModel):
    id: int
    direction: Literal["in", "out"]
    author: str
    body: str
    created_at: datetime


class ChatRead(BaseModel):
    reference: str
    status: str
    messages: list[ChatMessage]


class ChatStarted(ChatRead):
    token: str = Field(description="the chat's credential: keep it to post and to listen")


class SocialMessage(BaseModel):
    """One message from a social or messaging app, posted to the signed webhook."""

    app: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    message_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    sender: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    text: Body
    thread_id: Annotated[str, StringConstraints(max_length=200)] | None = None
    # One mailbox, as the public chat's email: it picks the verified customer it belongs to.
    sender_email: EmailAddress | None = None
    sender_phone: Annotated[str, StringConstraints(max_length=40)] | None = None


class Ingested(BaseModel):
    conversation_id: int
    reference: str
    message_id: int | None
    created: bool = Field(description="a new conversation was opened")
    duplicate: bool = Field(description="the message was delivered before; nothing was added")
