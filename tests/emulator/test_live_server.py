"""Over real uvicorn: a background run streams as simulated time passes, and a dropped stream resumes."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import pytest

from gemini_interactions_mcp.emulator import Emulator

pytestmark = pytest.mark.anyio


async def read_events(client: httpx2.AsyncClient, url: str, **params: str) -> list[tuple[float, str, Any]]:
    """(arrival time, event name, data) for each SSE event, read incrementally off the socket."""
    out: list[tuple[float, str, Any]] = []
    name = ""
    async with client.stream("GET", url, params={"stream": "true", **params}) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
                out.append((anyio.current_time(), name, data if data == "[DONE]" else json.loads(data)))
    return out


async def test_background_research_streams_live(live_server: str, emulator: Emulator) -> None:
    emulator.configure(research_seconds=1.0)
    async with httpx2.AsyncClient(base_url=live_server, timeout=10) as client:
        body = {"agent": "deep-research-preview-04-2026", "input": "Comets", "background": True}
        created = (await client.post("/v1beta/interactions", json=body)).json()
        assert created["status"] == "in_progress"
        started = anyio.current_time()
        events = await read_events(client, f"/v1beta/interactions/{created['id']}")
    stops = [t - started for t, name, _ in events if name == "step.stop"]
    assert len(stops) == 5
    assert stops[0] < 0.5 and stops[-1] > 0.8  # arrived as time passed, not all at once
    assert stops == sorted(stops)
    assert events[-2][1] == "interaction.completed" and events[-1][2] == "[DONE]"


async def test_dropped_stream_resumes_without_loss(live_server: str, emulator: Emulator) -> None:
    emulator.configure(research_seconds=0.6)
    emulator.add_fault({"kind": "drop_stream", "after_events": 4, "method": "GET"})
    async with httpx2.AsyncClient(base_url=live_server, timeout=10) as client:
        body = {"agent": "deep-research-preview-04-2026", "input": "Rivers", "background": True}
        iid = (await client.post("/v1beta/interactions", json=body)).json()["id"]
        url = f"/v1beta/interactions/{iid}"
        first = await read_events(client, url)
        assert len(first) == 4 and all(data != "[DONE]" for _, _, data in first)
        rest = await read_events(client, url, last_event_id=first[-1][2]["event_id"])
        assert rest[-1][2] == "[DONE]"
        replay = await read_events(client, url)
    ids = [data["event_id"] for _, _, data in first + rest[:-1]]
    assert ids == [data["event_id"] for _, _, data in replay[:-1]]
    assert len(set(ids)) == len(ids)
