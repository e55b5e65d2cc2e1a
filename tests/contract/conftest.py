"""Fixtures for the contract tests: the emulator served by real uvicorn, and the official SDK pointed at it.

Each test module gets its own emulator (module scope) running in a background thread, so the SDK's
sync and async clients talk to it over real HTTP exactly as they would to the upstream service.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import types
from starlette.applications import Starlette

from gemini_interactions_mcp.emulator import Emulator, EmulatorConfig, create_app
from tests.helpers.servers import ServerThread

FAST = EmulatorConfig(research_seconds=0.5, agent_seconds=0.2, model_seconds=0.0, step_delay=0.0)


@dataclass
class Served:
    """A running emulator: its base URL, the app, and a raw HTTP client for admin and raw reads."""

    base_url: str
    app: Starlette
    http: httpx2.Client

    @property
    def emulator(self) -> Emulator:
        emu: Emulator = self.app.state.emulator
        return emu

    def add_fault(self, fault: dict[str, Any]) -> None:
        """Queue a fault through the admin endpoint (thread-safe: it runs on the server's loop)."""
        response = self.http.post("/_emulator/faults", json=fault)
        assert response.status_code == 200, response.text

    def requests(self) -> list[dict[str, Any]]:
        """The emulator's request log (method, path, query, body), oldest first."""
        body: dict[str, Any] = self.http.get("/_emulator/requests").json()
        entries: list[dict[str, Any]] = body["requests"]
        return entries

    def reset(self) -> None:
        assert self.http.post("/_emulator/reset").status_code == 200

    def raw_get(self, interaction_id: str, version: str = "v1beta", **params: str) -> dict[str, Any]:
        """The interaction exactly as the emulator serves it (no SDK involved)."""
        response = self.http.get(f"/{version}/interactions/{interaction_id}", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def client(self, version: str = "v1beta", api_key: str = "test-key", **options: Any) -> genai.Client:
        """An official SDK client pointed at this emulator."""
        http_options = types.HttpOptions(base_url=self.base_url, api_version=version, **options)
        return genai.Client(api_key=api_key, http_options=http_options)


def serve(config: EmulatorConfig, admin_headers: dict[str, str] | None = None) -> Iterator[Served]:
    """Run the emulator under uvicorn on a free 127.0.0.1 port in a daemon thread until the generator ends."""
    app = create_app(config)
    with (
        ServerThread(app, lifespan="off") as running,
        httpx2.Client(base_url=running.url, timeout=10, headers=admin_headers or {}) as http,
    ):
        yield Served(running.url, app, http)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One emulator per test module (short research/agent durations)."""
    yield from serve(FAST.model_copy())


@pytest.fixture(autouse=True)
def _fresh_state(request: pytest.FixtureRequest) -> None:
    """Every test starts with no stored interactions/agents, no faults and an empty request log."""
    if "served" in request.fixturenames:
        served: Served = request.getfixturevalue("served")
        served.reset()


@pytest.fixture
def sdk(served: Served) -> genai.Client:
    """The official SDK (API version v1beta, like the docs' samples)."""
    return served.client("v1beta")


@pytest.fixture(autouse=True)
def _quiet_experimental() -> Iterator[None]:
    """`client.agents` warns that it is experimental; that is the SDK's business, not ours."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Agents usage is experimental", category=UserWarning)
        warnings.filterwarnings("ignore", message="Environments usage is experimental", category=UserWarning)
        yield
