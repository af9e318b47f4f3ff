"""The satisfaction survey after resolution: when a conversation on a channel the customer
reads (email, chat, a messaging app) is resolved, the relay handler ``SURVEY_HANDLER`` makes
one survey link (a random token; only its SHA-256 is stored) and sends it as a reply in the
conversation; the customer rates 1 to 5 on the public page ``/survey/{token}``. A later
answer on the same link replaces the first (the customer changed their mind)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from omniretail.db.uow import UnitOfWork
from omniretail.messaging.handlers import EventMeta, HandlerRegistry, UowFactory
from omniretail.support.conversations import require
from omniretail.support.desk_models import SatisfactionSurvey
from omniretail.support.errors import InvalidSupportRequest, UnknownConversation
from omniretail.support.events import StatusChanged
from omniretail.support.models import Status, SupportChannel
from omniretail.support.replies import reply
from omniretail.support.schemas import ReplyCreate

SURVEY_HANDLER = "support.ask_survey"
SURVEY_PATH = "/survey/{token}"
# Channels where the customer reads our replies (not a phone call or a counter conversation).
ASKED_ON = (SupportChannel.EMAIL.value, SupportChannel.CHAT.value, SupportChannel.SOCIAL.value)
SURVEY_AUTHOR = "system"


@dataclass(frozen=True)
class SurveyView:
    conversation_reference: str
    rating: int | None
    comment: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ask_survey(uow: UnitOfWork, conversation_id: int, *, base_url: str) -> str | None:
    """The survey link sent after this resolution (None: not asked: the conversation is not
    resolved any more, its channel is not read by the customer, or this resolution was
    asked already)."""
    conversation = require(uow, conversation_id, lock=True)
    if conversation.status != Status.RESOLVED.value or conversation.channel not in ASKED_ON:
        return None
    if conversation.merged_into_id is not None or conversation.resolved_at is None:
        return None
    asked = uow.session.scalar(
        select(SatisfactionSurvey.id).where(
            SatisfactionSurvey.conversation_id == conversation.id,
            SatisfactionSurvey.asked_at >= conversation.resolved_at,
        )
    )
    if asked is not None:
        return None
    token = secrets.token_urlsafe(24)
    uow.session.add(
        SatisfactionSurvey(
            conversation_id=conversation.id, token_hash=_hash(token), asked_at=uow.now
        )
    )
    link = base_url.rstrip("/") + SURVEY_PATH.format(token=token)
    body = (
        "We hope we sorted this out for you. How did we do? Rate us from 1 to 5 here: "
        f"{link}\nIf anything is still wrong, just reply and we will pick it up again."
    )
    reply(
        uow,
        conversation.id,
        ReplyCreate(body=body, status="resolved"),
        author=SURVEY_AUTHOR,
    )
    return link


def _survey(uow: UnitOfWork, token: str) -> SatisfactionSurvey:
    found = uow.session.scalar(
        select(SatisfactionSurvey).where(SatisfactionSurvey.token_hash == _hash(token))
    )
    if found is None:
        raise UnknownConversation("this survey link is not known", field="token")
    return found


def survey_by_token(uow: UnitOfWork, token: str) -> SurveyView:
    survey = _survey(uow, token)
    conversation = require(uow, survey.conversation_id)
    return SurveyView(conversation.reference, survey.rating, survey.comment)


def answer_survey(
    uow: UnitOfWork, token: str, rating: int, comment: str | None = None
) -> SurveyView:
    if not 1 <= rating <= 5:
        raise InvalidSupportRequest("choose a rating from 1 to 5", field="rating")
    survey = _survey(uow, token)
    survey.rating = rating
    survey.comment = (comment or "").strip()[:500] or None
    survey.answered_at = uow.now
    return survey_by_token(uow, token)


class SurveyAsker:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def __call__(self, event: StatusChanged, meta: EventMeta, uow_factory: UowFactory) -> None:
        if event.status != Status.RESOLVED.value:
            return
        with uow_factory() as uow:
            ask_survey(uow, event.conversation_id, base_url=self.base_url)


def install_surveys(registry: HandlerRegistry, *, base_url: str) -> None:
    registry.on(StatusChanged, SURVEY_HANDLER, SurveyAsker(base_url))
