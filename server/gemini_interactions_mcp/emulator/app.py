"""`create_app`: the Starlette application of one emulator instance."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import admin, env_files, file_search, files_api, routes_agents, routes_interactions
from .config import EmulatorConfig
from .emulator import Emulator
from .errors import not_found
from .guard import api


@api
async def _unknown(request: Request) -> Response:
    raise not_found(f"The requested URL {request.url.path} was not found on this server.")


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """A fresh emulator (its own state) as an ASGI app; `app.state.emulator` is its Python API."""
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
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
