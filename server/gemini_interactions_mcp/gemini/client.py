"""The async Interactions API client: requests with bounded retries, typed answers, resumable streams."""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import anyio
import httpx2
from pydantic import TypeAdapter, ValidationError

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.gemini import errors
from gemini_interactions_mcp.gemini.config import KEY_VARIABLES, ClientConfig
from gemini_interactions_mcp.gemini.models import (
    Agent,
    AgentPage,
    CreateInteraction,
    ErrorEvent,
    Interaction,
    InteractionCompletedEvent,
    InteractionCreatedEvent,
    InteractionEvent,
)
from gemini_interactions_mcp.gemini.sse import aiter_messages

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@functools.cache
def _event_adapter() -> TypeAdapter[InteractionEvent]:
    """Built on first use, not at import: start-up time is what an IDE user feels."""
    return TypeAdapter(InteractionEvent)


USER_AGENT = f"gemini-interactions-mcp/{__version__}"


def _retry_after(response: httpx2.Response) -> float | None:
    """The server's requested delay: `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000
            if value > 0:
                return value
        except ValueError:
            pass
    header = response.headers.get("retry-after")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(header) if header else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def api_error(response: httpx2.Response, body: bytes) -> errors.APIError:
    """Either error body shape (string code, or Google's numeric code + status), or plain text."""
    message, code, status = body.decode("utf-8", "replace").strip() or response.reason_phrase, None, None
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        message = str(error.get("message") or message)
        code = error.get("code")
        status = error.get("status")
    cls = errors.error_for_status(response.status_code)
    return cls(response.status_code, message, code=code, status=status, retry_after=_retry_after(response))


class InteractionStream:
    """One streamed interaction: iterate events; leaving the `async with` closes the connection at once.

    A stream that ends early (no `[DONE]` nor `interaction.completed`) or fails mid-way is resumed with
    `GET /interactions/{id}?stream=true&last_event_id=...` while the interaction is stored, up to
    `max_stream_reconnects` times without progress. Events are never repeated: resumption continues after
    the last event seen, and if the server gave no event ids the replayed prefix is skipped by count.
    An in-stream `error` event raises StreamError.
    """

    def __init__(
        self,
        client: InteractionsClient,
        first: Callable[[], Awaitable[httpx2.Response]],
        *,
        interaction_id: str | None = None,
        last_event_id: str | None = None,
        resumable: bool = True,
    ) -> None:
        self._client = client
        self._first = first
        self.interaction_id = interaction_id
        self.last_event_id = last_event_id
        self._resumable = resumable
        self._response: httpx2.Response | None = None
        self.reconnects = 0
        self._yielded = 0

    async def __aenter__(self) -> Self:
        self._response = await self._first()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._response is not None:
            response, self._response = self._response, None
            await response.aclose()

    def __aiter__(self) -> AsyncIterator[InteractionEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[InteractionEvent]:
        failures = 0
        while True:
            response = self._response
            if response is None:
                return
            finished = False
            skip = self._yielded if self.last_event_id is None and self.reconnects else 0
            progressed = False
            try:
                async for message in aiter_messages(response.aiter_lines()):
                    if message.is_done:
                        return
                    event = self._parse(message.data)
                    if event is None:
                        continue
                    if skip:
                        skip -= 1
                        continue
                    if event.event_id:
                        self.last_event_id = event.event_id
                    if isinstance(event, InteractionCreatedEvent) and event.interaction.id:
                        self.interaction_id = event.interaction.id
                    if isinstance(event, ErrorEvent):
                        raise errors.StreamError(
                            event.error.message or "the stream reported an error", code=event.error.code
                        )
                    self._yielded += 1
                    progressed = True
                    yield event
                    if isinstance(event, InteractionCompletedEvent):
                        finished = True
            except httpx2.TimeoutException as exc:
                reason: str = f"read timed out ({type(exc).__name__})"
            except httpx2.TransportError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            else:
                reason = "stream ended before the interaction finished"
            finally:
                await response.aclose()
            if finished:
                return
            failures = 0 if progressed else failures + 1
            if not self._resumable or self.interaction_id is None:
                raise errors.StreamError(f"Stream interrupted: {reason}; it cannot be resumed.")
            if failures > self._client.config.max_stream_reconnects:
                raise errors.StreamError(
                    f"Stream interrupted: {reason}; gave up after {failures - 1} reconnects."
                )
            self.reconnects += 1
            log.info("resuming stream of %s after %s", self.interaction_id, self.last_event_id)
            self._response = await self._client._open_stream(
                "GET", f"/interactions/{self.interaction_id}", params=self._resume_params()
            )

    def _resume_params(self) -> dict[str, str]:
        params = {"stream": "true"}
        if self.last_event_id is not None:
            params["last_event_id"] = self.last_event_id
        return params

    @staticmethod
    def _parse(data: str) -> InteractionEvent | None:
        try:
            return _event_adapter().validate_json(data)
        except ValidationError:
            log.warning("skipping an unparseable stream event")
            return None


class InteractionsClient:
    """Async client for `/{version}/interactions` and `/{version}/agents` on httpx2."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Sleep = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._clock = clock
        self._random = random.Random()
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None

    @property
    def _http(self) -> httpx2.AsyncClient:
        """The HTTP client, made on first use: building its TLS context costs tens of milliseconds,
        which a stdio server should not spend before answering its first `tools/list`."""
        if self._client is None:
            headers = {"user-agent": USER_AGENT, "x-goog-api-client": USER_AGENT}
            if self.config.api_key is not None:
                headers["x-goog-api-key"] = self.config.api_key.get_secret_value()
            self._client = httpx2.AsyncClient(
                base_url=f"{self.config.base_url.rstrip('/')}/{self.config.api_version}",
                headers=headers,
                timeout=httpx2.Timeout(self.config.read_timeout, connect=self.config.connect_timeout),
                transport=self._transport,
            )
        return self._client

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
            await self._client.aclose()

    # -- plumbing ------------------------------------------------------------------------------

    def _check_key(self) -> None:
        if self.config.api_key is None and self.config.is_google:
            raise errors.ConfigurationError(
                f"No Gemini API key: set {' or '.join(KEY_VARIABLES)} "
                "(or GEMINI_BASE_URL for another endpoint)."
            )

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx2.Response:
        """Send with bounded retries; returns a successful response (open if `stream`) or raises."""
        self._check_key()
        policy = self.config.retry
        started = self._clock()
        headers = {"accept": "text/event-stream" if stream else "application/json"}
        for attempt in range(policy.max_attempts):
            last = attempt == policy.max_attempts - 1
            request = self._http.build_request(method, path, json=json_body, params=params, headers=headers)
            try:
                response = await self._http.send(request, stream=True)
            except httpx2.TransportError as exc:
                failure: errors.GeminiError = (
                    errors.UpstreamTimeoutError(f"{method} {path}: timed out ({type(exc).__name__})")
                    if isinstance(exc, httpx2.TimeoutException)
                    else errors.TransportError(f"{method} {path}: {type(exc).__name__}")
                )
                delay = policy.backoff(attempt, self._random.random())
            else:
                if response.status_code < 400:
                    if not stream:
                        await response.aread()
                    return response
                body = await response.aread()
                await response.aclose()
                failure = api_error(response, body)
                assert isinstance(failure, errors.APIError)
                if response.status_code not in policy.retry_statuses:
                    raise failure
                delay = (
                    failure.retry_after
                    if failure.retry_after is not None
                    else policy.backoff(attempt, self._random.random())
                )
            remaining = policy.max_total_seconds - (self._clock() - started)
            if last or delay > remaining:
                raise failure
            log.info("retrying %s %s in %.2f s (%s)", method, path, delay, type(failure).__name__)
            await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise errors.APIError(
                response.status_code, "the API answered with something that is not JSON"
            ) from None

    async def _open_stream(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        return await self._send(method, path, stream=True, **kwargs)

    @staticmethod
    def _body(body: CreateInteraction | Mapping[str, Any]) -> dict[str, Any]:
        model = body if isinstance(body, CreateInteraction) else CreateInteraction.model_validate(dict(body))
        return model.wire()

    # -- interactions --------------------------------------------------------------------------

    async def create(self, body: CreateInteraction | Mapping[str, Any]) -> Interaction:
        """Create an interaction and return it (unary; with `background` it returns at once)."""
        wire = self._body(body)
        wire.pop("stream", None)
        return Interaction.model_validate(await self._json("POST", "/interactions", json_body=wire))

    def stream_create(self, body: CreateInteraction | Mapping[str, Any]) -> InteractionStream:
        wire = {**self._body(body), "stream": True}
        return InteractionStream(
            self,
            lambda: self._open_stream("POST", "/interactions", json_body=wire),
            resumable=wire.get("store", True) is not False,
        )

    async def get(self, interaction_id: str, *, include_input: bool = False) -> Interaction:
        params = {"stream": "false"}
        if include_input:
            params["include_input"] = "true"
        return Interaction.model_validate(
            await self._json("GET", f"/interactions/{interaction_id}", params=params)
        )

    def stream_get(self, interaction_id: str, *, last_event_id: str | None = None) -> InteractionStream:
        params = {"stream": "true"}
        if last_event_id is not None:
            params["last_event_id"] = last_event_id
        return InteractionStream(
            self,
            lambda: self._open_stream("GET", f"/interactions/{interaction_id}", params=params),
            interaction_id=interaction_id,
            last_event_id=last_event_id,
        )

    async def cancel(self, interaction_id: str) -> Interaction:
        return Interaction.model_validate(await self._json("POST", f"/interactions/{interaction_id}/cancel"))

    async def delete(self, interaction_id: str) -> None:
        await self._json("DELETE", f"/interactions/{interaction_id}")

    # -- agents --------------------------------------------------------------------------------

    async def create_agent(self, body: Agent | Mapping[str, Any]) -> Agent:
        wire = body.wire() if isinstance(body, Agent) else Agent.model_validate(dict(body)).wire()
        return Agent.model_validate(await self._json("POST", "/agents", json_body=wire))

    async def list_agents(self, *, page_size: int | None = None, page_token: str | None = None) -> AgentPage:
        params: dict[str, str] = {}
        if page_size is not None:
            params["page_size"] = str(page_size)
        if page_token:
            params["page_token"] = page_token
        return AgentPage.model_validate(await self._json("GET", "/agents", params=params))

    async def get_agent(self, agent_id: str) -> Agent:
        return Agent.model_validate(await self._json("GET", f"/agents/{agent_id}"))

    async def delete_agent(self, agent_id: str) -> None:
        await self._json("DELETE", f"/agents/{agent_id}")
