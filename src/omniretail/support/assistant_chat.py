"""The assistant in the chat: the ``hooks.Assistant`` port's adapter, which the composition
root holds (``Container.assistant``) when ``support_assistant_in_chat`` is on (``assistant_for``).

The context is built only from what the request establishes: ``customer_id`` as the request
gives it (set only for a signed-in or verified customer), and the conversation's linked order
as already verified only when that order belongs to that customer. A question about an order
tags the conversation ``wismo`` (the HQ measures count it); a handover leaves the message to an
agent (None) with an internal note saying why; the transcript is the conversation itself."""

from __future__ import annotations

from collections.abc import Callable

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.orders import service as orders
from omniretail.settings import Settings
from omniretail.support.assistant import AssistantConfig, AssistantContext, answer
from omniretail.support.conversations import change_tags
from omniretail.support.hooks import Assistant, AssistantRequest
from omniretail.support.measures import WISMO_TAG
from omniretail.support.replies import note
from omniretail.support.schemas import NoteCreate

WISMO_INTENT = "where_is_my_order"


def _verified_orders(uow: UnitOfWork, request: AssistantRequest) -> tuple[str, ...]:
    """The linked order's number, only when it is the signed-in customer's own order."""
    if request.customer_id is None or request.order_id is None:
        return ()
    order = orders.get_order_by_id(uow.session, request.order_id)
    if order is None or order.customer_id is None:
        return ()
    if order.customer_id not in customers.cluster(uow, request.customer_id):
        return ()
    return (str(order.number),)


def chat_assistant(
    config: AssistantConfig | None = None,
) -> Callable[[UnitOfWork, AssistantRequest], str | None]:
    """The hook function: the assistant's answer, or None for an agent."""

    def assistant(uow: UnitOfWork, request: AssistantRequest) -> str | None:
        context = AssistantContext(
            customer_id=request.customer_id,
            verified_orders=_verified_orders(uow, request),
            channel=request.channel,
        )
        reply = answer(uow, request.text, context, config=config)
        if reply.intent == WISMO_INTENT:
            change_tags(uow, request.conversation_id, add=[WISMO_TAG], remove=[])
        if reply.handover:
            note(
                uow,
                request.conversation_id,
                NoteCreate(
                    body=f"Handed over by the assistant: intent {reply.intent} "
                    f"(confidence {reply.confidence:.2f})"
                ),
                author="assistant",
            )
            return None
        return reply.text

    return assistant


def assistant_for(settings: Settings) -> Assistant | None:
    """The chat assistant the settings ask for: ``chat_assistant`` configured from them when
    ``support_assistant_in_chat`` is on, else None (every chat message waits for an agent)."""
    if not settings.support_assistant_in_chat:
        return None
    return chat_assistant(AssistantConfig.from_settings(settings))
