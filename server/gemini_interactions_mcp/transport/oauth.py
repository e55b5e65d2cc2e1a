"""OAuth 2.1 access tokens (JWT) from the team's identity provider, checked as a resource server.

The server never issues tokens: the identity provider does (the MCP authorization spec), and clients
find it through /.well-known/oauth-protected-resource (RFC 9728, served by the SDK from AuthSettings).
Here a token is accepted only when all of this holds:
- its `alg` is an asymmetric one from ALLOWED_ALGORITHMS (never `none`, never HS*: a public key must
  not double as an HMAC secret), and its signature verifies against the issuer's key with its `kid`;
- `iss` is the issuer exactly, `aud` names this server (the canonical URL, RFC 8707), `exp` and `sub`
  are present, and `exp`, `nbf` and `iat` hold within LEEWAY_SECONDS of clock skew;
- it carries the required scopes (checked by the SDK, which answers 403 insufficient_scope).

Keys come from the issuer's JWKS (its `jwks_uri`, from RFC 8414 or OpenID metadata unless given),
cached for CACHE_SECONDS; a token signed with a key not in the cache refetches it, at most once every
REFETCH_SECONDS, so a stream of forged `kid`s cannot turn the server into a JWKS flooder. Anything that
fails, including an unreachable issuer, refuses the token (fail closed); the token is never logged.

The caller's principal is issuer + `sub`, so two identity providers' subjects never meet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

log = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})  # RFC 9068, and the common plain one
LEEWAY_SECONDS = 30
CACHE_SECONDS = 300
REFETCH_SECONDS = 10
FETCH_TIMEOUT_SECONDS = 5


def oauth_principal(issuer: str, subject: str) -> str:
    return f"{issuer}#{subject}"


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be (RFC 8414 §3.1, then OpenID Connect Discovery), in order."""
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


def _scopes(claims: dict[str, Any]) -> list[str]:
    """`scope` (RFC 9068: space-separated) or `scp` (a list, as some providers send it)."""
    value = claims.get("scope", claims.get("scp", ""))
    if isinstance(value, list):
        return [str(s) for s in value]
    return str(value).split()


class JwtVerifier:
    """Checks access tokens of one issuer for one audience (see the module docstring)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._clock = clock
        self._transport = transport
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = anyio.Lock()

    async def verify(self, token: str) -> AccessToken | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        algorithm, kid = header.get("alg"), header.get("kid")
        typ = str(header.get("typ", "jwt")).lower()
        if algorithm not in ALLOWED_ALGORITHMS or not isinstance(kid, str) or typ not in ACCESS_TOKEN_TYPES:
            return None
        key = await self._key(kid)
        if key is None:
            return None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "sub"]},
            )
        except jwt.PyJWTError as exc:
            log.info("refused an access token: %s", type(exc).__name__)
            return None
        subject = str(claims["sub"])
        return AccessToken(
            token=token,
            client_id=oauth_principal(self.issuer, subject),
            scopes=_scopes(claims),
            # The SDK refuses a token past `expires_at` without leeway; the leeway was applied above.
            expires_at=int(claims["exp"]) + LEEWAY_SECONDS,
            resource=self.audience,
            subject=subject,
            claims=claims,
        )

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        """The issuer's key `kid`: from the cache while it is fresh, else (rate-limited) from the JWKS."""
        async with self._lock:
            now = self._clock()
            age = None if self._fetched_at is None else now - self._fetched_at
            stale = age is None or age >= CACHE_SECONDS
            unknown_may_refetch = kid not in self._keys and (age is None or age >= REFETCH_SECONDS)
            if stale or unknown_may_refetch:
                await self._refresh(now)
            return self._keys.get(kid)

    async def _refresh(self, now: float) -> None:
        self._fetched_at = now  # also on failure: an unreachable issuer is not asked again at once
        try:
            async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, transport=self._transport) as http:
                jwks_url = self._jwks_url or await self._discover_jwks_url(http)
                response = await http.get(jwks_url)
                response.raise_for_status()
                document = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            log.warning("could not fetch the signing keys of %s: %s", self.issuer, exc)
            return
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "kid" not in entry:
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type or algorithm this server does not accept
        self._keys = keys

    async def _discover_jwks_url(self, http: httpx2.AsyncClient) -> str:
        for url in metadata_urls(self.issuer):
            response = await http.get(url)
            if response.status_code != 200:
                continue
            metadata = response.json()
            if metadata.get("issuer") != self.issuer:
                raise ValueError(f"the metadata at {url} names another issuer")
            jwks_uri = metadata.get("jwks_uri")
            if isinstance(jwks_uri, str):
                self._jwks_url = jwks_uri
                return jwks_uri
        raise ValueError("no authorization server metadata with a jwks_uri was found")
