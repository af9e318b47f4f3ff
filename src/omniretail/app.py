"""create_app(): the HTTP API under /api/v1 and the web console."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from omniretail import __version__
from omniretail.api.deps import ContainerDep, sweep_idempotency_keys
from omniretail.api.docs import DOCS_URL, install_docs
from omniretail.api.framework import App, telemetry_off
from omniretail.api.limits import BodyLimitMiddleware
from omniretail.api.openapi import install_openapi
from omniretail.api.problems import install_problem_handlers
from omniretail.api.security_headers import SecurityHeadersMiddleware
from omniretail.api.timing import ServerTimingMiddleware
from omniretail.auth import policy
from omniretail.auth.api import AuthorizeDep
from omniretail.auth.api import router as auth_router
from omniretail.bootstrap import Container, build_container
from omniretail.carts.api import router as carts_router
from omniretail.catalog.api import router as catalog_router
from omniretail.customers.api import events_router
from omniretail.customers.api import router as customers_router
from omniretail.fulfilment.api import router as fulfilment_router
from omniretail.fulfilment.api import tracking_router
from omniretail.fulfilment.service import sweep_pickups_forever
from omniretail.intelligence.api import dynamic_pricing_router, markdowns_router
from omniretail.intelligence.api import router as intelligence_router
from omniretail.intelligence.jobs import DailySchedule
from omniretail.intelligence.tasks import BackgroundRefresh, IntelligenceSettings
from omniretail.inventory import service as inventory_service
from omniretail.inventory.api import router as inventory_router
from omniretail.jobs.api import router as jobs_router
from omniretail.jobs.runner import BackgroundJobs
from omniretail.jobs.schemas import JobRead
from omniretail.loyalty.api import router as loyalty_router
from omniretail.marketing.api import links_router as marketing_links_router
from omniretail.marketing.api import router as marketing_router
from omniretail.marketing.tasks import BackgroundJourneys, DeliveryWorkers
from omniretail.messaging.relay import BackgroundRelay
from omniretail.notifications.api import messages_router
from omniretail.notifications.api import router as webhooks_router
from omniretail.orders import service as orders_service
from omniretail.orders.api import router as orders_router
from omniretail.pricing.api import router as pricing_router
from omniretail.processes.api import customers_router as customer_views_router
from omniretail.processes.api import products_router as product_views_router
from omniretail.processes.desk_api import router as desk_router
from omniretail.processes.privacy import SignUpSweep, sweep_unverified_sign_ups
from omniretail.routing.api import router as routing_router
from omniretail.routing.service import policy_from
from omniretail.support.api import router as support_router
from omniretail.support.api import warm_up as warm_up_assistant
from omniretail.support.jobs import queue_auto_resolve
from omniretail.web.router import install_web

API_PREFIX = "/api/v1"
RELAY_STOP_TIMEOUT_SECONDS = 30.0
REFRESH_STOP_TIMEOUT_SECONDS = 30.0
JOBS_STOP_TIMEOUT_SECONDS = 10.0
log = logging.getLogger("omniretail.app")


def create_app(
    container: Container | None = None,
    *,
    background_sweep: bool = True,
    background_relay: bool | None = None,
    background_intelligence: bool | None = None,
    background_jobs: bool | None = None,
) -> FastAPI:
    """``background_relay`` (the outbox relay thread) defaults to ``background_sweep`` and the
    ``relay_enabled`` setting, so an app built without background work (tests) has neither.
    ``background_intelligence`` (the scheduled model refresh) likewise defaults to
    ``background_sweep``, and runs only when ``OMNIRETAIL_INTELLIGENCE_REFRESH_SECONDS`` is set."""
    container = container or build_container()
    if background_relay is None:
        background_relay = background_sweep and container.settings.relay_enabled
    if background_jobs is None:
        background_jobs = background_sweep and container.settings.jobs_worker_enabled
    if background_intelligence is None:
        background_intelligence = background_sweep
    intelligence_settings = IntelligenceSettings()
    refresh_seconds = intelligence_settings.refresh_seconds if background_intelligence else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync endpoints run on these threads; with the read slots they never need more
        # connections than the pool holds (db.budget.PoolPlan).
        anyio.to_thread.current_default_thread_limiter().total_tokens = container.pools.threads
        task = asyncio.create_task(_sweep_forever(container)) if background_sweep else None
        pickup_interval = container.settings.pickup_sweep_interval_seconds
        pickups = (
            asyncio.create_task(
                sweep_pickups_forever(
                    container.uow, policy_from(container.settings), pickup_interval
                )
            )
            if background_sweep and pickup_interval > 0
            else None
        )
        relay = (
            BackgroundRelay(container.relay(), container.settings.relay_interval_seconds)
            if background_relay
            else None
        )
        if relay is not None:
            relay.start()
        jobs = (
            BackgroundJobs(container.job_runner(), container.settings.jobs_poll_seconds)
            if background_jobs
            else None
        )
        if jobs is not None:
            jobs.start()
        if background_jobs:  # the server: the assistant's model is trained (or loaded) now
            threading.Thread(target=warm_up_assistant, args=(container,), daemon=True).start()
        processes = container.settings.marketing_delivery_processes if background_jobs else 0
        delivery = (
            DeliveryWorkers(build_container, container.settings, processes) if processes else None
        )
        if delivery is not None:
            delivery.start()
        journeys = (
            BackgroundJourneys(container, deliver=delivery is None) if background_jobs else None
        )
        if journeys is not None:
            journeys.start()
        # The daily dynamic pricing run is queued where jobs are worked (off by default).
        schedule = DailySchedule.from_settings(container) if background_jobs else None
        if schedule is not None:
            schedule.start()
        # Where durable jobs are worked (here, or by `omniretail jobs worker` when this
        # server's worker is off) the refresh is queued as the job intelligence.refresh.
        queue_refresh = bool(background_jobs) or not container.settings.jobs_worker_enabled
        refresh = (
            BackgroundRefresh(
                container, refresh_seconds, intelligence_settings, queue=queue_refresh
            )
            if refresh_seconds
            else None
        )
        if refresh is not None:
            refresh.start()
        # What exists now lives as long as the process: the cyclic collector's full passes
        # (half a second each over ~500k objects) skip it from now on.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            for periodic in (task, pickups):
                if periodic is not None:
                    periodic.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await periodic
            if relay is not None:
                # The delivery in progress finishes (handlers have timeouts); nothing is cut.
                await run_in_threadpool(relay.stop, RELAY_STOP_TIMEOUT_SECONDS)
            if schedule is not None:
                await run_in_threadpool(schedule.stop, JOBS_STOP_TIMEOUT_SECONDS)
            if journeys is not None:
                await run_in_threadpool(journeys.stop, JOBS_STOP_TIMEOUT_SECONDS)
            if delivery is not None:
                # A batch in progress commits; one cut off is decided again after its lease.
                await run_in_threadpool(delivery.stop, JOBS_STOP_TIMEOUT_SECONDS)
            if jobs is not None:
                # A job cut short is taken again once its lease runs out.
                await run_in_threadpool(jobs.stop, JOBS_STOP_TIMEOUT_SECONDS)
            if refresh is not None:
                # A refresh writes in one transaction at its end: waiting cuts nothing short.
                await run_in_threadpool(refresh.stop, REFRESH_STOP_TIMEOUT_SECONDS)

    app = App(
        title="Omniretail",
        version=__version__,
        description="One stock, one customer, one order flow across every channel.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # install_docs serves /docs with its assets from the package
        redoc_url=None,
        lifespan=lifespan,
        **telemetry_off(),
    )
    app.state.container = container
    # The payment provider, read from the container at each use (tests swap it there); the
    # kits know the container only as a ``Runtime``, which has no domain-typed members.
    app.state.payments = lambda: container.payments
    # Likewise the chat's assistant (support.hooks.Assistant, or None).
    app.state.assistant = lambda: container.assistant
    # Who a credential is, kept per process (auth.principal_cache; None: no cache).
    app.state.principal_cache = lambda: container.principal_cache
    install_problem_handlers(app)
    app.add_middleware(ServerTimingMiddleware)
    settings = container.settings
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        larger={("POST", f"{API_PREFIX}/events"): settings.max_event_body_bytes},
    )
    # Outermost, so every response (a 413 included) carries the headers.
    app.add_middleware(
        SecurityHeadersMiddleware,
        docs_url=DOCS_URL,
        openapi_url=app.openapi_url or "",
        title=app.title,
    )
    app.router.routes.extend(_api_routes())
    app.include_router(tracking_router)
    app.include_router(marketing_links_router)  # public: the signed token is the credential
    install_openapi(app, is_public=policy.is_public, is_throttled=policy.is_throttled)
    install_docs(app)
    install_web(app)  # the console: /signin, /hq, /store, /shop, /account, /static
    return app


@functools.cache
def _api_routes() -> tuple[APIRoute, ...]:
    """The routes under /api/v1, built once per process: FastAPI resolves each route's
    dependencies when the route is built (a third of a second per app), and every app built
    here (one per test) shares the same routes anyway.

    Each route is its own APIRoute with the prefix and ``authorize`` built in, added to the
    app's router directly. FastAPI (0.16x) matches an included router's routes through its
    inclusion, three times a request (once to match the inclusion, once more to select the
    route, once to hand it over), re-walking every route to see whether the routers changed
    each time: a tenth of an API worker's CPU at 20 shoppers. A flat list of routes is walked
    once."""
    # The shop's hot routes first: a request is matched against the routes in order. No router
    # moved behind them has a path under /carts, /orders, /prices or /fulfilment-options
    # (tests/api/test_route_order.py: no route is shadowed by one before it).
    routers = (
        _system_router(),
        carts_router,
        orders_router,
        catalog_router,
        product_views_router,
        inventory_router,
        webhooks_router,
        messages_router,
        pricing_router,
        routing_router,
        fulfilment_router,
        auth_router,
        customer_views_router,
        customers_router,
        events_router,
        loyalty_router,
        marketing_router,
        support_router,
        jobs_router,
        intelligence_router,
        markdowns_router,
        dynamic_pricing_router,
        desk_router,
    )
    return tuple(_prefixed(*served) for router in routers for served in _routes_of(router))


def _routes_of(router: APIRouter) -> Iterator[tuple[Any, APIRoute]]:
    """Each route of the router as it is served (path, tags and dependencies of the routers
    it is included through added, FastAPI's own reckoning), with the route itself."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route, route
            continue
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            raise TypeError(f"only API routes go under {API_PREFIX}: {route!r}")
        for context in contexts():
            original = context.original_route
            if not isinstance(original, APIRoute):
                raise TypeError(f"only API routes go under {API_PREFIX}: {original!r}")
            yield context, original


def _prefixed(served: Any, route: APIRoute) -> APIRoute:
    """``served`` (a route, or how an included route is served) under /api/v1, running
    ``authorize`` first (auth.policy says what each needs), as ``APIRouter.include_router``
    would document and run it."""
    return APIRoute(
        API_PREFIX + served.path,
        served.endpoint,
        response_model=served.response_model,
        status_code=served.status_code,
        tags=served.tags,
        dependencies=[AuthorizeDep, *served.dependencies],
        summary=served.summary,
        description=served.description,
        response_description=served.response_description,
        responses=served.responses,
        deprecated=served.deprecated,
        name=served.name,
        methods=served.methods,
        operation_id=served.operation_id,
        response_model_include=served.response_model_include,
        response_model_exclude=served.response_model_exclude,
        response_model_by_alias=served.response_model_by_alias,
        response_model_exclude_unset=served.response_model_exclude_unset,
        response_model_exclude_defaults=served.response_model_exclude_defaults,
        response_model_exclude_none=served.response_model_exclude_none,
        include_in_schema=served.include_in_schema,
        response_class=served.response_class,
        callbacks=served.callbacks,
        openapi_extra=served.openapi_extra,
        generate_unique_id_function=served.generate_unique_id_function,
        strict_content_type=served.strict_content_type,
        max_body_size=served.max_body_size,
        form_limits=route.form_limits,
    )


def _system_router() -> APIRouter:
    router = APIRouter(tags=["system"])

    @router.get("/health")
    def health(container: ContainerDep) -> dict[str, str]:
        return {"status": "ok", "database": container.backend, "version": __version__}

    @router.get("/metrics")
    def metrics(container: ContainerDep) -> dict[str, int]:
        """Counters for benchmarks and monitoring."""
        return {"sql_statements": container.counter.value}

    return router


async def _sweep_forever(container: Container) -> None:
    """Release expired cart holds periodically (they are also released lazily on demand),
    settle checkout payments past their allocation's expiry, delete expired Idempotency-Keys
    and shop sign-ups never verified, and queue the job resolving chats the assistant
    answered and the customer left."""
    interval = container.settings.sweep_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            released = await run_in_threadpool(_sweep_once, container)
            if released:
                log.info("released %d expired reservations", released)
            paid = await run_in_threadpool(sweep_payments, container)
            if paid.confirmed or paid.released:
                log.info(
                    "payment attempts past expiry: %d confirmed, %d released",
                    paid.confirmed,
                    paid.released,
                )
            expired = await run_in_threadpool(sweep_idempotency_keys, container)
            if expired:
                log.info("deleted %d expired idempotency keys", expired)
            sign_ups = await run_in_threadpool(sweep_sign_ups, container)
            if sign_ups.sign_ins_deleted:
                log.info(
                    "removed %d sign-up(s) never verified (%d profile(s) erased)",
                    sign_ups.sign_ins_deleted,
                    sign_ups.profiles_erased,
                )
            queued = await run_in_threadpool(queue_chat_auto_resolve, container)
            if queued is not None:
                log.info("queued %s (%s): chats answered and left", queued.kind, queued.id)
        except Exception:
            log.exception("reservation sweep failed; will retry")


def sweep_payments(container: Container) -> orders_service.PaymentSweep:
    """Checkouts whose payment never finished, past their allocation's expiry."""
    return orders_service.sweep_payment_attempts(
        container.uow, container.payments, actor="system:payment-sweeper"
    )


def queue_chat_auto_resolve(container: Container) -> JobRead | None:
    """The durable job resolving the chats the assistant answered and the customer left
    (``support.auto_resolve``), queued when one is due; the job worker runs it."""
    return queue_auto_resolve(
        container.uow, after_hours=container.settings.support_chat_auto_resolve_hours
    )


def sweep_sign_ups(container: Container) -> SignUpSweep:
    """Shop sign-ups never verified within ``sign_up_unverified_days``."""
    with container.uow() as uow:
        before = uow.now - timedelta(days=container.settings.sign_up_unverified_days)
        return sweep_unverified_sign_ups(uow, before=before, actor="system:sign-up-sweeper")


def _sweep_once(container: Container) -> int:
    with container.uow() as uow:
        return inventory_service.release_expired_holds(uow, actor="system:sweeper")
