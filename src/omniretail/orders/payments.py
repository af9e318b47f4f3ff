"""The payment-provider port, the test provider, and compensation for a failed checkout.

Only provider tokens and provider references are stored; a card number is refused at the edge.
Authorise at checkout, capture what leaves (on shipment or handover), void what is cancelled,
refund what comes back. Authorisation is synchronous (the customer hears "declined" now);
capture, void and refund are payment instructions carried out after commit by the outbox
relay (``payment_instructions``), each with an idempotency key: the same key never moves money
twice.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from starlette.requests import Request

from omniretail.kernel.ids import new_id


class PaymentError(Exception):
    pass


class Declined(PaymentError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderTimeout(PaymentError):
    """No answer in time: the outcome is unknown, so the caller voids by idempotency key."""


@dataclass(frozen=True)
class Authorisation:
    reference: str
    amount: Decimal


class PaymentProvider(Protocol):
    @property
    def name(self) -> str: ...

    def authorise(self, token: str, amount: Decimal, currency: str, *, key: str) -> Authorisation:
        """Raise ``Declined`` or ``ProviderTimeout``; the same ``key`` never authorises twice."""
        ...

    def lookup(self, *, key: str) -> Authorisation | None:
        """The live authorisation made with idempotency key ``key``, or None when there is
        none (declined, never asked, or voided): the payment sweep reconciles a checkout
        that crashed after asking with it."""
        ...

    def void(self, reference: str, amount: Decimal, *, key: str) -> None:
        """Release ``amount`` of a known authorisation (cancelled or uncollected lines).
        A ``key`` already used is a no-op."""
        ...

    def void_attempt(self, *, key: str) -> None:
        """Release whatever the attempt with this idempotency key authorised, if anything
        (after a timeout the reference is unknown)."""
        ...

    def capture(self, reference: str, amount: Decimal, *, key: str) -> None:
        """Take ``amount`` of the authorisation; a ``key`` already used is a no-op."""
        ...

    def refund(self, reference: str, amount: Decimal, *, key: str) -> None:
        """Give ``amount`` back to the payment method; a ``key`` already used is a no-op."""
        ...


CARD_NUMBER = re.compile(r"^[\d \-]{12,23}$")


def looks_like_card_number(token: str) -> bool:
    digits = re.sub(r"[ \-]", "", token)
    return bool(CARD_NUMBER.match(token)) and 12 <= len(digits) <= 19 and _luhn(digits)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass
class TestAuthorisation:
    __test__ = False

    reference: str
    key: str
    token: str
    amount: Decimal
    status: str = "authorised"  # authorised | voided
    voided: Decimal = Decimal(0)
    captured: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)


@dataclass
class TestPaymentProvider:
    """In-process provider told what to do by the token:

    ``tok_decline`` (or any token starting ``tok_decline``) is declined; ``tok_timeout`` is
    authorised at the "provider" but the answer never arrives; anything else is approved.
    ``outcome`` ("decline" or "timeout") does the same to every token. Each authorisation
    takes ``latency_ms`` (a real provider takes 200-1,500 ms); one that would take longer than
    ``timeout_ms`` is authorised at the provider, but the caller gives up at ``timeout_ms``
    (``ProviderTimeout``).
    """

    __test__ = False  # a shipped test double, not a pytest test class

    name: str = "test"
    latency_ms: int = 0
    timeout_ms: int = 30_000
    outcome: str = ""  # "" | "decline" | "timeout"
    authorisations: dict[str, TestAuthorisation] = field(default_factory=dict)
    # Idempotency keys of captures, voids and refunds done: (action, reference, amount).
    instructions: dict[str, tuple[str, str, Decimal]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def authorise(self, token: str, amount: Decimal, currency: str, *, key: str) -> Authorisation:
        slow = self.latency_ms > self.timeout_ms
        if self.latency_ms:
            time.sleep(min(self.latency_ms, self.timeout_ms) / 1000)
        with self._lock:
            existing = self.authorisations.get(key)
            if existing is not None and existing.status == "authorised":
                return Authorisation(existing.reference, existing.amount)
            if token.startswith("tok_decline") or self.outcome == "decline":
                raise Declined("card declined by the issuer (test token)")
            auth = TestAuthorisation(
                reference=f"auth_{new_id()}", key=key, token=token, amount=amount
            )
            self.authorisations[key] = auth
        if slow or token.startswith("tok_timeout") or self.outcome == "timeout":
            raise ProviderTimeout("the provider did not answer within the time limit")
        return Authorisation(auth.reference, amount)

    def lookup(self, *, key: str) -> Authorisation | None:
        with self._lock:
            auth = self.authorisations.get(key)
            if auth is None or auth.status != "authorised":
                return None
            return Authorisation(auth.reference, auth.amount)

    def void(self, reference: str, amount: Decimal, *, key: str) -> None:
        with self._lock:
            auth = self._first_use(key, "void", reference, amount)
            if auth is None:
                return
            auth.voided += amount
            if auth.voided >= auth.amount and not auth.captured:
                auth.status = "voided"

    def void_attempt(self, *, key: str) -> None:
        with self._lock:
            auth = self.authorisations.get(key)
            if auth is not None and auth.status == "authorised" and not auth.captured:
                auth.voided = auth.amount
                auth.status = "voided"

    def capture(self, reference: str, amount: Decimal, *, key: str) -> None:
        with self._lock:
            auth = self._first_use(key, "capture", reference, amount)
            if auth is not None:
                auth.captured += amount

    def refund(self, reference: str, amount: Decimal, *, key: str) -> None:
        with self._lock:
            auth = self._first_use(key, "refund", reference, amount)
            if auth is not None:
                auth.refunded += amount

    def _first_use(
        self, key: str, action: str, reference: str, amount: Decimal
    ) -> TestAuthorisation | None:
        """The authorisation to change, or None when ``key`` was used before (a replay) or
        the reference is unknown here."""
        if key in self.instructions:
            return None
        self.instructions[key] = (action, reference, amount)
        return self._by_reference(reference)

    def by_token(self, token: str) -> list[TestAuthorisation]:
        return [a for a in self.authorisations.values() if a.token == token]

    def _by_reference(self, reference: str) -> TestAuthorisation | None:
        """None for an authorisation made by another process's test provider (a CLI sweep):
        in-process state is all this provider has."""
        for auth in self.authorisations.values():
            if auth.reference == reference:
                return auth
        return None


CASH_REFERENCE_PREFIX = "cash_"


@dataclass(frozen=True)
class CashDrawer:
    """Cash taken at a store's till, as a payment provider: the associate records the cash
    (the "authorisation"); what is captured is already in the drawer and a refund is paid out
    of it, so no instruction on a cash reference goes to the card provider
    (``payment_instructions``)."""

    name: str = "cash"

    def authorise(self, token: str, amount: Decimal, currency: str, *, key: str) -> Authorisation:
        return Authorisation(f"{CASH_REFERENCE_PREFIX}{new_id()}", amount)

    def lookup(self, *, key: str) -> Authorisation | None:
        return None

    def void(self, reference: str, amount: Decimal, *, key: str) -> None:
        return None

    def void_attempt(self, *, key: str) -> None:
        return None

    def capture(self, reference: str, amount: Decimal, *, key: str) -> None:
        return None

    def refund(self, reference: str, amount: Decimal, *, key: str) -> None:
        return None


def paid_in_cash(reference: str) -> bool:
    return reference.startswith(CASH_REFERENCE_PREFIX)


@dataclass
class CompensatingPayments:
    """Wraps a provider for one checkout attempt and remembers what it authorised, so that
    if the attempt's transaction does not commit, every authorisation is voided."""

    provider: PaymentProvider
    keys: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.provider.name

    def authorise(self, token: str, amount: Decimal, currency: str, *, key: str) -> Authorisation:
        self.keys.append(key)  # before the call: a timeout may still have authorised
        return self.provider.authorise(token, amount, currency, key=key)

    def lookup(self, *, key: str) -> Authorisation | None:
        return self.provider.lookup(key=key)

    def void(self, reference: str, amount: Decimal, *, key: str) -> None:
        self.provider.void(reference, amount, key=key)

    def void_attempt(self, *, key: str) -> None:
        self.provider.void_attempt(key=key)

    def capture(self, reference: str, amount: Decimal, *, key: str) -> None:
        self.provider.capture(reference, amount, key=key)

    def refund(self, reference: str, amount: Decimal, *, key: str) -> None:
        self.provider.refund(reference, amount, key=key)


@contextmanager
def compensating(provider: PaymentProvider) -> Iterator[CompensatingPayments]:
    """``with compensating(p) as payments: use_case.run(...)`` voids on any failure,
    including a failed commit after the service returned."""
    payments = CompensatingPayments(provider)
    try:
        yield payments
    except BaseException:
        for key in payments.keys:
            # A provider that is down lets its authorisation lapse by itself.
            with suppress(PaymentError):
                provider.void_attempt(key=key)
        raise


def provider_named(
    name: str, *, latency_ms: int = 0, timeout_ms: int = 30_000, outcome: str = ""
) -> PaymentProvider:
    """The provider for the ``payment_provider`` setting (one per process: the container's);
    the test provider takes ``payment_test_latency_ms``, ``payment_timeout_seconds`` and
    ``payment_test_outcome``."""
    if name != "test":
        raise RuntimeError(f"unknown payment provider {name!r}")
    return TestPaymentProvider(latency_ms=latency_ms, timeout_ms=timeout_ms, outcome=outcome)


def payments_of(request: Request) -> PaymentProvider:
    """The process's payment provider, for a route or a console page (a FastAPI dependency):
    authorisations here, captures, voids and refunds by its relay (one per process, so a retry
    finds its authorisation). ``app.state.payments`` (set by ``create_app``) reads it from the
    composition root at each request."""
    provider: Callable[[], PaymentProvider] = request.app.state.payments
    return provider()


async def payments_dependency(request: Request) -> PaymentProvider:
    """``payments_of`` as a route dependency: ``async`` because it does no I/O (FastAPI runs a
    sync dependency on a thread, a hand-off per request)."""
    return payments_of(request)
