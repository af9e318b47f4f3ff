"""``POST /api/v1/support/assistant``: the public assistant (shop chat, tracking page).

``/support/assistant/me`` (signed in): the principal's customer profile is the verified
customer; on the public route a person is verified only by an order number with its email
address (never by a claim in the body).
Requests are limited per client address like the other public endpoints (429, Retry-After);
the count is committed in its own transaction, the answer is read in a read transaction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from omniretail.api.deps import ContainerDep
from omniretail.auth import service as auth
from omniretail.kernel.errors import DomainError
from omniretail.support.assistant import AssistantContext, AssistantReply, answer

router = APIRouter(tags=["support"])

Code = Annotated[str, Field(min_length=1, max_length=40)]


class AssistantThrottled(DomainError):
    """Too many questions from this client (``retry_after`` seconds, also Retry-After)."""

    slug = "too-many-assistant-questions"
    title = "Too many questions"
    status = 429


class AssistantQuestion(BaseModel):
    question: str = Field(min_length=1, max_length=1000)
    order_number: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    store: Code | None = None
    pending_intent: str | None = Field(default=None, max_length=60)


class AssistantAnswer(BaseModel):
    intent: str
    confidence: float
    text: str
    handover: bool
    needs_verification: bool
    order_number: str | None
    pending_intent: str | None
    transcript: list[str]


def to_answer(reply: AssistantReply) -> AssistantAnswer:
    return AssistantAnswer(
        intent=reply.intent,
        confidence=reply.confidence,
        text=reply.text,
        handover=reply.handover,
        needs_verification=reply.needs_verification,
        order_number=reply.order_number,
        pending_intent=reply.context.pending_intent,
        transcript=list(reply.transcript),
    )


@router.post(
    "/support/assistant",
    response_model=AssistantAnswer,
    responses={429: {"description": "too many questions from this client"}},
)
def ask_assistant(
    request: Request, body: AssistantQuestion, container: ContainerDep
) -> AssistantAnswer:
    """Ask the assistant a question (anyone). Order details need the order number with the
    email address it was placed with. ``handover``: an agent should take over."""
    return _ask(request, body, container, customer_id=None)


@router.post(
    "/support/assistant/me",
    response_model=AssistantAnswer,
    responses={429: {"description": "too many questions from this client"}},
)
def ask_assistant_signed_in(
    request: Request, body: AssistantQuestion, container: ContainerDep
) -> AssistantAnswer:
    """The same for a signed-in customer: their own orders and points without the order
    number and email (the customer is the session's, never one named in the request)."""
    principal = request.state.principal
    customer_id = principal.customer_id if principal.role == "customer" else None
    return _ask(request, body, container, customer_id=customer_id)


def _ask(
    request: Request, body: AssistantQuestion, container: ContainerDep, *, customer_id: int | None
) -> AssistantAnswer:
    auth.throttle_address(
        container.uow,
        container.keyring,
        auth.AddressLimit.assistant(container.settings),
        request.client.host if request.client else None,
        refused=lambda seconds: AssistantThrottled(
            f"too many questions; try again in {seconds} seconds", retry_after=seconds
        ),
    )
    context = AssistantContext(
        customer_id=customer_id,
        store=body.store,
        channel="api",
        pending_intent=body.pending_intent,
    )
    reply = answer(
        container, body.question, context, order_number=body.order_number, email=body.email
    )
    return to_answer(reply)
