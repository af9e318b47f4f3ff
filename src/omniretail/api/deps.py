"""Typed dependencies shared by every domain's routes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Annotated, Any, Generic, TypeVar

import anyio
from fastapi import Depends, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError

from omniretail.api.lane import in_lane, threads_of
from omniretail.api.problems import ReplayedResponse
from omniretail.db import idempotency
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import Conflict
from omniretail.kernel.limits import loads_json
from omniretail.kernel.vault import PiiVault, vault_for
from omniretail.runtime import Runtime

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")

# PostgreSQL aborts one of two transactions that wait on each other (deadlock_detected) or
# that cannot be serialised; the use case has written nothing and simply runs again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3
# The vault field (associated data) stored replies are encrypted under.
REPLY_FIELD = "idempotency.response"


class IdempotencyKeyReused(Conflict):
    slug = "idempotency-key-reused"
    title = "Idempotency-Key reused for a different request"
    status = 422


async def get_container(request: Request) -> Runtime:
    """``async`` (it does no I/O): a sync dependency would cost a thread hand-off per request."""
    container: Runtime = request.app.state.container
    return container


ContainerDep = Annotated[Runtime, Depends(get_container)]


async def get_actor(
    request: Request,
    x_omniretail_actor: Annotated[str | None, Header(max_length=120)] = None,
) -> str:
    """Who is acting, recorded on ledger rows: the authenticated principal when there is one."""
    principal = getattr(request.state, "principal", None)
    return str(principal.actor) if principal is not None else x_omniretail_actor or "api"


ActorDep = Annotated[str, Depends(get_actor)]


async def get_person(request: Request) -> str:
    """Who is behind the credential (``AuthPrincipal.person``): per-person limits count it."""
    principal = getattr(request.state, "principal", None)
    return str(principal.person) if principal is not None else "api"


PersonDep = Annotated[str, Depends(get_person)]


async def get_signed_in_customer(request: Request) -> int | None:
    """The profile of the customer signed in (none for staff, keys and anonymous callers)."""
    principal = getattr(request.state, "principal", None)
    if principal is None or principal.role != "customer":
        return None
    customer_id: int | None = principal.customer_id
    return customer_id


SignedInCustomerDep = Annotated[int | None, Depends(get_signed_in_customer)]


async def get_holds(request: Request) -> Callable[[str], bool]:
    """Whether the caller holds a permission, decided by ``auth.policy`` (set by the auth
    layer); nobody holds anything without it."""
    holds: Callable[[str], bool] = getattr(request.state, "holds", lambda _permission: False)
    return holds


HoldsDep = Annotated[Callable[[str], bool], Depends(get_holds)]


class UseCase:
    """Runs one use case in one transaction, applying an Idempotency-Key exactly once.

    The stored response is written in the same transaction as the change, so a retry either
    sees the change and its response, or neither. The key is claimed first thing in the
    transaction: a concurrent request with the same key waits on that row until the first
    commits, then replays its answer (it never runs the use case against the changed state,
    where it might fail differently, e.g. out of stock once the first took the last unit).
    A key is the principal's own (another caller's same key is a new request), lives
    ``idempotency_ttl_hours``, and its stored reply is encrypted with the PII vault.
    """

    def __init__(
        self,
        container: Runtime,
        key: str | None,
        fingerprint: str,
        audit: Callable[[UnitOfWork], None] | None = None,
        principal_id: int | None = None,
    ) -> None:
        self._container = container
        # Without a principal there is nobody to scope the key to: it is not applied.
        self._key = key if principal_id is not None else None
        self._principal_id = principal_id or 0
        self._fingerprint = fingerprint
        # Writes the audit-log row in the same transaction as the change (set by the auth layer).
        self._audit = audit or (lambda _uow: None)
        self._serialised: tuple[BaseModel, bytes] | None = None

    def run(
        self,
        fn: Callable[[UnitOfWork], T],
        *,
        status_code: int = 200,
        remember: bool = True,
        durable: bool = True,
    ) -> T:
        """``remember=False`` for responses that carry personal data: they are never stored
        (an erasure could not find them), so such a request is not replayed.
        ``durable=False`` for cart holds only (see ``Runtime.uow``)."""
        if not remember:
            self._key = None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._run_once(fn, status_code, durable)
            except DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if attempt == ATTEMPTS or sqlstate not in RETRYABLE_SQLSTATES:
                    raise
        raise AssertionError("unreachable")

    def run_first(self, fn: Callable[[UnitOfWork], T]) -> T:
        """The first of several transactions of one request (a checkout that authorises the
        payment between two): ``fn`` runs with the audit row and without claiming the key,
        which the last step (``run_last``) stores its reply with. A retry of a request that
        succeeded runs into its changes (a checkout: the cart is no longer active), and only
        then is the key looked up: its stored reply is replayed (a key sent with another
        request: 422), so a first request spends no statement on the look-up. A retry while
        the first is under way finds the key unstored and gets its own refusal."""
        key, self._key = self._key, None
        try:
            return self.run(fn)
        except Exception:
            if key is not None:
                self._key = key
                with self._container.uow() as uow:
                    self._replay_if_known(uow)
            raise
        finally:
            self._key = key
            self._audit = lambda _uow: None  # written once, with the first step

    def run_last(self, fn: Callable[[UnitOfWork], T], *, status_code: int = 200) -> T:
        """The last transaction of a request begun with ``run_first``: ``fn``, then its reply
        stored with the key by one INSERT sent with the outbox at commit (no claim first: the
        first step's changes keep a concurrent retry out). A key already holding another live
        reply (the same key sent earlier with another request) rolls this step back and
        answers as that reply does: replayed, or 422."""
        if self._key is None:
            return self.run(fn, status_code=status_code)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._run_last_once(fn, status_code)
            except _KeyHeld:
                with self._container.uow() as uow:
                    self._replay_if_known(uow)
                raise AssertionError("an Idempotency-Key held but not stored") from None
            except DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if attempt == ATTEMPTS or sqlstate not in RETRYABLE_SQLSTATES:
                    raise
        raise AssertionError("unreachable")

    def _run_last_once(self, fn: Callable[[UnitOfWork], T], status_code: int) -> T:
        assert self._key is not None
        ttl = timedelta(hours=self._container.settings.idempotency_ttl_hours)
        with self._container.uow() as uow:
            result = fn(uow)
            self._audit(uow)
            body = _json(result)
            self._serialised = (result, body)
            number = getattr(result, "number", None)
            uow.later(
                *idempotency.store(
                    uow.session,
                    principal_id=self._principal_id,
                    key=self._key,
                    fingerprint=self._fingerprint,
                    status_code=status_code,
                    response=self._vault().encrypt(REPLY_FIELD, body.decode()) or "",
                    subject=str(number)[:64] if number is not None else None,
                    now=uow.now,
                    expired_before=uow.now - ttl,
                ),
                check=_stored,
            )
            return result

    def run_plain(self, fn: Callable[[UnitOfWork], T]) -> T:
        """A further step of the request, in its own transaction: no key, no audit row."""
        with self._container.uow() as uow:
            return fn(uow)

    def _run_once(self, fn: Callable[[UnitOfWork], T], status_code: int, durable: bool) -> T:
        if self._key is None:
            with self._container.uow(durable=durable) as uow:
                result = fn(uow)
                self._audit(uow)
                return result
        with self._container.uow(durable=durable) as uow:
            if not self._claim(uow):
                self._replay_if_known(uow)
                if not self._claim(uow):  # it was expired and is now forgotten
                    raise AssertionError("an Idempotency-Key that is claimed but not stored")
            result = fn(uow)
            self._audit(uow)
            body = _json(result)
            self._serialised = (result, body)
            number = getattr(result, "number", None)
            idempotency.remember(
                uow.session,
                principal_id=self._principal_id,
                key=self._key,
                status_code=status_code,
                response=self._vault().encrypt(REPLY_FIELD, body.decode()) or "",
                subject=str(number)[:64] if number is not None else None,
            )
            return result

    def respond(self, result: BaseModel, status_code: int = 200) -> Response:
        """``result`` as the JSON reply, serialised once (the bytes stored with an
        Idempotency-Key are reused): FastAPI would validate the returned model against the
        route's ``response_model`` and serialise it again. The route keeps its
        ``response_model`` for the OpenAPI document."""
        serialised = self._serialised
        body = serialised[1] if serialised and serialised[0] is result else _json(result)
        return Response(body, status_code=status_code, media_type="application/json")

    def _claim(self, uow: UnitOfWork) -> bool:
        assert self._key is not None
        return idempotency.claim(
            uow.session,
            principal_id=self._principal_id,
            key=self._key,
            fingerprint=self._fingerprint,
            now=uow.now,
        )

    def _vault(self) -> PiiVault:
        return vault_for(self._container.keyring)

    def _replay_if_known(self, uow: UnitOfWork) -> None:
        """Raises the stored reply; returns (having dropped it) when the key has expired."""
        assert self._key is not None
        stored = idempotency.find(uow.session, self._principal_id, self._key)
        if stored is None:
            return
        ttl = timedelta(hours=self._container.settings.idempotency_ttl_hours)
        if stored.created_at <= uow.now - ttl:
            idempotency.forget(uow.session, self._principal_id, self._key)
            return
        if stored.fingerprint != self._fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used before with a different method, path or body",
                field="Idempotency-Key",
            )
        text = self._vault().decrypt(REPLY_FIELD, stored.response)
        raise ReplayedResponse(stored.status_code, json.loads(text or "{}"))


class _KeyHeld(Exception):
    """The key holds another request's live reply (``UseCase.run_last``)."""


def _stored(rows: int) -> None:
    if rows == 0:
        raise _KeyHeld


def sweep_idempotency_keys(container: Runtime) -> int:
    """Deletes expired Idempotency-Keys (the server's sweep and ``omniretail idempotency
    sweep``); returns how many."""
    ttl = timedelta(hours=container.settings.idempotency_ttl_hours)
    with container.uow() as uow:
        return idempotency.sweep(uow.session, before=uow.now - ttl)


async def get_use_case(
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> UseCase:
    principal = getattr(request.state, "principal", None)
    return UseCase(
        request.app.state.container,
        idempotency_key,
        await _fingerprint(request) if idempotency_key else "",
        getattr(request.state, "audit", None),
        principal_id=principal.id if principal is not None else None,
    )


# The headers ``UseCaseDep`` and ``ActorDep`` read, bounded as they bound them.
_IDEMPOTENCY_KEY = TypeAdapter(Annotated[str, StringConstraints(min_length=1, max_length=200)])
_ACTOR = TypeAdapter(Annotated[str, StringConstraints(max_length=120)])
# ... and as FastAPI documents them, for a route that reads them itself (``openapi_extra``).
USE_CASE_HEADERS_DOC: dict[str, Any] = {
    "parameters": [
        {
            "name": name,
            "in": "header",
            "required": False,
            "schema": {"anyOf": [{"type": "string", **bounds}, {"type": "null"}], "title": title},
        }
        for name, title, bounds in (
            ("Idempotency-Key", "Idempotency-Key", {"minLength": 1, "maxLength": 200}),
            ("x-omniretail-actor", "X-Omniretail-Actor", {"maxLength": 120}),
        )
    ]
}


async def use_case_and_actor(request: Request) -> tuple[UseCase, str]:
    """``UseCaseDep`` and ``ActorDep`` for a hot route that declares neither: FastAPI's solving
    of the three dependencies and their two headers cost more than a one-statement use case.
    A header out of bounds is the same 422."""
    key = _header(request, "Idempotency-Key", _IDEMPOTENCY_KEY)
    actor = _header(request, "x-omniretail-actor", _ACTOR)
    principal = getattr(request.state, "principal", None)
    use_case = UseCase(
        request.app.state.container,
        key,
        await _fingerprint(request) if key else "",
        getattr(request.state, "audit", None),
        principal_id=principal.id if principal is not None else None,
    )
    return use_case, str(principal.actor) if principal is not None else actor or "api"


def _header(request: Request, name: str, adapter: TypeAdapter[str]) -> str | None:
    value = request.headers.get(name)  # case-insensitive
    if value is None:
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("header", name)} for e in exc.errors(include_url=False)]
        ) from None


async def _fingerprint(request: Request) -> str:
    """What an Idempotency-Key is bound to: the method, the path and the body (only a request
    with a key needs it)."""
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.url.path.encode())
    digest.update(_canonical(await request.body()))
    return digest.hexdigest()


def _json(model: BaseModel) -> bytes:
    """The model as FastAPI would answer it (JSON mode, by alias)."""
    return model.__pydantic_serializer__.to_json(model, by_alias=True)


def json_reply(model: BaseModel, status_code: int = 200) -> Response:
    """A read route's model as its JSON reply, serialised once (see ``UseCase.respond``)."""
    return Response(_json(model), status_code=status_code, media_type="application/json")


def _canonical(body: bytes) -> bytes:
    """The same JSON with other spacing or key order is the same request."""
    try:
        parsed = loads_json(body)
    except ValueError:
        return body
    return json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()


UseCaseDep = Annotated[UseCase, Depends(get_use_case)]


class NoContent(BaseModel):
    """What a use case answering 204 returns to ``UseCase.run`` (which runs functions that
    return a model)."""


def no_content(fn: Callable[[UnitOfWork], object]) -> Callable[[UnitOfWork], NoContent]:
    """``fn`` (which returns nothing) as a use case for ``UseCase.run``."""

    def run(uow: UnitOfWork) -> NoContent:
        fn(uow)
        return NoContent()

    return run


class _Reads:
    """A read unit-of-work dependency (``read_uow`` on the primary, ``replica_read_uow``)."""

    def __init__(self, *, replica: bool) -> None:
        self.replica = replica

    async def __call__(
        self, request: Request, container: ContainerDep
    ) -> AsyncIterator[UnitOfWork]:
        """A read unit of work that holds its pooled connection only with a read slot.

        A sync endpoint's session keeps its connection until this dependency exits, which is after
        FastAPI has validated the response in the threadpool. Without a bound, under load every
        connection is held by a finished request waiting for a thread, while every thread waits
        for a connection: the server stalls for the pool timeout (seen with 200 clients). Reads
        therefore wait for a slot on the event loop, holding no thread, and there are fewer slots
        than connections, so writes (which hold a connection only inside their thread) always
        find one. The exit runs on a thread of its own, like FastAPI's own dependency exits,
        except when reads run in autocommit (PostgreSQL): there is no COMMIT to send then, closing
        the session only hands its connection back to the pool, and the thread hop cost more than
        the exit itself.

        These reads are on the primary: they see every commit. ``replica_read_uow`` is for reads
        that may lag."""
        replica = self.replica
        autocommit = container.replica_reads_autocommit if replica else container.reads_autocommit
        async with _read_slots(request, container, replica):
            # No I/O: the session connects on first use.
            uow = (container.replica_uow() if replica else container.read_uow()).__enter__()
            if autocommit:
                try:
                    yield uow
                except BaseException as exc:
                    uow.__exit__(type(exc), exc, exc.__traceback__)
                    raise
                uow.__exit__(None, None, None)
                return
            exit_limiter = anyio.CapacityLimiter(1)
            try:
                yield uow
            except BaseException as exc:
                await anyio.to_thread.run_sync(
                    uow.__exit__, type(exc), exc, exc.__traceback__, limiter=exit_limiter
                )
                raise
            await anyio.to_thread.run_sync(uow.__exit__, None, None, None, limiter=exit_limiter)


read_uow = _Reads(replica=False)
# ``read_uow`` on the read replica (``db_read_url``; the primary when unset), for GET routes
# whose answer may lag behind the last commit by the replica's delay: catalog, availability,
# order tracking, customer and report views. Not for what a client reads right after its own
# write to act on it (carts, sign-in, keys, idempotency replays): those keep ``read_uow``. Its
# transactions are read-only; it has read slots of its own (its pool is its own).
replica_read_uow = _Reads(replica=True)


def _read_slots(request: Request, container: Runtime, replica: bool = False) -> asyncio.Semaphore:
    name = "replica_read_slots" if replica else "read_slots"
    slots: asyncio.Semaphore | None = getattr(request.app.state, name, None)
    if slots is None:
        slots = asyncio.Semaphore(container.pools.read_slots)
        setattr(request.app.state, name, slots)
    return slots


async def in_payment_thread(request: Request, fn: Callable[[], R]) -> R:
    """``fn`` (a use case that calls a payment provider between its transactions) on a thread
    of its own pool, not the one sync endpoints share: that pool is sized to the connection
    budget, and a thread waiting on the provider (seconds at worst) holds no connection, so
    checkouts waiting on their cards would otherwise keep every other request of the worker
    waiting for a thread. ``payment_threads`` of them, not the budget's count (a checkout
    waiting on its card holds no connection); its steps that do hold a connection wait on the
    pool (``db_pool_timeout_seconds``)."""
    container: Runtime = request.app.state.container
    limiter = threads_of(request, "payment_threads", container.settings.payment_threads)
    return await anyio.to_thread.run_sync(fn, limiter=limiter)


async def in_read_thread(request: Request, fn: Callable[[UnitOfWork], T]) -> T:
    """``fn`` on a read unit of work of the primary, opened and closed on one worker thread:
    a hot read route's one hop, to the shop's lane (``api.lane``). Its connection is held
    only inside the thread, as a write's is, so it needs no read slot; and it costs none of a
    ``ReadDep``'s machinery (an async generator dependency, its exit stack, the slot)."""
    container: Runtime = request.app.state.container

    def run() -> T:
        with container.read_uow() as uow:
            return fn(uow)

    return await in_lane(request, run)


ReadDep = Annotated[UnitOfWork, Depends(read_uow)]
ReplicaReadDep = Annotated[UnitOfWork, Depends(replica_read_uow)]


class JsonBody(Generic[T]):
    """A JSON body validated by pydantic straight from its bytes (``model_validate_json``),
    for large bodies on hot routes: FastAPI first decodes the JSON into Python objects with
    ``json.loads`` and then validates those, which costs a third more for a batch of 1,000
    events. Anything the fast path refuses (or a body that is not JSON) goes the way FastAPI
    goes, so the answer and the 422 problem are FastAPI's own. ``openapi`` documents the body
    (pass it as the route's ``openapi_extra``)."""

    def __init__(self, model: type[T]) -> None:
        self.model = model
        self._adapter = TypeAdapter(model)
        self.openapi: dict[str, Any] = {
            "requestBody": {
                "content": {"application/json": {"schema": _inline_schema(model)}},
                "required": True,
            }
        }

    async def __call__(self, request: Request) -> T:
        body = await request.body()
        is_json = _is_json(request.headers.get("content-type"))
        if body and is_json:
            try:
                return self.model.model_validate_json(body)
            except ValidationError:
                pass
        return self._as_fastapi(body, is_json)

    def _as_fastapi(self, body: bytes, is_json: bool) -> T:
        if not body:
            raise RequestValidationError(
                [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
            )
        value: Any = body
        if is_json:
            try:
                value = json.loads(body)
            except json.JSONDecodeError as exc:
                raise RequestValidationError(
                    [
                        {
                            "type": "json_invalid",
                            "loc": ("body", exc.pos),
                            "msg": "JSON decode error",
                            "input": {},
                            "ctx": {"error": exc.msg},
                        }
                    ]
                ) from None
            except Exception as exc:  # e.g. not UTF-8: FastAPI's 400
                raise HTTPException(400, "There was an error parsing the body") from exc
        try:
            return self._adapter.validate_python(value, from_attributes=True)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None


def _is_json(content_type: str | None) -> bool:
    """FastAPI's rule (strict content type): ``application/json`` or ``application/*+json``."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` written in place (OpenAPI resolves ``$ref``
    against the whole document, where those definitions do not exist)."""
    schema = model.model_json_schema(mode="validation")
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result
