"""The async Interactions API client: requests with bounded retries, typed answers, resumable streams.

Key rule (documented here because callers depend on it): with no API key configured,
- a call to Google's own host raises ConfigurationError at once, naming the variables to set;
- a call to any other base URL (a local emulator, a proxy that adds credentials) is sent without a
  key, and if that server answers 401 the call raises ConfigurationError (same advice), since the
  missing key, not a wrong one, is the cause. With a key configured, 401 is AuthenticationError.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote
from urllib.request import getproxies

import anyio
import httpx2
from pydantic import SecretStr

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.gemini import errors
from gemini_interactions_mcp.gemini.config import KEY_VARIABLES, ClientConfig
from gemini_interactions_mcp.gemini.models import Agent, AgentPage, CreateInteraction, Interaction
from gemini_interactions_mcp.gemini.outgoing import JSON_TYPE, RequestBuilder
from gemini_interactions_mcp.gemini.stream import InteractionStream

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
USER_AGENT = f"gemini-interactions-mcp/{__version__}"
NO_KEY = f"No Gemini API key: set {' or '.join(KEY_VARIABLES)} (or GEMINI_BASE_URL for another endpoint)."


def _segment(value: str) -> str:
    """An id as one path segment: ids reach us from users, and must not walk to another path."""
    return quote(value, safe="")


def _transport_failure(what: str, exc: httpx2.TransportError) -> errors.GeminiError:
    """The project's error for an httpx2 failure on the way (never its message: it may quote a URL)."""
    if isinstance(exc, httpx2.TimeoutException):
        return errors.UpstreamTimeoutError(f"{what}: timed out ({type(exc).__name__})")
    return errors.TransportError(f"{what}: connection failed ({type(exc).__name__})")


class InteractionsClient:
    """Async client for `/{version}/interactions` and `/{version}/agents` on httpx2.

    `sleep` and `clock` are injectable so tests can check retry delays without waiting;
    `transport` lets tests (and the in-process emulator) replace the network. `call_key`, when given,
    names the key of the call being made, if it is not the configured one (a caller's own key): it is
    asked on every request and sent in place of the configured key, never kept. `observer`, when given,
    is told how every request attempt ended (its HTTP status, or "timeout" / "connection_error"), for
    metrics; a retry is always preceded by a `sleep`.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Sleep = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        call_key: Callable[[], SecretStr | None] | None = None,
        observer: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self._call_key = call_key
        self._observe = observer or (lambda outcome: None)
        self._sleep = sleep
        self._clock = clock
        self._random = rng or random.Random()
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None
        self._direct: httpx2.AsyncBaseTransport | None = None
        """The one transport the HTTP client sends through, when there is one (`_exchange`)."""
        self._requests: RequestBuilder | None = None
        self._api_root = f"{config.base_url.rstrip('/')}/{config.api_version}"
        """What a request path (`/interactions`) is relative to. The URL is joined here, not by httpx2's
        `base_url`: merging a relative URL there took about 90 µs of every request (and the request is
        built whole by `RequestBuilder`, not `build_request`: another 35 µs)."""

    @property
    def _http(self) -> httpx2.AsyncClient:
        """The HTTP client, made on first use: building its TLS context costs tens of milliseconds,
        which a stdio server should not spend before answering its first `tools/list`."""
        if self._client is None:
            headers = {"user-agent": USER_AGENT, "x-goog-api-client": USER_AGENT}
            if self.config.api_key is not None:
                headers["x-goog-api-key"] = self.config.api_key.get_secret_value()
            transport = self._transport
            if transport is None and not getproxies():  # behind a proxy, httpx2's own proxy transports
                from gemini_interactions_mcp.gemini import http11  # imports httpcore2

                transport = http11.Http11Transport()
            self._client = httpx2.AsyncClient(
                headers=headers,
                timeout=httpx2.Timeout(self.config.read_timeout, connect=self.config.connect_timeout),
                transport=transport,
            )
            self._direct = transport
        return self._client

    @property
    def _builder(self) -> RequestBuilder:
        """Builds each request with the HTTP client's own default headers and timeouts (made with it)."""
        if self._requests is None:
            client = self._http
            self._requests = RequestBuilder(client.headers, client.timeout)
        return self._requests

    def __repr__(self) -> str:
        return (
            f"InteractionsClient(base_url={self.config.base_url!r}, api_version={self.config.api_version!r})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # -- plumbing ------------------------------------------------------------------------------

    def _key(self) -> SecretStr | None:
        """The key this request goes out with: the caller's own, else the configured one."""
        own = self._call_key() if self._call_key is not None else None
        return own if own is not None else self.config.api_key

    async def _exchange(self, request: httpx2.Request) -> httpx2.Response:
        """`request`'s response, still open.

        Sent through the transport itself when the HTTP client has just the one (every case but a
        proxy's, where httpx2 picks a transport per URL): the client's own layers (auth and redirect
        flows, neither of which these requests use; cookies, which the Gemini API sets none of; timing)
        cost about 25 µs a request. What they do that matters is done here: the response knows its
        request, and so does a transport error.
        """
        http = self._http
        transport = self._direct
        if transport is None:
            return await http.send(request, stream=True)
        try:
            response = await transport.handle_async_request(request)
        except httpx2.RequestError as exc:
            exc.request = request
            raise
        response.request = request
        return response

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        stream: bool = False,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> httpx2.Response:
        """Send with bounded retries; return a successful response (still open if `stream`) or raise.

        Retries cover transport errors and the policy's statuses, only until response headers arrive;
        a stream failing later is resumed by InteractionStream instead. `path` may be an absolute URL
        (an upload session's); `retry=False` leaves recovery to the caller (an upload chunk is resumed
        from the offset the server reports, not blindly resent).
        """
        key = self._key()
        if key is None and self.config.is_google:
            raise errors.ConfigurationError(NO_KEY)
        policy = self.config.retry
        started = self._clock()
        sent_headers = {"accept": "text/event-stream" if stream else JSON_TYPE, **(headers or {})}
        if key is not None and key is not self.config.api_key:
            sent_headers["x-goog-api-key"] = key.get_secret_value()
        url = self._api_root + path if path.startswith("/") else path
        attempt = 0
        while True:
            attempt += 1
            request = self._builder.build(
                method, url, headers=sent_headers, params=params, json_body=json_body, content=content
            )
            failure: errors.GeminiError
            try:
                response = await self._exchange(request)
            except httpx2.TransportError as exc:
                self._observe("timeout" if isinstance(exc, httpx2.TimeoutException) else "connection_error")
                failure = _transport_failure(f"{method} {path}", exc)
                requested = None
            else:
                self._observe(str(response.status_code))
                if response.status_code < 400:
                    if not stream:
                        try:
                            await response.aread()
                        except httpx2.TransportError as exc:  # not resent: the request may have taken effect
                            raise _transport_failure(f"{method} {path}: reading the answer", exc) from None
                    return response
                failure = await self._failure(response, key)
                if response.status_code not in policy.retry_statuses or not isinstance(
                    failure, errors.APIError
                ):
                    raise failure
                requested = failure.retry_after
            delay = requested if requested is not None else policy.backoff(attempt - 1, self._random.random())
            remaining = policy.max_total_seconds - (self._clock() - started)
            if not retry or attempt >= policy.max_attempts or delay > remaining:
                raise failure
            log.info("retrying %s %s in %.2f s after %s", method, path, delay, type(failure).__name__)
            await self._sleep(delay)

    async def _failure(
        self, response: httpx2.Response, key: SecretStr | None
    ) -> errors.APIError | errors.ConfigurationError:
        try:
            body = await response.aread()
        except httpx2.TransportError:
            body = b""
        finally:
            await response.aclose()
        error = errors.api_error(
            response.status_code,
            response.headers,
            body,
            reason=response.reason_phrase,
            secret=key.get_secret_value() if key is not None else None,
        )
        if response.status_code == 401 and key is None:
            return errors.ConfigurationError(f"{NO_KEY} The API answered: {error.message}")
        return error

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        if not response.content.strip():
            return {}
        try:
            return response.json()
        except ValueError:
            raise errors.APIError(
                response.status_code, "the API answered with something that is not JSON"
            ) from None

    async def _resume(self, interaction_id: str, last_event_id: str | None) -> httpx2.Response:
        params = {"stream": "true"}
        if last_event_id is not None:
            params["last_event_id"] = last_event_id
        return await self._send(
            "GET", f"/interactions/{_segment(interaction_id)}", params=params, stream=True
        )

    def _body(self, body: CreateInteraction | Mapping[str, Any]) -> dict[str, Any]:
        """The wire body, with the configured service tier unless the body names one."""
        model = body if isinstance(body, CreateInteraction) else CreateInteraction.model_validate(dict(body))
        wire = model.wire()
        if self.config.service_tier is not None:
            wire.setdefault("service_tier", self.config.service_tier)
        return wire

    # -- interactions --------------------------------------------------------------------------

    async def create(self, body: CreateInteraction | Mapping[str, Any]) -> Interaction:
        """Create an interaction and return it: finished, or at once with `background: true`."""
        wire = self._body(body)
        wire.pop("stream", None)
        return Interaction.model_validate(await self._json("POST", "/interactions", json_body=wire))

    def stream_create(self, body: CreateInteraction | Mapping[str, Any]) -> InteractionStream:
        """Create with `stream: true`; resumable once `interaction.created` names it (unless store=false)."""
        wire = {**self._body(body), "stream": True}
        return InteractionStream(
            lambda: self._send("POST", "/interactions", json_body=wire, stream=True),
            self._resume,
            max_reconnects=self.config.max_stream_reconnects,
            resumable=wire.get("store") is not False,
        )

    async def get(self, interaction_id: str, *, include_input: bool = False) -> Interaction:
        params = {"stream": "false"}
        if include_input:
            params["include_input"] = "true"
        path = f"/interactions/{_segment(interaction_id)}"
        return Interaction.model_validate(await self._json("GET", path, params=params))

    def stream_get(self, interaction_id: str, *, last_event_id: str | None = None) -> InteractionStream:
        """Stream a stored interaction from the start, or from just after `last_event_id`."""
        return InteractionStream(
            lambda: self._resume(interaction_id, last_event_id),
            self._resume,
            max_reconnects=self.config.max_stream_reconnects,
            interaction_id=interaction_id,
            last_event_id=last_event_id,
        )

    async def cancel(self, interaction_id: str) -> Interaction:
        path = f"/interactions/{_segment(interaction_id)}/cancel"
        return Interaction.model_validate(await self._json("POST", path))

    async def delete(self, interaction_id: str) -> None:
        await self._json("DELETE", f"/interactions/{_segment(interaction_id)}")

    # -- agents --------------------------------------------------------------------------------

    async def create_agent(self, body: Agent | Mapping[str, Any]) -> Agent:
        agent = body if isinstance(body, Agent) else Agent.model_validate(dict(body))
        return Agent.model_validate(await self._json("POST", "/agents", json_body=agent.wire()))

    async def list_agents(self, *, page_size: int | None = None, page_token: str | None = None) -> AgentPage:
        params: dict[str, str] = {}
        if page_size is not None:
            params["page_size"] = str(page_size)
        if page_token:
            params["page_token"] = page_token
        return AgentPage.model_validate(await self._json("GET", "/agents", params=params))

    async def get_agent(self, agent_id: str) -> Agent:
        return Agent.model_validate(await self._json("GET", f"/agents/{_segment(agent_id)}"))

    async def delete_agent(self, agent_id: str) -> None:
        await self._json("DELETE", f"/agents/{_segment(agent_id)}")
