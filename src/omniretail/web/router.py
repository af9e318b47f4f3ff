"""``install_web(app)``: the console's routes, its static files and its error pages."""

from __future__ import annotations

import inspect
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from omniretail.web import hq, shop, store
from omniretail.web.deps import NotAllowed, SignInRequired, optional_viewer, render
from omniretail.web.jobs import JobRegistry
from omniretail.web.signin import router as signin_router
from omniretail.web.survey import router as survey_router

CONSOLE_PATHS = ("/hq", "/store", "/shop", "/account", "/signin", "/signup")


def install_web(app: FastAPI) -> None:
    app.state.web_jobs = JobRegistry()
    app.mount(
        "/static",
        StaticFiles(packages=[("omniretail.web", "static")]),
        name="static",
    )
    for router in (signin_router, hq.router, store.router, shop.router, survey_router):
        app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def on_sign_in(request: Request, _exc: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = "/signin?next=" + quote(target, safe="")
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    api_invalid = app.exception_handlers.get(RequestValidationError)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        """A console page whose query or form fails its declared bounds answers with a page a
        person can read; every documented operation (the API, the tracking page) keeps its
        problem+json."""
        route = request.scope.get("route")
        documented = route is None or getattr(route, "include_in_schema", True)
        if documented and api_invalid is not None:
            answer = api_invalid(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "the request"
        return render(
            request,
            "error.html",
            viewer=optional_viewer(request),
            status=422,
            title="Please check what you entered",
            message=f"{field}: {first.get('msg', 'not valid')}",
        )

    api_http = app.exception_handlers.get(HTTPException)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:
        """A mistyped console address opened in a browser: a page with the way back, not
        JSON; the API (and any client that does not ask for HTML) keeps its problem+json."""
        browser = "text/html" in request.headers.get("accept", "")
        if exc.status_code == 404 and browser and request.url.path.startswith(CONSOLE_PATHS):
            return render(
                request,
                "error.html",
                viewer=optional_viewer(request),
                status=404,
                title="Page not found",
                message=f"There is no page at {request.url.path}.",
            )
        assert api_http is not None
        answer = api_http(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    @app.exception_handler(NotAllowed)
    async def on_not_allowed(request: Request, exc: NotAllowed) -> Response:
        return render(
            request,
            "error.html",
            viewer=optional_viewer(request),
            status=exc.status,
            title="Not allowed" if exc.status == 403 else "Not possible",
            message=exc.message,
            link=exc.link,
        )
