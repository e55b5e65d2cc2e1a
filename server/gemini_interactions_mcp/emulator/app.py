"""`create_app`: the Starlette application of one emulator instance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import admin, env_files, file_search, files_api, routes_agents, routes_interactions
from .config import EmulatorConfig
from .emulator import Emulator
from .errors import not_found
from .guard import api


@api
async def _unknown(request: Request) -> Response:
    raise not_found(f"The requested URL {request.url.path} was not found on this server.")


class _EmulatorApp(Starlette):
    """Starlette, except that the two requests of every model turn (create an interaction; get or
    stream one) go straight to their endpoints: matching them among some forty routes and passing them
    through two middleware layers cost about as much as the endpoints' own work. The outcome is the
    same (the endpoint Starlette would route to, the same 500 for an unexpected error); every other
    request takes Starlette's way."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = _turn_endpoint(scope) if scope["type"] == "http" else None
        if endpoint is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        try:
            response = await endpoint(Request(scope, receive, send))
        except Exception:
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
        await response(scope, receive, send)


def _turn_endpoint(scope: Scope) -> Callable[[Request], Awaitable[Response]] | None:
    """`POST /{version}/interactions` or `GET /{version}/interactions/{iid}`, with its path parameters
    set as the router would; None for any other request (and under a root path, which Starlette strips)."""
    if scope.get("root_path"):
        return None
    parts = scope["path"].split("/")
    if len(parts) == 3 and scope["method"] == "POST" and parts[2] == "interactions" and parts[1]:
        scope["path_params"] = {"version": parts[1]}
        return routes_interactions.create_interaction
    if len(parts) == 4 and scope["method"] == "GET" and parts[2] == "interactions" and parts[1] and parts[3]:
        scope["path_params"] = {"version": parts[1], "iid": parts[3]}
        return routes_interactions.get_interaction
    return None


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """A fresh emulator (its own state) as an ASGI app; `app.state.emulator` is its Python API."""
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = _EmulatorApp(
        routes=[
            *routes_interactions.ROUTES,
            *admin.ROUTES,
            *files_api.ROUTES,
            *file_search.ROUTES,
            *env_files.ROUTES,
            *routes_agents.ROUTES,
            Route("/{version}/{rest:path}", _unknown, methods=methods),
        ]
    )
    app.state.emulator = Emulator(config)
    return app
