"""Customer use cases: profiles, identities and their resolution, consents, contact gates.

Every use case takes the id it was given and resolves it to the surviving profile (a merged
profile's id stays valid as an alias). Services never commit.

Modules by concern: ``clusters`` (resolving ids), ``profiles``, ``identities``, ``consents``,
``verification`` (codes), ``claims`` (a signed-in customer's own email or phone),
``search`` (staff search by name or postcode),
``activity`` (the timeline and behavioural ingest), ``merges``
(merges, reviews, undo), ``privacy`` (export, erase), ``profile`` (the 360). Other packages
import the names below from ``customers.service``.
"""

from __future__ import annotations

from omniretail.customers.service.activity import (
    activity_read,
    anonymous_owners,
    identify_session,
    ingest_events,
    order_channel,
    record_contact,
    record_order,
    record_order_cancellation,
    record_orders,
    send_marketing_message,
    timeline,
    update_return_status,
)
from omniretail.customers.service.clusters import (
    cluster,
    clusters,
    customer_exists,
    require_root,
    resolve_id,
    root_row,
)
from omniretail.customers.service.consents import (
    birthdays,
    consent_history,
    consent_read,
    consenting,
    consenting_on,
    contact_address,
    contact_addresses,
    has_consent,
    list_consents,
    profiles_of,
    set_consent,
    verified_email,
)
from omniretail.customers.service.identities import (
    add_identity,
    add_verified_identity,
    confirm_identity,
    email_index,
    identity_read,
    identity_value,
    list_identities,
    require_identity,
    verified_email_owners,
    verified_email_owners_of_index,
)
from omniretail.customers.service.merges import (
    decide_review,
    get_merge,
    list_merges,
    list_reviews,
    merge_customers,
    merge_read,
    review_read,
    undo_merge,
)
from omniretail.customers.service.presence import (
    give_back_presence_code,
    note_refused_presence_code,
    points_of_binding,
    presence_binding,
    request_presence_code,
    spend_presence_code,
)
from omniretail.customers.service.privacy import (
    erase_customer,
    export_personal_data,
    privacy_log,
)
from omniretail.customers.service.profile import customer_360
from omniretail.customers.service.profiles import (
    create_customer,
    customer_read,
    find_customer,
    get_customer,
    update_customer,
)
from omniretail.customers.service.search import search_customers
from omniretail.customers.service.verification import (
    CODE_FIELD,
    CodeHasher,
    CodePolicy,
    code_policy_of,
    confirm_code,
    hasher_for,
    request_code,
)

__all__ = [
    "CODE_FIELD",
    "CodeHasher",
    "CodePolicy",
    "activity_read",
    "add_identity",
    "add_verified_identity",
    "anonymous_owners",
    "birthdays",
    "cluster",
    "clusters",
    "code_policy_of",
    "confirm_code",
    "confirm_identity",
    "consent_history",
    "consent_read",
    "consenting",
    "consenting_on",
    "contact_address",
    "contact_addresses",
    "create_customer",
    "customer_360",
    "customer_exists",
    "customer_read",
    "decide_review",
    "email_index",
    "erase_customer",
    "export_personal_data",
    "find_customer",
    "get_customer",
    "get_merge",
    "give_back_presence_code",
    "has_consent",
    "hasher_for",
    "identify_session",
    "identity_read",
    "identity_value",
    "ingest_events",
    "list_consents",
    "list_identities",
    "list_merges",
    "list_reviews",
    "merge_customers",
    "merge_read",
    "note_refused_presence_code",
    "order_channel",
    "points_of_binding",
    "presence_binding",
    "privacy_log",
    "profiles_of",
    "record_contact",
    "record_order",
    "record_order_cancellation",
    "record_orders",
    "request_code",
    "request_presence_code",
    "require_identity",
    "require_root",
    "resolve_id",
    "review_read",
    "root_row",
    "search_customers",
    "send_marketing_message",
    "set_consent",
    "spend_presence_code",
    "timeline",
    "undo_merge",
    "update_customer",
    "update_return_status",
    "verified_email",
    "verified_email_owners",
    "verified_email_owners_of_index",
]
