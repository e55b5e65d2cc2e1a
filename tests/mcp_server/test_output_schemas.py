"""Typed outputs: every tool has a human title and an outputSchema, and every shape of result it returns
validates against that schema as published (checked with a JSON Schema validator, as a client would)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from mcp import Client
from mcp.types import CallToolResult

from gemini_interactions_mcp.config import ServerSettings
from tests.helpers.results import data

pytestmark = pytest.mark.anyio


class Checked:
    """Calls tools and validates each result's structured content against the tool's published schema."""

    def __init__(self, client: Client, schemas: dict[str, dict[str, Any]]) -> None:
        self.client = client
        self.schemas = schemas
        self.called: set[str] = set()

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result: CallToolResult = await self.client.call_tool(name, arguments)
        structured = data(result)
        jsonschema.Draft202012Validator(self.schemas[name]).validate(structured)
        self.called.add(name)
        return structured


async def test_every_tool_has_a_title_and_an_output_schema(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        assert tool.title and tool.title[0].isupper() and tool.title != tool.name, tool.name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", tool.name
        jsonschema.Draft202012Validator.check_schema(tool.output_schema)


async def test_every_result_validates_against_its_tools_output_schema(
    client: Client, settings: ServerSettings
) -> None:
    tools = (await client.list_tools()).tools
    check = Checked(client, {t.name: t.output_schema or {} for t in tools})

    asked = await check.call("ask_gemini", {"prompt": "My code is 7.", "conversation": "typed"})
    await check.call("ask_gemini", {"prompt": "And again?", "conversation": asked["conversation"]})
    listed = await check.call("list_conversations", {"limit": 1})
    assert listed["conversations"]
    for action, extra in (("rename", {"name": "typed-2"}), ("reset", {}), ("forget", {})):
        await check.call(
            "manage_conversation", {"conversation": asked["conversation"], "action": action, **extra}
        )

    started = await check.call("start_deep_research", {"query": "owls"})
    running = await check.call(
        "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 0}
    )
    finished = await check.call(
        "poll_interaction",
        {"interaction_id": started["interaction_id"], "wait_seconds": 30, "max_chars": 500},
    )
    assert not running["done"] and finished["done"] and finished["next_offset"]
    other = await check.call("start_deep_research", {"query": "bats"})
    await check.call("cancel_interaction", {"interaction_id": other["interaction_id"]})

    await check.call("manage_agent", {"action": "create", "id": "typed-agent", "description": "d"})
    await check.call("manage_agent", {"action": "list"})
    await check.call("manage_agent", {"action": "get", "id": "typed-agent"})
    await check.call("run_agent", {"agent": "typed-agent", "input": "Say hi.", "wait_seconds": 10})
    await check.call("manage_agent", {"action": "delete", "id": "typed-agent", "confirm": True})

    await check.call("generate_image", {"prompt": "A red square."})
    await check.call("speak", {"text": "Hello there."})

    store = (await check.call("manage_file_store", {"action": "create", "name": "typed"}))["store"]["name"]
    await check.call("manage_file_store", {"action": "list"})
    await check.call("manage_file_store", {"action": "get", "store": store})
    (settings.allow_dirs[0] / "typed.txt").write_text("Typed results.")
    job = await check.call("manage_file_store", {"action": "add", "store": store, "files": ["typed.txt"]})
    await check.call("poll_interaction", {"interaction_id": job["interaction_id"], "wait_seconds": 10})
    documents = await check.call("manage_file_store", {"action": "documents", "store": store})
    document = documents["documents"][0]["name"]
    await check.call("manage_file_store", {"action": "delete_document", "name": document})
    await check.call("manage_file_store", {"action": "delete", "store": store})

    assert check.called == {t.name for t in tools}, "a tool without a case here: add its result shapes"


async def test_a_schema_mismatch_would_be_caught(client: Client) -> None:
    """The validator really rejects: a poll result without its required fields fails the published schema."""
    (poll,) = [t for t in (await client.list_tools()).tools if t.name == "poll_interaction"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(poll.output_schema or {}).validate({"status": "completed"})
