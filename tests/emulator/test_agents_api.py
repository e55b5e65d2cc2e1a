"""Agents CRUD (section 12): validation, duplicates, paging, int64-as-string fields."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

pytestmark = pytest.mark.anyio
BASE_AGENT = "antigravity-preview-09-2026"


async def make(client: httpx2.AsyncClient, agent_id: str, **extra: Any) -> httpx2.Response:
    return await client.post("/v1beta/agents", json={"id": agent_id, "base_agent": BASE_AGENT, **extra})


async def test_create_get_delete(client: httpx2.AsyncClient) -> None:
    created = await make(
        client,
        "code-reviewer",
        description="Reviews",
        tools=[{"type": "code_execution"}],
        agent_config={"type": "antigravity", "max_total_tokens": 1000},
    )
    assert created.status_code == 200
    agent = created.json()
    assert agent["id"] == "code-reviewer" and agent["base_agent"] == BASE_AGENT
    assert agent["agent_config"]["max_total_tokens"] == "1000"
    assert (await client.get("/v1beta/agents/code-reviewer")).json() == agent
    assert (await client.delete("/v1beta/agents/code-reviewer")).json() == {}
    assert (await client.get("/v1beta/agents/code-reviewer")).status_code == 404
    assert (await client.delete("/v1beta/agents/code-reviewer")).status_code == 404


async def test_int64_string_accepted(client: httpx2.AsyncClient) -> None:
    agent = (await make(client, "a1", agent_config={"type": "antigravity", "max_total_tokens": "42"})).json()
    assert agent["agent_config"]["max_total_tokens"] == "42"
    bad = await make(client, "a2", agent_config={"type": "antigravity", "max_total_tokens": "lots"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "agent_id", ["", "Upper", "1starts-with-digit", "under_score", "x" * 64, "has space"]
)
async def test_invalid_ids(client: httpx2.AsyncClient, agent_id: str) -> None:
    response = await make(client, agent_id)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


async def test_id_boundaries_and_other_rejections(client: httpx2.AsyncClient) -> None:
    assert (await make(client, "a" * 63)).status_code == 200
    assert (await make(client, "b")).status_code == 200
    unknown_base = await client.post("/v1beta/agents", json={"id": "c", "base_agent": "gpt-5"})
    assert (
        unknown_base.status_code == 400
        and "Unknown base_agent 'gpt-5'" in unknown_base.json()["error"]["message"]
    )
    duplicate = await make(client, "b")
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["error"]["message"]
    assert (await make(client, "deep-research-preview-04-2026")).status_code == 409
    assert (await make(client, "d", colour="red")).status_code == 400
    assert (await make(client, "e", agent_config={"type": "deep-research"})).status_code == 400


async def test_paging(client: httpx2.AsyncClient) -> None:
    for i in range(120):
        assert (await make(client, f"agent-{i:03d}")).status_code == 200
    first = (await client.get("/v1beta/agents")).json()
    assert len(first["agents"]) == 50 and first["next_page_token"]
    capped = (await client.get("/v1beta/agents", params={"page_size": 500})).json()
    assert len(capped["agents"]) == 100
    ids: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"page_size": 7}
        if token:
            params["page_token"] = token
        page = (await client.get("/v1beta/agents", params=params)).json()
        ids += [a["id"] for a in page["agents"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert ids == [f"agent-{i:03d}" for i in range(120)]
    assert (await client.get("/v1beta/agents", params={"page_token": "garbage!"})).status_code == 400
    assert (await client.get("/v1beta/agents", params={"page_size": "-1"})).status_code == 400


async def test_empty_list(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/v1/agents")).json() == {"agents": []}
