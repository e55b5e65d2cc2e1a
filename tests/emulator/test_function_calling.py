"""The model drives function calling on demand: `[[call NAME {json}]]` directives, parallel calls,
results quoted back, calls to undeclared tools, and remote MCP servers run inside the interaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

pytestmark = pytest.mark.anyio
MODEL = "gemini-3.5-flash"
Parse = Callable[[str], list[tuple[str, Any]]]


def function(name: str) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "description": f"{name} things",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    }


TOOLS = [function("repo__read_file"), function("tickets__list")]
DEPLOYS = {
    "type": "mcp_server",
    "name": "deploy_tracker",
    "url": "https://mcp.example.com/mcp",
    "headers": {"Authorization": "Bearer never-shown"},
    "allowed_tools": [{"mode": "auto", "tools": ["status", "history"]}],
}


async def create(client: httpx2.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("model", MODEL)
    response = await client.post("/v1beta/interactions", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def answer(interaction: dict[str, Any]) -> str:
    return str(interaction["steps"][-1]["content"][0]["text"])


async def test_directives_make_parallel_calls_and_the_answer_quotes_each_result(
    client: httpx2.AsyncClient,
) -> None:
    prompt = 'Look [[call repo__read_file {"path": "README.md", "lines": [1, 9]}]] and [[call tickets__list]]'
    asked = await create(client, input=prompt, tools=TOOLS)
    assert asked["status"] == "requires_action"
    kinds = [s["type"] for s in asked["steps"]]
    assert kinds == ["thought", "function_call", "function_call"]
    read, listed = asked["steps"][1:]
    assert (read["name"], read["arguments"]) == ("repo__read_file", {"path": "README.md", "lines": [1, 9]})
    assert (listed["name"], listed["arguments"]) == ("tickets__list", {})
    assert read["id"] != listed["id"]
    results = [
        {"type": "function_result", "call_id": read["id"], "name": read["name"], "result": "# Title"},
        {"type": "function_result", "call_id": listed["id"], "name": listed["name"], "result": {"open": 3}},
    ]
    done = await create(client, previous_interaction_id=asked["id"], tools=TOOLS, input=results)
    assert done["status"] == "completed"
    text = answer(done)
    assert "repo__read_file returned: # Title" in text
    assert 'tickets__list returned: {"open": 3}' in text


async def test_the_name_in_the_prompt_still_calls_a_function(client: httpx2.AsyncClient) -> None:
    asked = await create(client, input="use tickets__list please", tools=TOOLS)
    assert asked["status"] == "requires_action"
    assert asked["steps"][-1]["arguments"] == {"path": "example path"}


async def test_calling_an_undeclared_tool_fails_the_turn(client: httpx2.AsyncClient) -> None:
    failed = await create(client, input="[[call rm_rf {}]]", tools=TOOLS)
    assert failed["status"] == "failed"
    error = failed["steps"][-1]["error"]
    assert "'rm_rf'" in error["message"] and "not a declared tool" in error["message"]
    assert (await create(client, input="[[call tickets__list]]"))["status"] == "failed"  # no tools at all


@pytest.mark.parametrize(
    "prompt",
    ["[[call tickets__list {not json}]]", '[[call tickets__list ["a"]]]', "[[call tickets__list {} "],
)
async def test_a_malformed_directive_is_a_clear_400(client: httpx2.AsyncClient, prompt: str) -> None:
    response = await client.post(
        "/v1beta/interactions", json={"model": MODEL, "input": prompt, "tools": TOOLS}
    )
    assert response.status_code == 400
    assert "[[call tickets__list" in response.json()["error"]["message"]


async def test_an_mcp_server_tool_runs_inside_the_interaction(client: httpx2.AsyncClient) -> None:
    done = await create(
        client,
        input='Check [[call status {"service": "api"}]] then [[call deploy_tracker.history]]',
        tools=[DEPLOYS],
    )
    assert done["status"] == "completed"
    kinds = [s["type"] for s in done["steps"]]
    assert kinds == ["thought", *["mcp_server_tool_call", "mcp_server_tool_result"] * 2, "model_output"]
    call, result = done["steps"][1:3]
    assert call["name"] == "status" and call["server_name"] == "deploy_tracker"
    assert call["arguments"] == {"service": "api"} and result["call_id"] == call["id"]
    assert result["name"] == "status" and result["server_name"] == "deploy_tracker"
    assert result["result"][0]["type"] == "text"
    text = answer(done)
    assert "The MCP tool deploy_tracker.status returned:" in text
    assert "The MCP tool deploy_tracker.history returned:" in text
    assert 'You said: "Check then"' in text  # the directives are not part of what was said
    assert "never-shown" not in json.dumps(done)


async def test_mcp_and_function_calls_in_one_turn(client: httpx2.AsyncClient) -> None:
    asked = await create(client, input="[[call status]] [[call tickets__list]]", tools=[DEPLOYS, *TOOLS])
    assert asked["status"] == "requires_action"
    kinds = [s["type"] for s in asked["steps"]]
    assert kinds == ["thought", "mcp_server_tool_call", "mcp_server_tool_result", "function_call"]


async def test_an_mcp_tool_outside_allowed_tools_is_undeclared(client: httpx2.AsyncClient) -> None:
    failed = await create(client, input="[[call deploy_tracker.rollback]]", tools=[DEPLOYS])
    assert failed["status"] == "failed"
    assert "'deploy_tracker.rollback'" in failed["steps"][-1]["error"]["message"]


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ({**DEPLOYS, "name": "deploy-tracker"}, "without '-'"),
        ({k: v for k, v in DEPLOYS.items() if k != "url"}, "'url' must be"),
    ],
)
async def test_mcp_server_declarations_are_checked(
    client: httpx2.AsyncClient, tool: dict[str, Any], message: str
) -> None:
    response = await client.post("/v1beta/interactions", json={"model": MODEL, "input": "x", "tools": [tool]})
    assert response.status_code == 400 and message in response.json()["error"]["message"]


async def test_calls_stream_as_the_service_streams_them(client: httpx2.AsyncClient, sse: Parse) -> None:
    body = {"model": MODEL, "input": "[[call status]] [[call tickets__list]]", "tools": [DEPLOYS, *TOOLS]}
    response = await client.post("/v1beta/interactions", json={**body, "stream": True})
    events = sse(response.text)
    starts = [data["step"] for name, data in events if name == "step.start"]
    assert starts[1] == {
        "type": "mcp_server_tool_call",
        "id": starts[1]["id"],
        "name": "status",
        "server_name": "deploy_tracker",
        "arguments": {},
    }
    assert starts[2]["type"] == "mcp_server_tool_result" and starts[2]["call_id"] == starts[1]["id"]
    assert starts[3]["type"] == "function_call" and starts[3]["arguments"] == {}
    deltas = {data["delta"]["type"]: data["delta"] for name, data in events if name == "step.delta"}
    assert deltas["mcp_server_tool_call"] == {
        "type": "mcp_server_tool_call",
        "name": "status",
        "server_name": "deploy_tracker",
        "arguments": {},
    }
    assert deltas["mcp_server_tool_result"]["result"][0]["text"].startswith("status on deploy_tracker")
    assert events[-2][1]["interaction"]["status"] == "requires_action"
