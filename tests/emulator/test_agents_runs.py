"""Deep Research and managed-agent runs: background progress, reports, planning, environments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

pytestmark = pytest.mark.anyio
Parse = Callable[[str], list[tuple[str, Any]]]
DR = "deep-research-preview-04-2026"
ANTIGRAVITY = "antigravity-preview-05-2026"


async def post(client: httpx2.AsyncClient, body: dict[str, Any]) -> httpx2.Response:
    return await client.post("/v1beta/interactions", json=body)


async def wait_done(client: httpx2.AsyncClient, iid: str) -> dict[str, Any]:
    for _ in range(100):
        data: dict[str, Any] = (await client.get(f"/v1beta/interactions/{iid}")).json()
        if data["status"] != "in_progress":
            return data
        await anyio.sleep(0.05)
    raise AssertionError("interaction never finished")


@pytest.mark.parametrize(
    "agent", [DR, "deep-research-max-preview-04-2026", "deep-research-pro-preview-12-2025"]
)
async def test_deep_research_requires_background(client: httpx2.AsyncClient, agent: str) -> None:
    response = await post(client, {"agent": agent, "input": "topic"})
    assert response.status_code == 400
    assert "requires 'background'" in response.json()["error"]["message"]


async def test_unknown_agents_are_404(client: httpx2.AsyncClient) -> None:
    for agent in ("deep-research-nonexistent", "no-such-agent"):
        response = await post(client, {"agent": agent, "input": "x", "background": True})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_deep_research_progress_then_cited_report(client: httpx2.AsyncClient) -> None:
    created = (await post(client, {"agent": DR, "input": "Solar sails", "background": True})).json()
    assert created["status"] == "in_progress" and created["agent"] == DR
    seen: list[int] = []
    data: dict[str, Any] = created
    while data["status"] == "in_progress":
        await anyio.sleep(0.05)
        data = (await client.get(f"/v1beta/interactions/{created['id']}")).json()
        seen.append(sum(1 for s in data["steps"] if s["type"] == "thought"))
    assert data["status"] == "completed"
    assert len(set(seen)) >= 3  # thought summaries appeared over time
    report = data["steps"][-1]["content"][0]
    assert report["text"].startswith("# Research report: Solar sails")
    assert "## Sources" in report["text"]
    encoded = report["text"].encode()
    assert len(report["annotations"]) == 3
    for note in report["annotations"]:
        assert note["type"] == "url_citation"
        assert encoded[note["start_index"] : note["end_index"]].decode().endswith(".")
    assert data["usage"]["total_tokens"] > 1000


async def test_collaborative_planning_plan_then_research(client: httpx2.AsyncClient) -> None:
    config = {"type": "deep-research", "collaborative_planning": True}
    body = {"agent": DR, "input": "Tidal power", "background": True, "agent_config": config}
    plan = await wait_done(client, (await post(client, body)).json()["id"])
    text = plan["steps"][-1]["content"][0]["text"]
    assert text.startswith("Here is my research plan for: Tidal power")
    assert "Research report" not in text
    follow = {**body, "input": "Looks good, go ahead.", "previous_interaction_id": plan["id"]}
    report = await wait_done(client, (await post(client, follow)).json()["id"])
    assert report["steps"][-1]["content"][0]["text"].startswith("# Research report: Tidal power")


async def test_deep_research_stream_with_background(client: httpx2.AsyncClient, sse: Parse) -> None:
    response = await post(client, {"agent": DR, "input": "Kelp", "background": True, "stream": True})
    events = sse(response.text)
    kinds = [d["step"]["type"] for n, d in events if n == "step.start"]
    assert kinds == ["thought"] * 4 + ["model_output"]
    assert events[-2][1]["interaction"]["status"] == "completed"


async def test_managed_agent_environment_and_reuse(client: httpx2.AsyncClient) -> None:
    missing = await post(client, {"agent": ANTIGRAVITY, "input": "x"})
    assert missing.status_code == 400 and "environment" in missing.json()["error"]["message"]
    first = (
        await post(client, {"agent": ANTIGRAVITY, "input": "Write notes", "environment": "remote"})
    ).json()
    env_id = first["environment_id"]
    assert env_id.startswith("env_") and first["status"] == "completed"
    kinds = [s["type"] for s in first["steps"]]
    assert kinds == ["thought", "code_execution_call", "code_execution_result", "model_output"]
    assert first["steps"][1]["arguments"]["language"] == "bash"
    body = {
        "agent": ANTIGRAVITY,
        "input": "More",
        "environment": env_id,
        "previous_interaction_id": first["id"],
    }
    second = (await post(client, body)).json()
    assert second["environment_id"] == env_id
    assert second["steps"][2]["result"] == "turn-1.txt\nturn-2.txt\n"
    assert "This is turn 2" in second["steps"][-1]["content"][0]["text"]
    object_form = {
        "agent": ANTIGRAVITY,
        "input": "x",
        "environment": {"type": "remote", "environment_id": env_id},
    }
    assert (await post(client, object_form)).json()["environment_id"] == env_id
    env = (await client.get(f"/v1beta/environments/{env_id}")).json()
    assert env["id"] == env_id and env["status"] == "active" and env["size_bytes"].isdigit()
    unknown = await post(client, {"agent": ANTIGRAVITY, "input": "x", "environment": "env_missing"})
    assert unknown.status_code == 404
    assert (await client.get("/v1beta/environments/env_missing")).status_code == 404


async def test_managed_agent_background_run(client: httpx2.AsyncClient) -> None:
    body = {
        "agent": ANTIGRAVITY,
        "input": "Build",
        "background": True,
        "environment": {"type": "remote", "sources": [{"type": "inline", "content": "hi", "target": "/w/a"}]},
    }
    created = (await post(client, body)).json()
    assert created["status"] == "in_progress" and created["environment_id"].startswith("env_")
    done = await wait_done(client, created["id"])
    assert done["status"] == "completed"
    env = (await client.get(f"/v1/environments/{created['environment_id']}")).json()
    assert env["sources"][0]["target"] == "/w/a"


async def test_custom_agent_runs_with_its_instruction(client: httpx2.AsyncClient) -> None:
    agent = {
        "id": "code-reviewer",
        "base_agent": ANTIGRAVITY,
        "system_instruction": "Review code",
        "base_environment": {"type": "remote", "sources": []},
    }
    assert (await client.post("/v1beta/agents", json=agent)).status_code == 200
    data = (await post(client, {"agent": "code-reviewer", "input": "Check main.py"})).json()
    assert data["agent"] == "code-reviewer" and data["environment_id"].startswith("env_")
    assert "Following your instruction: Review code" in data["steps"][-1]["content"][0]["text"]
    wrong = await post(
        client, {"agent": "code-reviewer", "input": "x", "agent_config": {"type": "deep-research"}}
    )
    assert wrong.status_code == 400


async def test_forked_agent_inherits_and_forks_its_base_environment(client: httpx2.AsyncClient) -> None:
    """`base_agent` may be a custom agent (a fork) and `base_environment` an existing environment:
    each run of the fork works in a fresh copy of that environment, with the parent's instruction."""
    seed = (await post(client, {"agent": ANTIGRAVITY, "input": "Seed", "environment": "remote"})).json()
    env_id = seed["environment_id"]
    more = {
        "agent": ANTIGRAVITY,
        "input": "More",
        "environment": env_id,
        "previous_interaction_id": seed["id"],
    }
    assert (await post(client, more)).status_code == 200
    parent = {"id": "reviewer", "base_agent": ANTIGRAVITY, "system_instruction": "Review code"}
    assert (await client.post("/v1beta/agents", json=parent)).status_code == 200
    fork = {"id": "strict-reviewer", "base_agent": "reviewer", "base_environment": env_id}
    created = await client.post("/v1beta/agents", json=fork)
    assert created.status_code == 200 and created.json()["base_agent"] == "reviewer"
    runs = [(await post(client, {"agent": "strict-reviewer", "input": f"Run {i}"})).json() for i in (1, 2)]
    for run in runs:
        assert run["status"] == "completed" and run["environment_id"] not in (None, env_id)
        assert "Following your instruction: Review code" in run["steps"][-1]["content"][0]["text"]
        assert "turn-2.txt" in run["steps"][2]["result"]  # the base's files, copied
    assert runs[0]["environment_id"] != runs[1]["environment_id"]
    seed_env = (await client.get(f"/v1beta/environments/{env_id}")).json()
    assert seed_env["file_count"] == 2


async def test_fork_refusals(client: httpx2.AsyncClient) -> None:
    missing_base = await client.post("/v1beta/agents", json={"id": "a", "base_agent": "nobody"})
    assert missing_base.status_code == 400 and "Unknown base_agent" in missing_base.json()["error"]["message"]
    for env in ("env_missing", {"type": "remote", "environment_id": "env_missing"}):
        body = {"id": "b", "base_agent": ANTIGRAVITY, "base_environment": env}
        response = await client.post("/v1beta/agents", json=body)
        assert response.status_code == 404 and "env_missing" in response.json()["error"]["message"]
