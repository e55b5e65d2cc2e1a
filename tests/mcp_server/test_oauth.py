"""OAuth 2.1 resource server: metadata, challenges, JWT checks, key rotation, and static tokens alongside."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from gemini_interactions_mcp.config import OAuthSettings, ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig
from gemini_interactions_mcp.transport.http import http_app
from gemini_interactions_mcp.transport.oauth import REFETCH_SECONDS, JwtVerifier, metadata_urls
from tests.helpers.issuer import AUDIENCE, LocalIssuer, served_issuer
from tests.helpers.legacy import ACCEPT, INITIALIZE
from tests.helpers.principals import BOB, TOKENS
from tests.helpers.results import data
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio

PRM_PATH = "/.well-known/oauth-protected-resource/mcp"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(issuer: LocalIssuer, clock: Clock, **options: Any) -> JwtVerifier:
    return JwtVerifier(
        issuer=issuer.issuer,
        audience=AUDIENCE,
        clock=clock,
        transport=httpx2.ASGITransport(app=issuer.app),
        **options,
    )


async def test_a_valid_token_names_issuer_and_subject() -> None:
    issuer, clock = LocalIssuer(), Clock()
    check = verifier(issuer, clock)
    for kid in ("rsa-1", "ec-1"):
        token = await check.verify(issuer.token("alice", kid=kid, scope="mcp:tools extra"))
        assert token is not None
        assert token.client_id == f"{issuer.issuer}#alice" and token.subject == "alice"
        assert token.scopes == ["mcp:tools", "extra"] and token.resource == AUDIENCE
    assert await check.verify(issuer.token(audience=["https://other.example", AUDIENCE])) is not None
    assert issuer.jwks_fetches == 1, "keys are cached"


def test_metadata_is_looked_up_where_rfc_8414_and_openid_put_it() -> None:
    assert metadata_urls("https://as.example/tenant1") == [
        "https://as.example/.well-known/oauth-authorization-server/tenant1",
        "https://as.example/.well-known/openid-configuration/tenant1",
        "https://as.example/tenant1/.well-known/openid-configuration",
    ]
    assert (
        metadata_urls("https://as.example")[0] == "https://as.example/.well-known/oauth-authorization-server"
    )


def forged_tokens(issuer: LocalIssuer) -> dict[str, str]:
    """Tokens that must all be refused, by what is wrong with them."""
    other = LocalIssuer()
    valid = issuer.token()
    head, body, signature = valid.split(".")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    unsigned = jwt.encode(
        {"iss": issuer.issuer, "sub": "x", "aud": AUDIENCE, "exp": 2**31}, None, algorithm="none"
    )
    return {
        "wrong audience": issuer.token(audience="https://evil.example/mcp"),
        "expired": issuer.token(lifetime=-120),
        "not yet valid": issuer.token(nbf=int(time.time()) + 600),
        "wrong issuer": issuer.token(issuer="https://evil.example"),
        "unknown key": other.token(header={"kid": "rsa-9"}),
        "same kid, another key": other.token(kid="rsa-1"),
        "alg none": unsigned,
        "HS256 with the public key as secret": issuer.forge_hmac(issuer.public_pem("rsa-1")),
        "tampered payload": f"{head}.{issuer.token(sub='mallory').split('.')[1]}.{signature}",
        "tampered signature": f"{head}.{body}.{flipped}",
        "no exp": issuer.token(drop=("exp",)),
        "no sub": issuer.token(drop=("sub",)),
        "an id token": issuer.token(header={"typ": "id+jwt"}),
        "garbage": "not.a.token",
    }


async def test_every_forged_or_misdirected_token_is_refused() -> None:
    issuer, clock = LocalIssuer(), Clock()
    check = verifier(issuer, clock)
    accepted = [
        name for name, token in forged_tokens(issuer).items() if await check.verify(token) is not None
    ]
    assert accepted == []


async def test_a_rotated_key_is_fetched_once_and_unknown_kids_cannot_flood_the_issuer() -> None:
    issuer, clock = LocalIssuer(), Clock()
    check = verifier(issuer, clock)
    assert await check.verify(issuer.token()) is not None
    issuer.add_key("rsa-2")  # the provider rotates: a new key in its JWKS, new tokens signed with it
    clock.now += 1
    assert await check.verify(issuer.token(kid="rsa-2")) is None, "refetches are rate-limited"
    assert issuer.jwks_fetches == 1
    clock.now += REFETCH_SECONDS
    assert await check.verify(issuer.token(kid="rsa-2")) is not None
    assert issuer.jwks_fetches == 2
    clock.now += 1
    forged = LocalIssuer()
    for n in range(20):
        assert await check.verify(forged.token(header={"kid": f"forged-{n}"})) is None
    assert issuer.jwks_fetches == 2


async def test_an_unreachable_issuer_fails_closed() -> None:
    issuer, clock = LocalIssuer(), Clock()
    check = JwtVerifier(issuer="http://127.0.0.1:9", audience=AUDIENCE, clock=clock)
    assert await check.verify(issuer.token(issuer="http://127.0.0.1:9")) is None


# -- over HTTP: the server with OAuth and static tokens together ----------------------------------------


@pytest.fixture
def issuer_on_a_port() -> Iterator[LocalIssuer]:
    with served_issuer() as issuer:
        yield issuer


@pytest.fixture
def oauth_server(issuer_on_a_port: LocalIssuer, live_emulator: ServerThread, tmp_path: Path) -> Iterator[str]:
    settings = ServerSettings(
        state="memory",
        allow_dirs=(tmp_path,),
        transport="http",
        tokens=TOKENS,
        oauth=OAuthSettings(issuer=issuer_on_a_port.issuer, audience=AUDIENCE, scopes=("mcp:tools",)),
    )
    app = http_app(settings, client_config=ClientConfig(base_url=live_emulator.url, api_key=None))
    with ServerThread(app) as running:
        yield running.url


async def test_protected_resource_metadata_and_the_401_that_points_to_it(
    oauth_server: str, issuer_on_a_port: LocalIssuer
) -> None:
    async with httpx2.AsyncClient() as raw:
        for path in (PRM_PATH, "/.well-known/oauth-protected-resource"):
            document = (await raw.get(oauth_server + path)).json()
            assert document["resource"] == AUDIENCE
            assert document["authorization_servers"] == [issuer_on_a_port.issuer]
            assert document["scopes_supported"] == ["mcp:tools"]
        refused = await raw.post(f"{oauth_server}/mcp", json=INITIALIZE, headers=ACCEPT)
    assert refused.status_code == 401
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"' in challenge


async def status_with(url: str, token: str) -> httpx2.Response:
    async with httpx2.AsyncClient(headers={**ACCEPT, "Authorization": f"Bearer {token}"}) as raw:
        return await raw.post(f"{url}/mcp", json=INITIALIZE)


async def test_over_http_forged_tokens_get_401_and_a_missing_scope_403(
    oauth_server: str, issuer_on_a_port: LocalIssuer
) -> None:
    for name, token in forged_tokens(issuer_on_a_port).items():
        assert (await status_with(oauth_server, token)).status_code == 401, name
    no_scope = await status_with(oauth_server, issuer_on_a_port.token(scope="other"))
    assert no_scope.status_code == 403
    assert 'error="insufficient_scope"' in no_scope.headers["www-authenticate"]
    assert (await status_with(oauth_server, issuer_on_a_port.token())).status_code == 200
    assert (await status_with(oauth_server, BOB)).status_code == 200, "static tokens keep working"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_oauth_callers_are_principals_of_their_own(
    oauth_server: str, issuer_on_a_port: LocalIssuer, mode: str
) -> None:
    """alice by OAuth and bob by static token share nothing, and alice's token is never sent upstream."""
    url = f"{oauth_server}/mcp"
    alice_token = issuer_on_a_port.token("alice")
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice_token}"}, timeout=30) as hc,
        Client(streamable_http_client(url, http_client=hc), mode=mode) as alice,  # type: ignore[arg-type]
    ):
        mine = data(await alice.call_tool("ask_gemini", {"prompt": "Hi.", "conversation": "private"}))
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {BOB}"}, timeout=30) as hc,
        Client(streamable_http_client(url, http_client=hc), mode=mode) as bob,  # type: ignore[arg-type]
    ):
        assert data(await bob.call_tool("list_conversations", {}))["conversations"] == []
        theirs = data(await bob.call_tool("ask_gemini", {"prompt": "Hi.", "conversation": "private"}))
    assert theirs["conversation"] != mine["conversation"]
    assert issuer_on_a_port.jwks_fetches == 1
