"""A local OAuth identity provider for tests: keys made here, metadata and JWKS served by a Starlette app.

It signs whatever the test asks for (any claims or header, even an HMAC forgery), so the negative cases
are tokens a real provider could be tricked into, or an attacker could forge. `jwks_fetches` counts JWKS
downloads, to check caching; `rotate()` publishes a new key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.helpers.servers import ServerThread

AUDIENCE = "https://mcp.example.com/mcp"


class LocalIssuer:
    def __init__(self, issuer: str = "http://issuer.local") -> None:
        self.issuer = issuer
        self.jwks_fetches = 0
        self._private: dict[str, Any] = {}
        self._algorithm: dict[str, str] = {}
        self.add_key("rsa-1")
        self.add_key("ec-1", curve=True)
        self.app = Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", self._metadata),
                Route("/.well-known/openid-configuration", self._metadata),
                Route("/jwks.json", self._jwks),
            ]
        )

    def add_key(self, kid: str, *, curve: bool = False) -> None:
        """Make a key and publish it in the JWKS."""
        if curve:
            self._private[kid], self._algorithm[kid] = ec.generate_private_key(ec.SECP256R1()), "ES256"
        else:
            self._private[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._algorithm[kid] = "RS256"

    def public_pem(self, kid: str) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return (
            self._private[kid]
            .public_key()
            .public_bytes(  # type: ignore[no-any-return]
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def token(
        self,
        sub: str = "alice",
        *,
        kid: str = "rsa-1",
        audience: str | list[str] = AUDIENCE,
        issuer: str | None = None,
        scope: str = "mcp:tools",
        lifetime: float = 300,
        header: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body = {
            "iss": issuer or self.issuer,
            "sub": sub,
            "aud": audience,
            "iat": now,
            "exp": now + int(lifetime),
            "scope": scope,
            "client_id": "test-client",
            **claims,
        }
        for name in drop:
            body.pop(name, None)
        return jwt.encode(
            body,
            self._private[kid],
            algorithm=self._algorithm[kid],
            headers={"kid": kid, "typ": "at+jwt", **(header or {})},
        )

    def forge_hmac(self, secret: bytes, *, kid: str = "rsa-1") -> str:
        """A valid-looking token signed HS256 with `secret` (say, the public key), by hand: the classic
        algorithm-confusion forgery, which pyjwt itself refuses to produce."""

        def part(value: dict[str, Any]) -> bytes:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "mallory",
            "aud": AUDIENCE,
            "exp": now + 300,
            "scope": "mcp:tools",
        }
        signed = part({"alg": "HS256", "typ": "at+jwt", "kid": kid}) + b"." + part(claims)
        signature = base64.urlsafe_b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).rstrip(b"=")
        return (signed + b"." + signature).decode()

    def _public_jwks(self) -> dict[str, Any]:
        keys = []
        for kid, private in self._private.items():
            algorithm = self._algorithm[kid]
            family = jwt.algorithms.ECAlgorithm if algorithm.startswith("ES") else jwt.algorithms.RSAAlgorithm
            public = family.to_jwk(private.public_key(), as_dict=True)
            keys.append({**public, "kid": kid, "use": "sig", "alg": algorithm})
        return {"keys": keys}

    async def _metadata(self, _: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "jwks_uri": f"{self.issuer}/jwks.json",
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def _jwks(self, _: Request) -> Response:
        self.jwks_fetches += 1
        return JSONResponse(self._public_jwks())


@contextmanager
def served_issuer() -> Iterator[LocalIssuer]:
    """A LocalIssuer on a loopback port (its `issuer` is that URL), for servers that fetch its keys."""
    issuer = LocalIssuer()
    with ServerThread(issuer.app) as running:
        issuer.issuer = running.url
        yield issuer
