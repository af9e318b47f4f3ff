"""The render budget of staff-written templates (security probe): the loops of one render go
through at most ``MAX_LOOP_ITERATIONS`` items, a render writes at most ``MAX_OUTPUT``
characters and field widths are bounded. A template past it is refused when saved (a trial
render with no customer) or previewed, and at send time fails its own send (recorded, reason
``render``), not the batch."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from jinja2.exceptions import SecurityError

from omniretail.bootstrap import Container
from omniretail.kernel.templates import BoundedImmutableSandbox, BoundedSandbox, render_bounded
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import MessageCreate
from omniretail.marketing.sending import SendRequest
from tests.marketing.test_messages import API, MESSAGE
from tests.marketing.test_messages import ada as ada  # the fixture
from tests.marketing.test_sending import deliver, policy, queue, send

NESTED = "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
BOMBS = [
    NESTED,
    "{% for a in range(100) %}{% for b in range(100) %}{% for c in range(100) %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    # {% autoescape %} restores the render's fields at its end: the budget survives it
    "{% for a in range(1000) %}{% autoescape true %}{% for b in range(1000) %}{% endfor %}"
    "{% endautoescape %}{% endfor %}",
    "{% for c in 'x' * 1000 %}{% for d in 'x' * 1000 %}{% endfor %}{% endfor %}",
    "{% for a in range(1000) %}{{ 'x' * 1000 }}{% endfor %}",
    "{{ '%0999999d' % 1 }}",
    "{{ '%*d' % (999999, 1) }}",
    "{{ '{:>999999}'.format(1) }}",
    "{{ '{0:>{1}}'.format(1, 999999) }}",
    "{{ 'x' | center(999999) }}",
]
# Past the budget for a customer with a first name only: a trial render at save passes it.
FOR_NAMED_CUSTOMERS = (
    "{% for letter in customer.first_name %}"
    "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
    "{% endfor %}Hello"
)


@pytest.mark.parametrize("template", BOMBS)
@pytest.mark.parametrize("sandbox", [BoundedSandbox, BoundedImmutableSandbox])
def test_the_sandbox_stops_a_render_past_its_budget(template: str, sandbox: Any) -> None:
    with pytest.raises(SecurityError):
        render_bounded(sandbox().from_string(template))


def test_loops_within_the_budget_render_as_before() -> None:
    env = BoundedSandbox()
    source = (
        "{% for x in items %}{{ loop.index }}/{{ loop.length }}{% if loop.last %}.{% endif %}"
        "{% else %}none{% endfor %} {% for k, v in pairs.items() %}{{ k }}={{ v }}{% endfor %}"
        " {% for row in range(99) %}{% for col in range(99) %}{% endfor %}{% endfor %}"
        "{{ '%5.1f' % 2 }}|{{ '{:>4}'.format('a') }}|{{ 'ab' | center(6) }}"
    )
    out = render_bounded(env.from_string(source), items=[1, 2], pairs={"a": 1})
    assert out == "1/22/2. a=1   2.0|   a|  ab  "


@pytest.mark.parametrize("template", [NESTED, "{{ '{:>999999}'.format(1) }}"])
def test_a_template_past_the_budget_is_refused_when_saved(
    client: TestClient, template: str
) -> None:
    r = client.post(API, json={**MESSAGE, "body": template})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"].endswith("/message-template-refused")
    assert problem["field"] == "body"
    assert "not allowed" in problem["detail"] or "more than" in problem["detail"]


def test_a_template_past_the_budget_for_a_customer_is_refused_in_preview(
    client: TestClient, ada: int
) -> None:
    saved = client.put(f"{API}/spring", json={**MESSAGE, "body": FOR_NAMED_CUSTOMERS})
    assert saved.status_code == 200, saved.text

    r = client.post(f"{API}/spring/preview", json={"customer_id": ada, "channel": "email"})

    assert r.status_code == 422
    assert r.json()["type"].endswith("/message-template-refused")
    assert "more than 10000 items" in r.json()["detail"]


def test_at_send_time_it_fails_its_own_send_and_the_batch_goes_on(
    container: Container, ada: int
) -> None:
    policy(container)
    with container.uow() as uow:
        spin = MessageCreate(code="spin", name="Spin", subject="Hi", body=FOR_NAMED_CUSTOMERS)
        marketing.create_message(uow, spin)
    for key, message in (("fine", "spring"), ("spinning", "spin")):
        # transactional: never capped, so both go in the one batch
        request = SendRequest(
            key=key, customer_id=ada, message=message, channel="email", transactional=True
        )
        queue(container, request)

    deliver(container)

    assert (send(container, "spinning").status, send(container, "spinning").reason) == (
        "failed",
        "render",
    )
    assert send(container, "fine").status == "sent"
