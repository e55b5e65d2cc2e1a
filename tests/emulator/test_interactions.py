"""Core interaction lifecycle: create, get, chains, store, delete, validation errors, auth."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest

from gemini_interactions_mcp.emulator import Emulator, EmulatorConfig, create_app

from .conftest import BASE

pytestmark = pytest.mark.anyio
MODEL = "gemini-3.5-flash"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def create(client: httpx2.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("model", MODEL)
    response = await client.post("/v1beta/interactions", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def answer(interaction: dict[str, Any]) -> str:
    outputs = [s for s in interaction["steps"] if s["type"] == "model_output"]
    return str(outputs[-1]["content"][0]["text"])


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
async def test_create_returns_output_steps_and_resource_fields(
    client: httpx2.AsyncClient, version: str
) -> None:
    response = await client.post(f"/{version}/interactions", json={"model": MODEL, "input": "Hello"})
    data = response.json()
    assert response.status_code == 200
    assert re.fullmatch(r"v1_[A-Za-z0-9_-]{20,}", data["id"])
    assert data["object"] == "interaction"
    assert data["status"] == "completed"
    assert data["model"] == MODEL
    assert TIMESTAMP.match(data["created"]) and TIMESTAMP.match(data["updated"])
    assert [s["type"] for s in data["steps"]] == ["thought", "model_output"]
    assert data["steps"][0]["signature"] and "summary" not in data["steps"][0]
    usage = data["usage"]
    assert usage["total_input_tokens"] > 0 and usage["total_output_tokens"] > 0
    parts = ("total_input_tokens", "total_output_tokens", "total_thought_tokens", "total_tool_use_tokens")
    assert usage["total_tokens"] == sum(usage[k] for k in parts)


async def test_get_returns_full_timeline_and_optional_input(client: httpx2.AsyncClient) -> None:
    created = await create(client, input="Hello there")
    got = (await client.get(f"/v1beta/interactions/{created['id']}", params={"stream": "false"})).json()
    assert [s["type"] for s in got["steps"]] == ["user_input", "thought", "model_output"]
    assert got["steps"][0]["content"] == [{"type": "text", "text": "Hello there"}]
    assert "input" not in got
    for param in ("include_input", "includeInput"):
        with_input = (await client.get(f"/v1/interactions/{created['id']}", params={param: "true"})).json()
        assert with_input["input"] == "Hello there"


async def test_create_responses_echo_settings_as_the_service_does(client: httpx2.AsyncClient) -> None:
    """A create response never echoes tools, response_format or previous_interaction_id (recorded real
    traffic); the other settings are echoed, and a GET of the stored resource shows them all."""
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
    response_format = {"type": "text", "mime_type": "application/json", "schema": {"type": "object"}}
    first = await create(client, input="hi")
    settings: dict[str, Any] = {
        "system_instruction": "Be terse",
        "tools": tools,
        "generation_config": {"thinking_level": "low"},
        "labels": {"team": "a"},
        "service_tier": "flex",
        "response_format": response_format,
        "previous_interaction_id": first["id"],
    }
    for background in (False, True):
        data = await create(client, input="hi", background=background, **settings)
        for hidden in ("tools", "response_format", "previous_interaction_id"):
            assert hidden not in data
        assert data["system_instruction"] == "Be terse"
        assert data["generation_config"] == {"thinking_level": "low"}
        assert data["labels"] == {"team": "a"}
        assert data["service_tier"] == "flex"
        assert "stream" not in data and "store" not in data and "background" not in data
    stored = (await client.get(f"/v1beta/interactions/{data['id']}")).json()
    assert stored["tools"] == tools and stored["previous_interaction_id"] == first["id"]


async def test_chain_counts_turns_remembers_facts_and_instruction(client: httpx2.AsyncClient) -> None:
    first = await create(
        client, input="Hi, my name is Ada and my favourite colour is teal.", system_instruction="Rhyme"
    )
    assert "This is turn 1 of our conversation." in answer(first)
    assert "Following your instruction: Rhyme" in answer(first)
    second = await create(client, input="What is my name?", previous_interaction_id=first["id"])
    assert "This is turn 2 of our conversation." in answer(second)
    assert "Your name is Ada." in answer(second)
    assert "Following your instruction" not in answer(second)  # interaction-scoped, not re-sent
    third = await create(
        client, input="what is my favourite colour? what is my age?", previous_interaction_id=second["id"]
    )
    text = answer(third)
    assert "This is turn 3" in text
    assert "Your favourite colour is teal." in text
    assert "I don't know your age yet." in text
    assert text.splitlines()[0] == f"[{MODEL}] Emulated answer."


async def test_input_forms(client: httpx2.AsyncClient) -> None:
    single = await create(client, input={"type": "text", "text": "single block"})
    assert 'You said: "single block"' in answer(single)
    blocks = await create(
        client, input=[{"type": "text", "text": "a"}, {"type": "image", "uri": "https://x/y.png"}]
    )
    assert 'You said: "a"' in answer(blocks)
    history = [
        {"type": "user_input", "content": [{"type": "text", "text": "my city is Oslo"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "ok"}]},
        {"type": "user_input", "content": [{"type": "text", "text": "what is my city?"}]},
    ]
    stateless = await create(client, input=history, store=False)
    assert "Your city is Oslo." in answer(stateless)


async def test_delete_then_404(client: httpx2.AsyncClient) -> None:
    created = await create(client, input="bye")
    deleted = await client.delete(f"/v1beta/interactions/{created['id']}")
    assert deleted.status_code == 200 and deleted.json() == {}
    for response in (
        await client.get(f"/v1beta/interactions/{created['id']}"),
        await client.delete(f"/v1beta/interactions/{created['id']}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_store_false_has_no_id_and_is_not_retrievable(
    client: httpx2.AsyncClient, emulator: Emulator
) -> None:
    """The real service omits the id of an unstored interaction; its stream carries an empty id."""
    data = await create(client, input="ephemeral", store=False)
    assert data["status"] == "completed" and "id" not in data
    streamed = await client.post(
        "/v1beta/interactions", json={"model": MODEL, "input": "ephemeral", "store": False, "stream": True}
    )
    ids = re.findall(r'"(?:id|interaction_id)":"([^"]*)"', streamed.text)
    assert ids and set(ids) == {""}
    assert emulator.store.interactions == {}  # nothing kept, so no way to reach it again


async def test_unknown_ids_are_404(client: httpx2.AsyncClient) -> None:
    for response in (
        await client.get("/v1beta/interactions/v1_nope"),
        await client.post("/v1beta/interactions/v1_nope/cancel"),
        await client.post(
            "/v1beta/interactions", json={"model": MODEL, "input": "x", "previous_interaction_id": "v1_x"}
        ),
        await client.get("/v2/interactions/v1_nope"),
        await client.get("/v1beta/unknown-collection"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"


BAD_BODIES: list[tuple[Any, str]] = [
    ({"input": "x"}, "One of 'model' or 'agent' is required"),
    ({"model": MODEL, "agent": "deep-research-preview-04-2026", "input": "x"}, "not both"),
    ({"model": MODEL}, "'input' is required"),
    ({"model": MODEL, "input": 42}, "'input' must be"),
    (
        {"model": MODEL, "input": [{"type": "bogus"}]},
        "The value 'bogus' is not supported for 'type' at 'input[0]'",
    ),
    ({"model": MODEL, "input": "x", "tools": [{"type": "invalid_tool_type_xyz"}]}, "at 'tools[0]'"),
    ({"model": MODEL, "input": "x", "tools": [{"type": "function"}]}, "'name' is required"),
    ({"model": MODEL, "input": "x", "stream": "yes"}, "'stream' must be a boolean"),
    ({"model": MODEL, "input": "x", "store": False, "background": True}, "'background' requires 'store'"),
    ({"model": MODEL, "input": "x", "store": False, "previous_interaction_id": "v1_a"}, "requires 'store'"),
    ({"model": MODEL, "input": "x", "agent_config": {"type": "deep-research"}}, "'agent_config' can only"),
    ({"model": MODEL, "input": "x", "temperature": 1}, 'Unknown name "temperature"'),
    ({"model": MODEL, "input": "x", "system_instruction": ["a"]}, "'system_instruction' must be a string"),
    ({"model": MODEL, "input": "x", "generation_config": "hot"}, "'generation_config' must be an object"),
    ([1, 2], "expected a JSON object"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
async def test_bad_requests_are_400_with_clear_messages(
    client: httpx2.AsyncClient, body: Any, message: str
) -> None:
    response = await client.post("/v1beta/interactions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert message in error["message"]


async def test_invalid_json_is_400(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1beta/interactions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Invalid JSON payload received.")


async def test_bad_query_parameters_are_400(client: httpx2.AsyncClient) -> None:
    created = await create(client, input="q")
    url = f"/v1beta/interactions/{created['id']}"
    assert (await client.get(url, params={"last_event_id": "evt_0001"})).status_code == 400
    assert (await client.get(url, params={"stream": "maybe"})).status_code == 400
    assert (await client.get(url, params={"stream": "true", "last_event_id": "nope"})).status_code == 400


async def test_api_key_required_when_configured() -> None:
    app = create_app(EmulatorConfig(api_key="sekrit"))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as client:
        body = {"model": MODEL, "input": "x"}
        missing = await client.post("/v1beta/interactions", json=body)
        assert missing.status_code == 401
        assert (
            missing.json()["error"]["code"] == 401 and missing.json()["error"]["status"] == "UNAUTHENTICATED"
        )
        wrong = await client.post("/v1beta/interactions", json=body, headers={"x-goog-api-key": "nope"})
        assert wrong.status_code == 400  # as Google's gateway answers a wrong key: not 401/403
        assert wrong.json()["error"] == {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ],
        }
        ok = await client.post("/v1beta/interactions", json=body, headers={"x-goog-api-key": "sekrit"})
        assert ok.status_code == 200
        bearer = await client.post(
            "/v1beta/interactions", json=body, headers={"Authorization": "Bearer sekrit"}
        )
        assert bearer.status_code == 200
        admin = await client.get("/_emulator/requests")
        assert admin.status_code == 200
