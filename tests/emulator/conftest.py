"""Fixtures for the emulator tests: an in-process app, a raw HTTP client over it, and an SSE parser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from gemini_interactions_mcp.emulator import Emulator, EmulatorConfig, create_app
from tests.helpers.servers import ServerThread

BASE = "http://emulator.test"


@pytest.fixture
def config() -> EmulatorConfig:
    """Short durations keep every test well under a second or two."""
    return EmulatorConfig(research_seconds=0.6, agent_seconds=0.3, model_seconds=0.0, step_delay=0.0)


@pytest.fixture
def app(config: EmulatorConfig) -> Starlette:
    return create_app(config)


@pytest.fixture
def emulator(app: Starlette) -> Emulator:
    emu: Emulator = app.state.emulator
    return emu


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as http:
        yield http


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """(event name, decoded data) pairs; `[DONE]` stays a string."""
    out: list[tuple[str, Any]] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        data = lines["data"]
        out.append((lines["event"], data if data == "[DONE]" else json.loads(data)))
    return out


@pytest.fixture
def sse() -> Callable[[str], list[tuple[str, Any]]]:
    return parse_sse


@pytest.fixture
def live_server(app: Starlette) -> Iterator[str]:
    """The same app served by real uvicorn on 127.0.0.1 (ephemeral port); yields its base URL."""
    with ServerThread(app, lifespan="off") as running:
        yield running.url
