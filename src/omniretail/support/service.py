"""The support face: conversations from every channel, threaded and linked, the desk's
changes, replies, notes, canned replies, chat and the inbound email and webhook ingest.
Services never commit; other packages import these names from here."""

from __future__ import annotations

from omniretail.support.assistant import AssistantConfig, email_auto_reply
from omniretail.support.assistant_chat import assistant_for, chat_assistant
from omniretail.support.chat import (
    by_token,
    chat_messages,
    customer_chats,
    post_chat,
    start_chat,
)
from omniretail.support.conversations import (
    DEFAULT_TEAM,
    ORDER_NUMBER,
    assign,
    attachment_file,
    change_tags,
    conversation_read,
    count_open,
    default_team,
    desk_staff,
    get_conversation,
    list_conversations,
    relink,
    require,
    set_priority,
    set_status,
)
from omniretail.support.hooks import Assistant, AssistantRequest
from omniretail.support.hours import (
    add_business_minutes,
    breached,
    business_minutes_between,
)
from omniretail.support.ingest import (
    Limits,
    ingest_email,
    ingest_social,
    mentioned_order,
    trim_quoted,
    verified_customer,
)
from omniretail.support.measures import WISMO_TAG, SupportMeasures, support_measures
from omniretail.support.merging import merge, split
from omniretail.support.privacy import forget_customer, personal_data
from omniretail.support.replies import (
    VARIABLES,
    delete_canned,
    get_canned,
    list_canned,
    log_contact,
    note,
    put_canned,
    render_canned,
    reply,
)
from omniretail.support.signing import SIGNATURE_HEADER, sign, verify
from omniretail.support.surveys import (
    SURVEY_PATH,
    SurveyView,
    answer_survey,
    ask_survey,
    install_surveys,
    survey_by_token,
)
from omniretail.support.teams import get_team, list_teams, put_team

__all__ = [
    "DEFAULT_TEAM",
    "ORDER_NUMBER",
    "SIGNATURE_HEADER",
    "SURVEY_PATH",
    "VARIABLES",
    "WISMO_TAG",
    "Assistant",
    "AssistantConfig",
    "AssistantRequest",
    "Limits",
    "SupportMeasures",
    "SurveyView",
    "add_business_minutes",
    "answer_survey",
    "ask_survey",
    "assign",
    "assistant_for",
    "attachment_file",
    "breached",
    "business_minutes_between",
    "by_token",
    "change_tags",
    "chat_assistant",
    "chat_messages",
    "conversation_read",
    "count_open",
    "customer_chats",
    "default_team",
    "delete_canned",
    "desk_staff",
    "email_auto_reply",
    "forget_customer",
    "get_canned",
    "get_conversation",
    "get_team",
    "ingest_email",
    "ingest_social",
    "install_surveys",
    "list_canned",
    "list_conversations",
    "list_teams",
    "log_contact",
    "mentioned_order",
    "merge",
    "note",
    "personal_data",
    "post_chat",
    "put_canned",
    "put_team",
    "relink",
    "render_canned",
    "reply",
    "require",
    "set_priority",
    "set_status",
    "sign",
    "split",
    "start_chat",
    "support_measures",
    "survey_by_token",
    "trim_quoted",
    "verified_customer",
    "verify",
]
