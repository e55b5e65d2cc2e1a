"""Bearer tokens for Streamable HTTP: each token names a principal, compared in constant time."""

from __future__ import annotations

import hmac

from mcp.server.auth.provider import AccessToken, TokenVerifier
from pydantic import SecretStr

from gemini_interactions_mcp.config import SettingsError
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL


class StaticTokenVerifier(TokenVerifier):
    """Maps a presented bearer token to its principal (`client_id`), or refuses it.

    Every configured token is compared, whatever matched first, so timing does not reveal which
    prefix or which entry came close.
    """

    def __init__(self, pairs: tuple[tuple[str, SecretStr], ...]) -> None:
        if any(principal == LOCAL_PRINCIPAL for principal, _ in pairs):
            raise SettingsError(
                f"a bearer token names the principal {LOCAL_PRINCIPAL!r}, which is reserved for the server's "
                "own user (stdio, who sees every agent of the key); choose another name"
            )
        self._pairs = [(principal, secret.get_secret_value().encode()) for principal, secret in pairs]

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = token.encode()
        principal: str | None = None
        for candidate, secret in self._pairs:
            if hmac.compare_digest(presented, secret):
                principal = candidate
        if principal is None:
            return None
        return AccessToken(token=token, client_id=principal, scopes=[], subject=principal)
