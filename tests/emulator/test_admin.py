"""`/_emulator` hooks and their Python twins: faults, request log, reset, config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

from gemini_interactions_mcp.emulator import Emulator, EmulatorConfig, create_app

from .conftest import BASE

pytestmark = pytest.mark.anyio
BODY = {"model": "gemini-3.5-flash", "input": "hi"}
Parse = Callable[[str], list[tuple[str, Any]]]


async def test_error_fault_with_retry_headers_then_recovers(client: httpx2.AsyncClient) -> None:
    fault = {
        "kind": "error",
        "status": 429,
        "count": 2,
        "retry_after": 1,
        "retry_after_ms": 5,
        "method": "POST",
    }
    assert (await client.post("/_emulator/faults", json=fault)).status_code == 200
    assert (await client.get("/v1beta/agents")).status_code == 200  # method does not match
    for _ in range(2):
        response = await client.post("/v1beta/interactions", json=BODY)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1" and response.headers["retry-after-ms"] == "5"
        assert response.json()["error"]["code"] == "too_many_requests"
    assert (await client.post("/v1beta/interactions", json=BODY)).status_code == 200
    assert (await client.get("/_emulator/faults")).json() == {"faults": []}


async def test_fault_path_filter_and_5xx(client: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.add_fault({"kind": "error", "status": 503, "path": "/agents"})
    assert (await client.post("/v1beta/interactions", json=BODY)).status_code == 200
    response = await client.get("/v1beta/agents")
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"
    assert emulator.pending_faults() == []


async def test_latency_fault(client: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.add_fault({"kind": "latency", "seconds": 0.3})
    started = anyio.current_time()
    assert (await client.post("/v1beta/interactions", json=BODY)).status_code == 200
    assert anyio.current_time() - started >= 0.25


async def test_drop_stream_fault_cuts_without_done(client: httpx2.AsyncClient, sse: Parse) -> None:
    await client.post("/_emulator/faults", json={"kind": "drop_stream", "after_events": 3})
    response = await client.post("/v1beta/interactions", json={**BODY, "stream": True, "background": True})
    events = sse(response.text)
    assert len(events) == 3 and all(name != "done" for name, _ in events)
    iid = events[0][1]["interaction"]["id"]
    resumed = await client.get(
        f"/v1beta/interactions/{iid}", params={"stream": "true", "last_event_id": events[-1][1]["event_id"]}
    )
    rest = sse(resumed.text)
    assert rest[-1] == ("done", "[DONE]")
    full = sse((await client.get(f"/v1beta/interactions/{iid}", params={"stream": "true"})).text)
    assert events + rest == full


async def test_invalid_faults_rejected(client: httpx2.AsyncClient) -> None:
    for body in ({"kind": "error"}, {"kind": "boom"}, {"kind": "error", "status": 200}, [1]):
        response = await client.post("/_emulator/faults", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "invalid_request"


async def test_request_log_redacts_key_and_clears() -> None:
    app = create_app(EmulatorConfig(api_key="top-secret-key"))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as client:
        headers = {"x-goog-api-key": "top-secret-key"}
        await client.post("/v1beta/interactions", json=BODY, headers=headers)
        await client.get("/v1/interactions/v1_x", params={"stream": "false"}, headers=headers)
        log = (await client.get("/_emulator/requests")).json()
        assert log == {
            "requests": [
                {"method": "POST", "path": "/v1beta/interactions", "query": {}, "body": BODY},
                {
                    "method": "GET",
                    "path": "/v1/interactions/v1_x",
                    "query": {"stream": "false"},
                    "body": None,
                },
            ]
        }
        assert "top-secret-key" not in str(log)
        assert (await client.delete("/_emulator/requests")).json() == {}
        assert app.state.emulator.requests() == []


async def test_reset_clears_everything(client: httpx2.AsyncClient, emulator: Emulator) -> None:
    iid = (await client.post("/v1beta/interactions", json=BODY)).json()["id"]
    emulator.add_fault({"kind": "latency", "seconds": 5, "path": "/never"})
    assert (await client.post("/_emulator/reset")).json() == {}
    assert emulator.pending_faults() == [] and emulator.requests() == []
    assert (await client.get(f"/v1beta/interactions/{iid}")).status_code == 404


async def test_config_endpoint(client: httpx2.AsyncClient, emulator: Emulator) -> None:
    response = await client.post("/_emulator/config", json={"research_seconds": 0.1, "api_key": "k"})
    assert response.status_code == 200
    body = response.json()
    assert body["research_seconds"] == 0.1 and body["api_key_set"] is True and "api_key" not in body
    assert emulator.config.research_seconds == 0.1
    assert (await client.post("/v1beta/interactions", json=BODY)).status_code == 401
    assert (await client.post("/_emulator/config", json={"research_seconds": -1})).status_code == 400
    assert (await client.post("/_emulator/config", json={"nope": 1})).status_code == 400
    emulator.configure(api_key=None)
    assert (await client.post("/v1beta/interactions", json=BODY)).status_code == 200
