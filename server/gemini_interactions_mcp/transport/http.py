"""Streamable HTTP at /mcp for both protocol eras, plus /healthz, bearer auth and Host/Origin checks."""

from __future__ import annotations

from typing import Any

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings, SettingsError
from gemini_interactions_mcp.transport.auth import auth_options, serve_metadata_at_the_root
from gemini_interactions_mcp.transport.byok import CallerKeys
from gemini_interactions_mcp.transport.resumability import RETRY_MILLISECONDS, EventBuffer, resume_per_session

MCP_PATH = "/mcp"
LOOPBACK_HOST_PATTERNS = ("127.0.0.1:*", "localhost:*", "[::1]:*")


def transport_security(settings: ServerSettings) -> TransportSecuritySettings:
    """DNS-rebinding protection: loopback names (on a loopback bind) plus every --allowed-host/origin.

    A non-loopback bind with no --allowed-host accepts any Host: it is reachable under names this
    process cannot know, and bearer tokens (required there) are what keep strangers out.
    """
    hosts = list(settings.allowed_hosts)
    origins = list(settings.allowed_origins)
    if settings.is_loopback:
        hosts += LOOPBACK_HOST_PATTERNS
        origins += [f"http://{pattern}" for pattern in LOOPBACK_HOST_PATTERNS]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=bool(hosts),
        allowed_hosts=hosts,
        allowed_origins=origins,
    )


def http_app(settings: ServerSettings, **build_options: Any) -> ASGIApp:
    """The ASGI app for `settings`; refuses an open non-loopback bind unless explicitly allowed."""
    if (
        not settings.tokens
        and not settings.oauth
        and not settings.is_loopback
        and not settings.allow_unauthenticated
    ):
        raise SettingsError(
            f"refusing to serve {settings.host} without authentication: set GEMINI_MCP_TOKENS or "
            "--token-file, or --oauth-issuer and --oauth-audience, or pass --allow-unauthenticated if every "
            "client that can reach it may use it"
        )
    server = build_server(settings, **auth_options(settings), **build_options)
    serve_metadata_at_the_root(server, settings)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    server.custom_route("/healthz", methods=["GET"])(healthz)

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=transport_security(settings),
        host=settings.host,
        retry_interval=RETRY_MILLISECONDS,
    )
    resume_per_session(server.session_manager, EventBuffer())
    if not settings.byok:
        return app
    authenticated = bool(settings.tokens or settings.oauth)
    return CallerKeys(app, mcp_path=MCP_PATH, required=settings.byok_required, authenticated=authenticated)


def serve_http(settings: ServerSettings) -> None:
    app = http_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
    )
