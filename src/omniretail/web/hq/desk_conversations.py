"""The desk's queue and conversations (``/hq/desk``): the queue with its filters (team,
status, assignee, tag, priority, SLA breached; re-drawn by HTMX), and a conversation with its
messages, the reply form (a canned reply rendered into it), internal notes with @mentions,
assignment, status, tags, priority, re-linking the customer or order, merge and split; beside
it the customer's desk (``hq/_desk_customer.html``: 360, orders with live tracking, returns,
loyalty and the desk actions).

Every form is authorised as the ``/api/v1/support/conversations/...`` operation it stands for
and runs the support service's function the API runs, with its audit row."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from omniretail.auth import service as auth
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.limits import whole_number
from omniretail.kernel.vault import vault_for
from omniretail.processes import desk
from omniretail.support import service as support
from omniretail.support.schemas import (
    AssignRequest,
    ChannelName,
    ConversationQuery,
    LinkRequest,
    MergeRequest,
    NoteCreate,
    PriorityName,
    PriorityRequest,
    ReplyCreate,
    SplitRequest,
    StatusName,
    StatusRequest,
    TagsRequest,
)
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    Posted,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors, errors_of
from omniretail.web.rendering import label
from omniretail.web.session import container_of

router = APIRouter(prefix="/hq/desk", route_class=PageRoute, include_in_schema=False)
CONVERSATION = "/support/conversations/{conversation_id}"
STATUSES = list(get_args(StatusName))
PRIORITIES = list(get_args(PriorityName))
CHANNELS = {name: label(name) for name in get_args(ChannelName)} | {
    "webhook-social": "Social and messaging apps"
}
SHOWN = 200
Text = Annotated[str, Query(max_length=60)]


@router.get("", response_class=HTMLResponse)
def queue(
    request: Request,
    viewer: HqDep,
    team: Text = "",
    status: Text = "open",
    assignee: Text = "",
    tag: Text = "",
    priority: Text = "",
    channel: Text = "",
    breached: bool = False,
) -> HTMLResponse:
    """The queue, newest activity first; ``assignee``: ``me``, ``none`` or empty (anyone)."""
    authorize_as(request, viewer, "GET /support/conversations")
    errors: Errors = {}
    query: dict[str, Any] = {"limit": SHOWN + 1, "breached": breached}
    if team:
        query["team"] = team
    if channel in CHANNELS:
        query["channel"] = channel
    if status in STATUSES:
        query["status"] = status
    if assignee == "me":
        query["assignee_id"] = viewer.principal.id
    elif assignee == "none":
        query["unassigned"] = True
    if tag:
        query["tag"] = tag
    if priority in PRIORITIES:
        query["priority"] = priority
    try:
        parsed = ConversationQuery.model_validate(query)
    except ValidationError as exc:
        errors = errors_of(exc)
        parsed = ConversationQuery(limit=SHOWN + 1)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        found = support.list_conversations(uow, parsed)
        more = len(found) > SHOWN
        found = found[:SHOWN]
        return {
            "conversations": found,
            "more": more,
            "teams": support.list_teams(uow),
            "names": _names(uow),
        }

    values = {
        "team": team,
        "status": status,
        "assignee": assignee,
        "tag": tag,
        "priority": priority,
        "channel": channel,
        "breached": "on" if breached else "",
    }
    return render(
        request,
        "hq/desk.html",
        viewer=viewer,
        values=values,
        errors=errors,
        statuses=STATUSES,
        priorities=PRIORITIES,
        channel_names=CHANNELS,
        shown=SHOWN,
        **read(request, load),
    )


def _names(uow: UnitOfWork) -> dict[int, str]:
    return {p.id: p.username or f"#{p.id}" for p in auth.list_principals(uow)}


def conversation_page(
    request: Request,
    viewer: Viewer,
    conversation_id: int,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    form: str = "",
    status: int = 200,
    canned: str = "",
) -> HTMLResponse:
    vault = vault_for(container_of(request).keyring)
    actor = viewer.principal.actor

    def load(uow: UnitOfWork) -> dict[str, Any]:
        conversation = support.get_conversation(uow, conversation_id)
        view = (
            desk.desk_view(uow, conversation.customer_id, vault=vault)
            if conversation.customer_id is not None
            else None
        )
        inserted = (
            support.render_canned(uow, conversation_id, canned, agent=actor) if canned else ""
        )
        return {
            "inserted": inserted,
            "canned_code": canned,
            "c": conversation,
            "view": view,
            "canned": support.list_canned(uow),
            "teams": support.list_teams(uow),
            "names": _names(uow),
            "assignable": support.desk_staff(uow),
        }

    return render(
        request,
        "hq/desk_conversation.html",
        viewer=viewer,
        status=status,
        errors=errors or {},
        values=values or {},
        form=form,
        desk_errors={},
        desk_form="",
        back=f"/hq/desk/conversations/{conversation_id}",
        statuses=STATUSES,
        priorities=PRIORITIES,
        channel_names=CHANNELS,
        **read(request, load),
    )


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation(
    request: Request, viewer: HqDep, conversation_id: int, canned: Text = ""
) -> HTMLResponse:
    """``canned``: a canned reply rendered for this conversation into the reply box."""
    authorize_as(request, viewer, f"GET {CONVERSATION}", {"conversation_id": conversation_id})
    return conversation_page(request, viewer, conversation_id, canned=canned)


def _number_or_text(text: str) -> int | str:
    """An id as a number, else the text as typed (the schema says what is wrong with it)."""
    number = whole_number(text)
    return text if number is None else number


def _body(op: str, posted: Posted) -> dict[str, Any]:
    """The API's request body for the form of ``op``."""
    get = posted.get
    if op == "replies":
        body: dict[str, Any] = {"body": posted.values.get("body", "")}
        if get("status") in ("pending", "resolved"):
            body["status"] = get("status")
        return body
    if op == "notes":
        return {"body": posted.values.get("body", "")}
    if op == "assign":
        who = get("assignee_id")
        assignee = posted.viewer.principal.id if who == "me" else whole_number(who)
        return {"assignee_id": assignee, **({"team": get("team")} if get("team") else {})}
    if op == "status":
        return {"status": get("status")}
    if op == "priority":
        return {"priority": get("priority")}
    if op == "tags":
        return {
            "add": [t.strip() for t in get("add").split(",") if t.strip()],
            "remove": [t.strip() for t in get("remove").split(",") if t.strip()],
        }
    if op == "links":
        links: dict[str, Any] = {}
        if get("customer_id"):
            links["customer_id"] = _number_or_text(get("customer_id"))
        if get("order_number"):
            links["order_number"] = get("order_number").upper()
        return links
    if op == "merge":
        into = get("into")
        return {"into": _number_or_text(into)}
    ids = posted.lists.get("message_ids", [])
    split: dict[str, Any] = {"message_ids": [_number_or_text(i) for i in ids]}
    if get("subject"):
        split["subject"] = get("subject")
    return split


SCHEMAS: dict[str, type[BaseModel]] = {
    "replies": ReplyCreate,
    "notes": NoteCreate,
    "assign": AssignRequest,
    "status": StatusRequest,
    "priority": PriorityRequest,
    "tags": TagsRequest,
    "links": LinkRequest,
    "merge": MergeRequest,
    "split": SplitRequest,
}


@router.post("/conversations/{conversation_id}/{op}", response_model=None)
def conversation_change(
    request: Request, posted: PostedDep, conversation_id: int, op: str
) -> Response:
    schema = SCHEMAS.get(op)
    if schema is None:
        return render(
            request,
            "error.html",
            viewer=posted.viewer,
            status=404,
            title="Not found",
            message=f"A conversation has no form {op!r}.",
        )
    body = _body(op, posted)
    decided = authorize_as(
        request,
        posted.viewer,
        f"POST {CONVERSATION}/{op}",
        {"conversation_id": conversation_id},
        body,
    )
    actor = posted.viewer.principal.actor
    settings = container_of(request).settings
    address = settings.support_reply_to or settings.smtp_from
    domain = address.rsplit("@", 1)[-1].strip(" >") or "omniretail"

    def run(uow: UnitOfWork) -> Any:
        data: Any = schema.model_validate(body)
        cid = conversation_id
        if op == "replies":
            return support.reply(uow, cid, data, author=actor, domain=domain)
        if op == "notes":
            return support.note(uow, cid, data, author=actor)
        if op == "assign":
            return support.assign(uow, cid, assignee_id=data.assignee_id, team=data.team)
        if op == "status":
            return support.set_status(uow, cid, data.status)
        if op == "priority":
            return support.set_priority(uow, cid, data.priority)
        if op == "tags":
            return support.change_tags(uow, cid, add=data.add, remove=data.remove)
        if op == "links":
            return support.relink(uow, cid, **data.model_dump(exclude_unset=True))
        if op == "merge":
            return support.merge(uow, cid, data.into)
        return support.split(uow, cid, data.message_ids, subject=data.subject)

    try:
        done = change(request, decided, run)
    except (ValidationError, DomainError) as exc:
        return conversation_page(
            request,
            posted.viewer,
            conversation_id,
            errors=errors_of(exc),
            values=posted.values,
            form=op,
            status=getattr(exc, "status", 422),
        )
    target = done.id if op in ("merge", "split") else conversation_id
    notices = {
        "replies": "Reply sent.",
        "notes": "Note added.",
        "merge": "Merged.",
        "split": "Split off.",
    }
    return redirect(f"/hq/desk/conversations/{target}", notice=notices.get(op, "Saved."))
