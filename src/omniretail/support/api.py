"""Support's HTTP routes (``/support/...``; every one is in ``auth/policy.py``).

Agents (``service_agent``, admins): conversations by queue, status, assignee; a conversation
with its messages; reply, note, assign, status, priority, tags, re-link, merge, split; canned
replies; teams. Agents and store associates log phone and in-store contacts.

Customers: web chat. ``POST /support/chats`` starts an anonymous chat and answers its token,
the credential for posting (``POST /support/chats/{token}/messages``), reading
(``GET .../messages``) and listening (``GET .../events``, server-sent events); a signed-in
customer starts theirs under ``/customers/{customer_id}/support/chats``, linked to their
profile. Customers never see notes, nor any other chat.

Social and messaging apps post to ``POST /support/webhooks/inbound``, signed (``signing``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from omniretail.api.deps import (
    ActorDep,
    ContainerDep,
    ReadDep,
    UseCaseDep,
    no_content,
)
from omniretail.api.downloads import attachment
from omniretail.api.params import IdPath, KeyPath
from omniretail.kernel.limits import MAX_INT64, whole_number
from omniretail.runtime import Runtime
from omniretail.support import service
from omniretail.support.assistant import warm_up
from omniretail.support.assistant_api import router as assistant_router
from omniretail.support.errors import BadSignature, InvalidSupportRequest
from omniretail.support.hooks import Assistant
from omniretail.support.schemas import (
    AssignRequest,
    CannedReplyRead,
    CannedReplyWrite,
    ChatPost,
    ChatRead,
    ChatStart,
    ChatStarted,
    ContactCreate,
    ConversationQuery,
    ConversationRead,
    Ingested,
    LinkRequest,
    MergeRequest,
    MessageRead,
    NoteCreate,
    PriorityRequest,
    ReplyCreate,
    SocialMessage,
    SplitRequest,
    StatusRequest,
    TagsRequest,
    TeamRead,
    TeamWrite,
)

router = APIRouter(tags=["support"])
router.include_router(assistant_router)
__all__ = ["router", "warm_up"]
After = Annotated[int, Query(ge=0, le=MAX_INT64)]


def _code(value: str) -> str:
    value = value.strip().lower()
    if not value or len(value) > 40 or not all(c.isalnum() or c in "-_" for c in value):
        raise InvalidSupportRequest("codes are 1-40 letters, digits, - and _", field="code")
    return value


# --- conversations ---------------------------------------------------------------------------


@router.get("/support/conversations", response_model=list[ConversationRead])
def list_conversations(
    uow: ReadDep, query: Annotated[ConversationQuery, Query()]
) -> list[ConversationRead]:
    """A queue: filter by team, status, assignee (or unassigned), channel, customer, tag,
    priority, or SLA breached; the latest activity first."""
    return service.list_conversations(uow, query)


@router.get("/support/conversations/{conversation_id}", response_model=ConversationRead)
def get_conversation(conversation_id: IdPath, uow: ReadDep) -> ConversationRead:
    return service.get_conversation(uow, conversation_id)


@router.get(
    "/support/conversations/{conversation_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_attachment(conversation_id: IdPath, attachment_id: IdPath, uow: ReadDep) -> Response:
    """An attachment's bytes (unsealed), always as a download: a customer's file is never
    rendered in the console's origin."""
    filename, _content_type, data = service.attachment_file(uow, conversation_id, attachment_id)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": attachment(filename, default="attachment"),
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/support/conversations/{conversation_id}/replies", status_code=201, response_model=MessageRead
)
def reply(
    conversation_id: IdPath,
    body: ReplyCreate,
    use_case: UseCaseDep,
    actor: ActorDep,
    container: ContainerDep,
) -> MessageRead:
    """Reply to the customer on the conversation's channel (email: sent in the thread by the
    relay); ``canned`` renders a canned reply; the conversation becomes pending (or
    resolved)."""
    domain = _mail_domain(container)
    return use_case.run(
        lambda uow: service.reply(uow, conversation_id, body, author=actor, domain=domain),
        status_code=201,
        remember=False,
    )


def _mail_domain(container: Runtime) -> str:
    address = container.settings.support_reply_to or container.settings.smtp_from
    return address.rsplit("@", 1)[-1].strip(" >") or "omniretail"


@router.post(
    "/support/conversations/{conversation_id}/notes", status_code=201, response_model=MessageRead
)
def note(
    conversation_id: IdPath, body: NoteCreate, use_case: UseCaseDep, actor: ActorDep
) -> MessageRead:
    """An internal note (never shown to the customer); ``@handle`` mentions someone."""
    return use_case.run(
        lambda uow: service.note(uow, conversation_id, body, author=actor),
        status_code=201,
        remember=False,
    )


@router.post("/support/conversations/{conversation_id}/assign", response_model=ConversationRead)
def assign(conversation_id: IdPath, body: AssignRequest, use_case: UseCaseDep) -> ConversationRead:
    return use_case.run(
        lambda uow: service.assign(
            uow, conversation_id, assignee_id=body.assignee_id, team=body.team
        ),
        remember=False,
    )


@router.post("/support/conversations/{conversation_id}/status", response_model=ConversationRead)
def set_status(
    conversation_id: IdPath, body: StatusRequest, use_case: UseCaseDep
) -> ConversationRead:
    return use_case.run(
        lambda uow: service.set_status(uow, conversation_id, body.status), remember=False
    )


@router.post("/support/conversations/{conversation_id}/priority", response_model=ConversationRead)
def set_priority(
    conversation_id: IdPath, body: PriorityRequest, use_case: UseCaseDep
) -> ConversationRead:
    return use_case.run(
        lambda uow: service.set_priority(uow, conversation_id, body.priority), remember=False
    )


@router.post("/support/conversations/{conversation_id}/tags", response_model=ConversationRead)
def change_tags(
    conversation_id: IdPath, body: TagsRequest, use_case: UseCaseDep
) -> ConversationRead:
    return use_case.run(
        lambda uow: service.change_tags(uow, conversation_id, add=body.add, remove=body.remove),
        remember=False,
    )


@router.post("/support/conversations/{conversation_id}/links", response_model=ConversationRead)
def relink(conversation_id: IdPath, body: LinkRequest, use_case: UseCaseDep) -> ConversationRead:
    """Re-link the customer, order, fulfilment or return request (``null`` clears one; a
    field left out keeps its link)."""
    given = body.model_dump(exclude_unset=True)
    return use_case.run(lambda uow: service.relink(uow, conversation_id, **given), remember=False)


@router.post("/support/conversations/{conversation_id}/merge", response_model=ConversationRead)
def merge(conversation_id: IdPath, body: MergeRequest, use_case: UseCaseDep) -> ConversationRead:
    """Merge this conversation into ``into`` (its messages move there); answers the
    survivor."""
    return use_case.run(lambda uow: service.merge(uow, conversation_id, body.into), remember=False)


@router.post(
    "/support/conversations/{conversation_id}/split",
    status_code=201,
    response_model=ConversationRead,
)
def split(conversation_id: IdPath, body: SplitRequest, use_case: UseCaseDep) -> ConversationRead:
    """Move the named messages into a new conversation; answers the new one."""
    return use_case.run(
        lambda uow: service.split(uow, conversation_id, body.message_ids, subject=body.subject),
        status_code=201,
        remember=False,
    )


@router.post("/support/contacts", status_code=201, response_model=ConversationRead)
def log_contact(body: ContactCreate, use_case: UseCaseDep, actor: ActorDep) -> ConversationRead:
    """A phone call or in-store conversation, written down by an agent or an associate."""
    return use_case.run(
        lambda uow: service.log_contact(uow, body, author=actor), status_code=201, remember=False
    )


# --- canned replies and teams ----------------------------------------------------------------


@router.get("/support/canned-replies", response_model=list[CannedReplyRead])
def list_canned(uow: ReadDep) -> list[CannedReplyRead]:
    return service.list_canned(uow)


@router.get("/support/canned-replies/{code}", response_model=CannedReplyRead)
def get_canned(code: KeyPath, uow: ReadDep) -> CannedReplyRead:
    return service.get_canned(uow, _code(code))


@router.put("/support/canned-replies/{code}", response_model=CannedReplyRead)
def put_canned(code: KeyPath, body: CannedReplyWrite, use_case: UseCaseDep) -> CannedReplyRead:
    """Create or replace; the body is a Jinja2 template (sandboxed) with the variables
    ``customer_name``, ``order_number``, ``reference``, ``agent`` and ``team``."""
    return use_case.run(lambda uow: service.put_canned(uow, _code(code), body))


@router.delete("/support/canned-replies/{code}", status_code=204)
def delete_canned(code: KeyPath, use_case: UseCaseDep) -> None:
    use_case.run(no_content(lambda uow: service.delete_canned(uow, _code(code))))


@router.get("/support/teams", response_model=list[TeamRead])
def list_teams(uow: ReadDep) -> list[TeamRead]:
    return service.list_teams(uow)


@router.put("/support/teams/{code}", response_model=TeamRead)
def put_team(code: KeyPath, body: TeamWrite, use_case: UseCaseDep) -> TeamRead:
    """Create or replace a team: business hours per weekday in its time zone and SLA targets
    in business minutes."""
    return use_case.run(lambda uow: service.put_team(uow, _code(code), body))


# --- the inbound webhook (social and messaging apps) -----------------------------------------


@router.post(
    "/support/webhooks/inbound",
    response_model=Ingested,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": SocialMessage.model_json_schema()}},
            "required": True,
        }
    },
)
async def inbound_webhook(
    request: Request, container: ContainerDep, use_case: UseCaseDep
) -> Ingested:
    """One message from an app, signed with the shared secret (``Omniretail-Signature:
    t=<unix seconds>,v1=<HMAC-SHA256 of "<t>." + body>``); a message id seen before adds
    nothing. A missing, wrong or expired signature answers 400."""
    body = await request.body()
    settings = container.settings
    secret = settings.support_webhook_secret
    header = request.headers.get(service.SIGNATURE_HEADER, "")
    now = container.clock.now().timestamp()
    if secret is None or not service.verify(
        secret.get_secret_value(),
        header,
        body,
        now=now,
        tolerance=settings.support_webhook_tolerance_seconds,
    ):
        raise BadSignature("the signature is missing, wrong or outside the replay window")
    try:
        item = SocialMessage.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidSupportRequest(f"not a message: {exc.errors()[0]['msg']}") from None
    result: Ingested = await run_in_threadpool(
        use_case.run, lambda uow: service.ingest_social(uow, item), remember=False
    )
    return result


# --- web chat --------------------------------------------------------------------------------


def assistant_of(request: Request) -> Assistant | None:
    """The process's chat assistant (``Container.assistant``; ``app.state.assistant``, set by
    ``create_app``, reads it at each request), or None: the chat waits for an agent."""
    assistant: Callable[[], Assistant | None] = request.app.state.assistant
    return assistant()


AssistantDep = Annotated[Assistant | None, Depends(assistant_of)]


@router.post("/support/chats", status_code=201, response_model=ChatStarted)
def start_chat(body: ChatStart, use_case: UseCaseDep, assistant: AssistantDep) -> ChatStarted:
    """Start an anonymous chat; keep the token it answers (the chat's only credential)."""
    return use_case.run(
        lambda uow: service.start_chat(uow, body, assistant=assistant),
        status_code=201,
        remember=False,
    )


@router.post("/customers/{customer_id}/support/chats", status_code=201, response_model=ChatStarted)
def start_customer_chat(
    customer_id: IdPath, body: ChatStart, use_case: UseCaseDep, assistant: AssistantDep
) -> ChatStarted:
    """A signed-in customer's chat, linked to their profile."""
    return use_case.run(
        lambda uow: service.start_chat(uow, body, customer_id=customer_id, assistant=assistant),
        status_code=201,
        remember=False,
    )


@router.get("/customers/{customer_id}/support/chats", response_model=list[ChatRead])
def customer_chats(customer_id: IdPath, uow: ReadDep) -> list[ChatRead]:
    return service.customer_chats(uow, customer_id)


@router.post("/support/chats/{token}/messages", status_code=201, response_model=ChatRead)
def post_chat(
    token: KeyPath, body: ChatPost, use_case: UseCaseDep, assistant: AssistantDep
) -> ChatRead:
    """Post to the chat; answers the messages since (the assistant's answer included)."""
    return use_case.run(
        lambda uow: service.post_chat(uow, _token(token), body, assistant=assistant),
        status_code=201,
        remember=False,
    )


@router.get("/support/chats/{token}/messages", response_model=ChatRead)
def chat_messages(token: KeyPath, uow: ReadDep, after: After = 0) -> ChatRead:
    return service.chat_messages(uow, _token(token), after=after)


def _token(token: str) -> str:
    if not 20 <= len(token) <= 100:
        raise InvalidSupportRequest("not a chat token", field="token")
    return token


@router.get("/support/chats/{token}/events", response_class=StreamingResponse)
async def chat_events(
    token: KeyPath,
    request: Request,
    container: ContainerDep,
    after: After = 0,
    seconds: Annotated[int, Query(ge=1, le=120)] = 25,
) -> StreamingResponse:
    """Server-sent events: each new message of the chat (``event: message``, JSON data, the
    message id as the event id, so a reconnecting EventSource resumes after
    ``Last-Event-ID``). The stream ends after ``seconds`` and the browser reconnects."""
    resumed = whole_number(request.headers.get("last-event-id", ""))
    start = after if resumed is None else resumed
    token = _token(token)
    await run_in_threadpool(_read_chat, container, token, 0)  # 404 before streaming

    async def stream() -> AsyncIterator[str]:
        cursor = start
        deadline = time.monotonic() + seconds
        yield "retry: 2000\n\n"
        while True:
            read = await run_in_threadpool(_read_chat, container, token, cursor)
            for message in read.messages:
                cursor = max(cursor, message.id)
                data = json.dumps(message.model_dump(mode="json"))
                yield f"id: {message.id}\nevent: message\ndata: {data}\n\n"
            if time.monotonic() >= deadline or await request.is_disconnected():
                return
            yield ": keep-alive\n\n"
            await asyncio.sleep(1.0)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _read_chat(container: Runtime, token: str, after: int) -> ChatRead:
    with container.read_uow() as uow:
        return service.chat_messages(uow, token, after=after)
