"""Fixtures for the Gemini client tests: mock transports, a recording sleep, the in-process emulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient, RetryPolicy

SECRET = "AIzaSy-TEST-SECRET-KEY-1234567890"
BASE = "http://api.test"


@dataclass
class Clock:
    """A fake monotonic clock advanced only by the fake sleep, so retry tests take no real time."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy in the environment: the client then makes its own transport (behind one, httpx2's)."""
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def config(**overrides: Any) -> ClientConfig:
    values: dict[str, Any] = {
        "api_key": SECRET,
        "base_url": BASE,
        "retry": RetryPolicy(jitter=0.0),
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
    }
    values.update(overrides)
    return ClientConfig.model_validate(values)


Handler = Callable[[httpx2.Request], httpx2.Response]


def mock_client(handler: Handler, clock: Clock, **overrides: Any) -> InteractionsClient:
    return InteractionsClient(
        config(**overrides), transport=httpx2.MockTransport(handler), sleep=clock.sleep, clock=clock
    )


def sse_body(events: Iterable[dict[str, Any]], *, done: bool = True) -> bytes:
    frames = [f"event: {e.get('event_type', 'x')}\ndata: {json.dumps(e)}\n\n" for e in events]
    if done:
        frames.append("event: done\ndata: [DONE]\n\n")
    return "".join(frames).encode()


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, json=body, headers=headers)


def run_events(interaction_id: str = "v1_abc", *, text: str = "Hello there") -> list[dict[str, Any]]:
    """A small, complete event sequence with event ids, as the API streams a model answer."""
    events: list[dict[str, Any]] = [
        {"event_type": "interaction.created", "interaction": {"id": interaction_id, "status": "in_progress"}},
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
    ]
    events += [
        {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": word}}
        for word in text.split(" ")
    ]
    events += [
        {"event_type": "step.stop", "index": 0},
        {
            "event_type": "interaction.completed",
            "interaction": {"id": interaction_id, "status": "completed", "usage": {"total_tokens": 5}},
        },
    ]
    return [{**event, "event_id": f"e{i}"} for i, event in enumerate(events)]


# -- the in-process emulator ----------------------------------------------------------------


@dataclass
class Emu:
    """The emulator app plus an admin client over the same in-process transport."""

    transport: httpx2.ASGITransport
    admin: httpx2.AsyncClient

    async def fault(self, **body: Any) -> None:
        response = await self.admin.post("/_emulator/faults", json=body)
        assert response.status_code == 200, response.text

    async def requests(self) -> list[dict[str, Any]]:
        response = await self.admin.get("/_emulator/requests")
        entries: list[dict[str, Any]] = response.json()["requests"]
        return entries

    async def clear_requests(self) -> None:
        await self.admin.delete("/_emulator/requests")


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(research_seconds=0.6, agent_seconds=0.3, model_seconds=0.0, step_delay=0.0)


@pytest.fixture
async def emu(emulator_config: EmulatorConfig) -> AsyncIterator[Emu]:
    transport = httpx2.ASGITransport(app=create_app(emulator_config))
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator.test") as admin:
        yield Emu(transport, admin)


@pytest.fixture
async def client(emu: Emu, clock: Clock) -> AsyncIterator[InteractionsClient]:
    async with InteractionsClient(
        config(base_url="http://emulator.test", api_key=None, read_timeout=10.0),
        transport=emu.transport,
        sleep=clock.sleep,
        clock=clock,
    ) as gemini:
        yield gemini
