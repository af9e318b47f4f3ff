"""HQ sending: the send policy as a form, the send log (filters, counts by status and
reason, each outcome in words) and the suppression list (add; remove after a confirmation).
Each form is decided and audited as the API's ``/marketing/policy`` and
``/marketing/suppressions`` operations (``web.deps``); the pages read as their GETs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.api.params import IdPath
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.limits import whole_number
from omniretail.kernel.vault import vault_for
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import SendPolicy, SendRead, SuppressionWrite
from omniretail.web.deps import (
    HqDep,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
    submit,
)
from omniretail.web.forms import Errors, day_filter, errors_of
from omniretail.web.session import container_of

router = APIRouter(prefix="/hq/marketing", route_class=PageRoute, include_in_schema=False)
CAP_CHANNELS = ("email", "sms", "push", "inbox", "store", "receipt")
STATUSES = ("queued", "held", "sent", "suppressed", "dropped", "failed")
SEND_CHANNELS = CAP_CHANNELS
SUPPRESSION_CHANNELS = ("all", *CAP_CHANNELS)
SUPPRESSION_REASONS = ("manual", "bounced", "complained", "unsubscribed")
SENDS_PAGE = 50
SUPPRESSIONS_SHOWN = 200
# The decision's reasons, as the filter offers them (in the decision's order).
REASONS = {
    "customer_inactive": "customer not active",
    "suppressed": "on the suppression list",
    "consent": "no marketing consent",
    "no_address": "no address or device",
    "bad_address": "address is not one mailbox",
    "control_group": "global control group",
    "holdout": "journey holdout",
    "out_of_stock": "out of stock at their store",
    "price_not_lower": "price no longer lower",
    "quiet_hours": "quiet hours",
    "cap": "frequency cap",
    "render": "could not be rendered",
}
ADDRESS = {"email": "email address", "sms": "mobile number", "push": "app device"}


# --- the policy ---------------------------------------------------------------------------------


def _policy_values(policy: SendPolicy) -> dict[str, str]:
    values = {
        "control_group_percent": f"{policy.control_group_percent:g}",
        "default_zone": policy.default_zone,
        "quiet_hours.start": policy.quiet_hours.start if policy.quiet_hours else "",
        "quiet_hours.end": policy.quiet_hours.end if policy.quiet_hours else "",
        "total.count": str(policy.total.count) if policy.total else "",
        "total.days": str(policy.total.days) if policy.total else "",
    }
    for channel in CAP_CHANNELS:
        cap = policy.caps.get(channel)  # type: ignore[call-overload]
        values[f"caps.{channel}.count"] = str(cap.count) if cap else ""
        values[f"caps.{channel}.days"] = str(cap.days) if cap else ""
    return values


def _cap(values: dict[str, str], prefix: str) -> dict[str, str] | None:
    """A cap's two inputs; both empty: no cap (one empty is refused beside it)."""
    count, days = values.get(f"{prefix}.count", ""), values.get(f"{prefix}.days", "")
    return {"count": count, "days": days} if count or days else None


def _policy_body(values: dict[str, str]) -> dict[str, Any]:
    """The API's PUT body; the input names are the body's field paths, so a refusal's
    field path names the input it belongs beside."""
    start, end = values.get("quiet_hours.start", ""), values.get("quiet_hours.end", "")
    caps = {c: cap for c in CAP_CHANNELS if (cap := _cap(values, f"caps.{c}"))}
    return {
        "control_group_percent": values.get("control_group_percent", ""),
        "quiet_hours": {"start": start, "end": end} if start or end else None,
        "caps": caps,
        "total": _cap(values, "total"),
        "default_zone": values.get("default_zone", ""),
    }


def _policy_page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    if values is None:
        values = _policy_values(read(request, marketing.get_policy))
    return render(
        request,
        "hq/marketing_policy.html",
        viewer=viewer,
        status=status,
        values=values,
        errors=errors or {},
        channels=[*CAP_CHANNELS, "total"],
    )


@router.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /marketing/policy")
    return _policy_page(request, viewer)


@router.post("/policy", response_model=None)
def save_policy(request: Request, posted: PostedDep) -> Response:
    values = {k: v.strip() for k, v in posted.values.items() if k != "csrf_token"}
    body = _policy_body(values)
    decided = authorize_as(request, posted.viewer, "PUT /marketing/policy", None, body)
    return submit(
        request,
        decided,
        lambda uow: marketing.put_policy(uow, SendPolicy.model_validate(body)),
        done=lambda _: redirect(
            "/hq/marketing/policy", notice="The send policy is saved; it applies to every send."
        ),
        failed=lambda errors, status: _policy_page(
            request, posted.viewer, values=values, errors=errors, status=status
        ),
    )


# --- the send log -------------------------------------------------------------------------------


def outcome(send: SendRead, due: datetime | None = None) -> str:
    """A send's status and reason in words; ``due``: when it is due on the customer's clock."""
    channel = send.channel or send.requested_channel
    reason = send.reason
    if send.status == "sent":
        return f"sent by {channel}"
    if send.status == "queued":
        return f"queued, due {due:%d %b %H:%M}" if due else "queued"
    if send.status == "held":
        return f"held for quiet hours until {due:%H:%M}" if due else "held for quiet hours"
    if send.status == "dropped" and reason == "cap":
        return f"dropped: the frequency cap for {channel} is reached (a higher priority won)"
    if send.status == "failed":
        return f"failed: {REASONS.get(reason or '', reason or 'unknown')}"
    words = {
        "customer_inactive": "the customer is not active",
        "suppressed": f"the customer is suppressed on {channel}",
        "consent": (
            f"no marketing consent for {send.channel}"
            if send.channel
            else "no marketing consent on any channel"
        ),
        "no_address": f"no {ADDRESS.get(channel, channel + ' address')}",
        "bad_address": "the email address on file is not one mailbox (a list, a name, a break)",
        "control_group": "in the global control group",
        "holdout": "in the journey's holdout (measured, never sent)",
        "out_of_stock": "out of stock at the customer's store",
        "price_not_lower": "the price is no longer lower",
    }
    return f"not sent: {words.get(reason or '', reason or send.status)}"


def _sends_filters(query: dict[str, str], errors: Errors) -> dict[str, Any]:
    def identity(name: str) -> int | None:
        text = query[name]
        if not text:
            return None
        number = whole_number(text)
        if not number:
            errors[name] = "Enter a number."
            return None
        return number

    for name, allowed in (("status", STATUSES), ("reason", REASONS), ("channel", SEND_CHANNELS)):
        if query[name] and query[name] not in allowed:
            errors[name] = "Choose one of the list."
    return {
        "status": query["status"] or None,
        "reason": query["reason"] or None,
        "channel": query["channel"] or None,
        "journey_id": identity("journey"),
        "message": query["message"][:60] or None,
        "customer_id": identity("customer"),
        "since": day_filter(query["since"], "since", errors),
        "until": day_filter(query["until"], "until", errors, next_day=True),
    }


@router.get("/sends", response_class=HTMLResponse)
def sends_page(
    request: Request,
    viewer: HqDep,
    status: str = "",
    reason: str = "",
    channel: str = "",
    journey: str = "",
    message: str = "",
    customer: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> HTMLResponse:
    authorize_as(request, viewer, "GET /marketing/sends")
    page = max(1, min(page, 10_000))
    query = {
        "status": status,
        "reason": reason,
        "channel": channel,
        "journey": journey,
        "message": message,
        "customer": customer,
        "since": since,
        "until": until,
    }
    query = {k: v.strip()[:60] for k, v in query.items()}
    errors: Errors = {}
    filters = _sends_filters(query, errors)
    vault = vault_for(container_of(request).keyring)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        journeys = marketing.list_journeys(uow)
        found: dict[str, Any] = {
            "journeys": {j.id: j for j in journeys},
            "messages": [m.code for m in marketing.list_messages(uow)],
            "sends": [],
            "more": False,
            "names": {},
            "counts": {},
        }
        if errors:
            return found
        offset = (page - 1) * SENDS_PAGE
        sends = marketing.list_sends(uow, **filters, offset=offset, limit=SENDS_PAGE + 1)
        due = marketing.local_due(uow, sends[:SENDS_PAGE])
        names: dict[int, str] = {}
        # Names are customer data: only for a viewer holding customers:read (policy.permits,
        # as every edge decides); the others see the customer's number alone.
        readers = sends if viewer.can("customers:read") else []
        for customer_id in {s.customer_id for s in readers}:
            try:
                name = customers.get_customer(uow, customer_id, vault=vault).name
            except DomainError:
                name = None
            names[customer_id] = marketing.mask_name(name)
        found.update(
            sends=[(s, outcome(s, due.get(s.id))) for s in sends[:SENDS_PAGE]],
            more=len(sends) > SENDS_PAGE,
            names=names,
            counts=marketing.count_sends(uow, **filters),
        )
        return found

    context = read(request, load)
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for (state, why), n in context.pop("counts").items():
        by_status[state] = by_status.get(state, 0) + n
        if why:
            by_reason[why] = by_reason.get(why, 0) + n
    return render(
        request,
        "hq/marketing_sends.html",
        viewer=viewer,
        status=422 if errors else 200,
        values=query,
        query=query,
        errors=errors,
        page=page,
        by_status=by_status,
        by_reason=by_reason,
        statuses=STATUSES,
        reasons=REASONS,
        options={
            "status": [(s, s.capitalize()) for s in STATUSES],
            "reason": list(REASONS.items()),
            "channel": [(c, c) for c in SEND_CHANNELS],
            "journey": [(str(j.id), j.name) for j in context["journeys"].values()],
        },
        **context,
    )


# --- suppressions -------------------------------------------------------------------------------


def _suppressions_page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    confirm: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    rows = read(request, lambda uow: marketing.list_suppressions(uow, limit=SUPPRESSIONS_SHOWN))
    return render(
        request,
        "hq/marketing_suppressions.html",
        viewer=viewer,
        status=status,
        suppressions=rows,
        shown=SUPPRESSIONS_SHOWN,
        values=values or {"channel": "all", "reason": "manual"},
        errors=errors or {},
        confirm=confirm,
        channel_options=[(c, c) for c in SUPPRESSION_CHANNELS],
        reason_options=[(r, r.capitalize()) for r in SUPPRESSION_REASONS],
    )


@router.get("/suppressions", response_class=HTMLResponse)
def suppressions_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /marketing/suppressions")
    return _suppressions_page(request, viewer)


@router.post("/suppressions", response_model=None)
def add_suppression(request: Request, posted: PostedDep) -> Response:
    values = {k: posted.get(k).strip() for k in ("customer_id", "channel", "reason")}
    body: dict[str, Any] = dict(values)
    decided = authorize_as(request, posted.viewer, "POST /marketing/suppressions", None, body)
    vault = vault_for(container_of(request).keyring)

    def add(uow: UnitOfWork) -> Any:
        data = SuppressionWrite.model_validate(body)
        try:  # the customer must exist (the row refers to them)
            customers.get_customer(uow, data.customer_id, vault=vault)
        except DomainError as exc:
            exc.field = "customer_id"
            raise
        return marketing.suppress(uow, data)

    return submit(
        request,
        decided,
        add,
        done=lambda made: redirect(
            "/hq/marketing/suppressions",
            notice=f"Customer {made.customer_id} is suppressed on {made.channel}.",
        ),
        failed=lambda errors, status: _suppressions_page(
            request, posted.viewer, values=values, errors=errors, status=status
        ),
    )


@router.post("/suppressions/{customer_id}/{channel}/remove", response_model=None)
def remove_suppression(
    request: Request, posted: PostedDep, customer_id: IdPath, channel: str
) -> Response:
    """Asks first; ``confirm=yes`` removes the suppression."""
    channel = channel[:20]
    params = {"customer_id": customer_id, "channel": channel}
    decided = authorize_as(
        request, posted.viewer, "DELETE /marketing/suppressions/{customer_id}/{channel}", params
    )
    if posted.get("confirm") != "yes":
        return _suppressions_page(request, posted.viewer, confirm=params)
    try:
        change(request, decided, lambda uow: marketing.unsuppress(uow, customer_id, channel))
    except DomainError as exc:
        return _suppressions_page(
            request, posted.viewer, errors=errors_of(exc, fields=()), status=exc.status
        )
    return redirect(
        "/hq/marketing/suppressions",
        notice=f"Customer {customer_id} may be sent {channel} messages again.",
    )
