"""Who calls over Streamable HTTP: static bearer tokens (each names a principal) and OAuth access tokens.

Both may be enabled together; a static token is an operator-issued full-access credential, so it
carries every required scope and counts as issued for this server.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl, SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gemini_interactions_mcp.config import SettingsError
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL
from gemini_interactions_mcp.transport.oauth import JwtVerifier

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from gemini_interactions_mcp.config import ServerSettings

ROOT_METADATA_PATH = "/.well-known/oauth-protected-resource"


class StaticTokenVerifier(TokenVerifier):
    """Maps a presented bearer token to its principal (`client_id`), or refuses it.

    Every configured token is compared, whatever matched first, so timing does not reveal which
    prefix or which entry came close.
    """

    def __init__(
        self,
        pairs: tuple[tuple[str, SecretStr], ...],
        *,
        scopes: tuple[str, ...] = (),
        resource: str | None = None,
    ) -> None:
        if any(principal == LOCAL_PRINCIPAL for principal, _ in pairs):
            raise SettingsError(
                f"a bearer token names the principal {LOCAL_PRINCIPAL!r}, which is reserved for the server's "
                "own user (stdio, who sees every agent of the key); choose another name"
            )
        self._pairs = [(principal, secret.get_secret_value().encode()) for principal, secret in pairs]
        self._scopes = list(scopes)
        self._resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = token.encode()
        principal: str | None = None
        for candidate, secret in self._pairs:
            if hmac.compare_digest(presented, secret):
                principal = candidate
        if principal is None:
            return None
        return AccessToken(
            token=token, client_id=principal, scopes=self._scopes, subject=principal, resource=self._resource
        )


class BearerVerifier(TokenVerifier):
    """The static tokens first, then (if configured) the identity provider's access tokens."""

    def __init__(self, static: StaticTokenVerifier | None, oauth: JwtVerifier | None) -> None:
        self._static = static
        self._oauth = oauth

    async def verify_token(self, token: str) -> AccessToken | None:
        if self._static is not None and (found := await self._static.verify_token(token)) is not None:
            return found
        return await self._oauth.verify(token) if self._oauth is not None else None


def auth_options(settings: ServerSettings) -> dict[str, Any]:
    """The MCPServer keywords that make /mcp require a token; none when the server is open."""
    oauth = settings.oauth
    if oauth is None:
        if not settings.tokens:
            return {}
        return {
            "token_verifier": BearerVerifier(StaticTokenVerifier(settings.tokens), None),
            # Static tokens only: no authorization server to name, so no protected-resource metadata.
            "auth": AuthSettings(
                issuer_url=AnyHttpUrl(f"http://{settings.host}:{settings.port}"), resource_server_url=None
            ),
        }
    static = None
    if settings.tokens:
        static = StaticTokenVerifier(settings.tokens, scopes=oauth.scopes, resource=oauth.audience)
    verifier = JwtVerifier(issuer=oauth.issuer, audience=oauth.audience, jwks_url=oauth.jwks_url)
    return {
        "token_verifier": BearerVerifier(static, verifier),
        "auth": AuthSettings(
            issuer_url=oauth.issuer,  # a str keeps the issuer exactly as given
            resource_server_url=oauth.audience,
            required_scopes=list(oauth.scopes) or None,
            validate_token_resource=True,
        ),
    }


def serve_metadata_at_the_root(server: MCPServer[Any], settings: ServerSettings) -> None:
    """RFC 9728 metadata also at the origin's root, for clients that look only there.

    The SDK serves it where the spec puts it (the resource's path appended, e.g.
    /.well-known/oauth-protected-resource/mcp); this answers the same document at the bare path.
    """
    oauth = settings.oauth
    if oauth is None or urlsplit(oauth.audience).path in ("", "/"):
        return
    document = ProtectedResourceMetadata(
        resource=oauth.audience,
        authorization_servers=[oauth.issuer],
        scopes_supported=list(oauth.scopes) or None,
    ).model_dump(mode="json", exclude_none=True)

    async def metadata(_: Request) -> Response:
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})

    server.custom_route(ROOT_METADATA_PATH, methods=["GET"])(metadata)
