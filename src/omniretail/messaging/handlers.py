"""The handler registry: which handlers receive which events.

A handler subscribes to one typed event class with ``registry.on(OrderConfirmed, name, fn)``:
``fn(event, meta, uow_factory)`` gets the ``OrderConfirmed`` back, ``meta`` the envelope's id,
subject and time, and ``uow_factory()`` opens a unit of work for whatever it reads or writes.
``registry.add(pattern, name, fn)`` subscribes to a pattern of types instead and gets the raw
CloudEvent dict: ``fn(event, uow_factory)``; a ``HandlerSource`` supplies handlers that come from
data (one per webhook subscription). The
relay calls it after the event's transaction committed, at least once: a handler must be
idempotent (key its effects on the event id; ``notifications.service.notify`` does).

A handler that can take many events at once subscribes with ``registry.on_batch(OrderConfirmed,
name, fn)``: ``fn(items, uow_factory)`` gets a list of (event, meta) and handles them all or
none (one transaction); it may return the ids of the events it had nothing to do for, with
the reason (``Skips``: those deliveries end ``skipped``, as with ``SkipDelivery``). The relay
hands it the due deliveries of a pass together; when the batch raises, it delivers them one
by one (``fn`` with a one-item list), so a poisoned event retries and dead-letters alone.

A handler that has nothing to do for a guest (points, a profile's timeline, segments and
journeys) subscribes with ``customers_only=True``: no delivery is planned for an event whose
``customer_id`` is null (a guest's cart or order), so the relay neither writes nor claims it.
An event without a ``customer_id`` field is planned as before.

Handler names are stored with each delivery, so they must stay stable across releases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from omniretail.db.uow import UnitOfWork
from omniretail.kernel.events import Event

CloudEvent = dict[str, Any]
UowFactory = Callable[[], UnitOfWork]
Handler = Callable[[CloudEvent, UowFactory], None]
# Event id -> why there was nothing to do for it (its delivery ends ``skipped``).
Skips = Mapping[str, str]
BatchHandler = Callable[[list[CloudEvent], UowFactory], Skips | None]
E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class EventMeta:
    """The envelope of a delivered event: key idempotent effects on ``id``."""

    id: str
    subject: str
    time: datetime

    @classmethod
    def of(cls, event: CloudEvent) -> EventMeta:
        return cls(event["id"], event["subject"], datetime.fromisoformat(event["time"]))


TypedHandler = Callable[[E, EventMeta, UowFactory], None]
TypedBatchHandler = Callable[[list[tuple[E, EventMeta]], UowFactory], Skips | None]


class SkipDelivery(Exception):
    """Raised by a handler that finds nothing to do and nothing worth retrying (its target is
    gone). The delivery ends as ``skipped`` with the message as the reason."""


class UnknownHandler(LookupError):
    """A stored delivery names a handler that is no longer registered."""


def matches(pattern: str, event_type: str) -> bool:
    """``*`` matches any run of characters: ``omniretail.inventory.*``, ``*.shipped``, ``*``."""
    return fnmatchcase(event_type, pattern)


class HandlerSource(Protocol):
    """Handlers that come from data rather than code, e.g. one per webhook subscription.

    Their names start with ``prefix``; ``planner`` loads what it needs once per relay pass."""

    prefix: str

    def planner(self, session: Session) -> Callable[[str], list[str]]: ...

    def handler(self, name: str) -> Handler: ...

    def close(self) -> None:
        """Releases what the source holds (e.g. its HTTP connections)."""


@dataclass(frozen=True)
class Registration:
    pattern: str
    name: str
    handler: Handler
    customers_only: bool = False


def one_at_a_time(batch: BatchHandler) -> Handler:
    """A batch handler as the handler of one event (the relay's delivery one by one): a skip
    it reports for that event is raised as ``SkipDelivery``."""

    def one(event: CloudEvent, uow_factory: UowFactory) -> None:
        skips = batch([event], uow_factory)
        if skips and event["id"] in skips:
            raise SkipDelivery(skips[event["id"]])

    return one


class HandlerRegistry:
    def __init__(self) -> None:
        self._registrations: list[Registration] = []
        self._by_name: dict[str, Handler] = {}
        self._batches: dict[str, BatchHandler] = {}
        self._background: set[str] = set()
        self._sources: list[HandlerSource] = []
        # (event type, a guest's event) -> names of the registered handlers matching it
        # (patterns are fixed once registered, so each type is matched once per process).
        self._names_for_type: dict[tuple[str, bool], tuple[str, ...]] = {}

    def add(
        self,
        pattern: str,
        name: str,
        handler: Handler,
        *,
        batch: BatchHandler | None = None,
        background: bool = False,
        customers_only: bool = False,
    ) -> None:
        """Deliver events whose type matches ``pattern`` to ``handler``, known as ``name``;
        ``batch``, when given, takes many of them at once (all or none). ``background``: its
        due deliveries are claimed after every other handler's (slow sends, say, so that
        quick reactions are not queued behind them); each handler still gets its events in
        order. ``customers_only``: not planned for events whose ``customer_id`` is null."""
        if name in self._by_name or any(name.startswith(s.prefix) for s in self._sources):
            raise ValueError(f"handler name {name!r} is already taken")
        self._registrations.append(Registration(pattern, name, handler, customers_only))
        self._by_name[name] = handler
        self._names_for_type.clear()
        if batch is not None:
            self._batches[name] = batch
        if background:
            self._background.add(name)

    @property
    def background(self) -> frozenset[str]:
        """The names of the handlers whose deliveries are planned in the background lane
        (claimed after the foreground lane's)."""
        return frozenset(self._background)

    def on(
        self,
        event_class: type[E],
        name: str,
        handler: TypedHandler[E],
        *,
        customers_only: bool = False,
    ) -> None:
        """Deliver every ``event_class`` event to ``handler`` as that class, known as ``name``."""

        def deliver(event: CloudEvent, uow_factory: UowFactory) -> None:
            handler(event_class.parse(event["data"]), EventMeta.of(event), uow_factory)

        self.add(event_class.cloud_type(), name, deliver, customers_only=customers_only)

    def on_batch(
        self,
        event_class: type[E],
        name: str,
        handler: TypedBatchHandler[E],
        *,
        customers_only: bool = False,
    ) -> None:
        """Deliver ``event_class`` events to ``handler`` in batches: ``handler(items,
        uow_factory)`` with items a list of (event, meta), all handled or none; it returns
        the ``Skips`` among them, if any."""

        def many(events: list[CloudEvent], uow_factory: UowFactory) -> Skips | None:
            items = [(event_class.parse(e["data"]), EventMeta.of(e)) for e in events]
            return handler(items, uow_factory)

        self.add(
            event_class.cloud_type(),
            name,
            one_at_a_time(many),
            batch=many,
            customers_only=customers_only,
        )

    def add_source(self, source: HandlerSource) -> None:
        if any(name.startswith(source.prefix) for name in self._by_name):
            raise ValueError(f"handler prefix {source.prefix!r} clashes with a named handler")
        self._sources.append(source)

    def close(self) -> None:
        """Closes the sources (the container's ``dispose``)."""
        for source in self._sources:
            source.close()

    @property
    def registrations(self) -> Iterable[Registration]:
        return tuple(self._registrations)

    def planner(self, session: Session) -> Callable[[str, bool], list[str]]:
        """A function from an event's type, and whether it is a guest's (its ``customer_id``
        is null), to the names of the handlers that must receive it."""
        source_planners = [source.planner(session) for source in self._sources]

        def names_for(event_type: str, guest: bool = False) -> list[str]:
            names = list(self._registered_names(event_type, guest))
            for plan in source_planners:
                names.extend(plan(event_type))
            return names

        return names_for

    def _registered_names(self, event_type: str, guest: bool) -> tuple[str, ...]:
        names = self._names_for_type.get((event_type, guest))
        if names is None:
            names = tuple(
                r.name
                for r in self._registrations
                if matches(r.pattern, event_type) and not (guest and r.customers_only)
            )
            self._names_for_type[(event_type, guest)] = names
        return names

    def resolve(self, name: str) -> Handler:
        handler = self._by_name.get(name)
        if handler is not None:
            return handler
        for source in self._sources:
            if name.startswith(source.prefix):
                return source.handler(name)
        raise UnknownHandler(f"no handler named {name!r} is registered")

    def resolve_batch(self, name: str) -> BatchHandler | None:
        """The batch form of handler ``name``, or None when it takes one event at a time."""
        return self._batches.get(name)
