"""Prompts (slash commands) and argument completion, in both protocol eras; completion offers only the
caller's own conversations and jobs."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import INVALID_PARAMS, PromptReference, ResourceTemplateReference

from gemini_interactions_mcp.services.catalog import Catalog
from tests.helpers.results import data
from tests.helpers.servers import ServerThread

from .conftest import authed

pytestmark = pytest.mark.anyio

INTERACTIONS = ResourceTemplateReference(type="ref/resource", uri="gemini://interactions/{interaction_id}")


def prompt(name: str) -> PromptReference:
    return PromptReference(type="ref/prompt", name=name)


async def completed(
    client: Client, ref: PromptReference | ResourceTemplateReference, name: str, value: str
) -> list[str]:
    return (await client.complete(ref, {"name": name, "value": value})).completion.values


def text_of_prompt(result: object) -> str:
    messages = result.messages  # type: ignore[attr-defined]
    assert len(messages) == 1 and messages[0].role == "user"
    return str(messages[0].content.text)


async def test_the_three_prompts_are_listed_with_titles_and_arguments(client: Client) -> None:
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == {"research", "second_opinion", "continue"}
    required = {name: {a.name for a in p.arguments or [] if a.required} for name, p in prompts.items()}
    assert required == {"research": {"topic"}, "second_opinion": {"question"}, "continue": {"conversation"}}
    assert all(p.title and p.description for p in prompts.values())


async def test_research_says_which_tools_to_call(client: Client) -> None:
    text = text_of_prompt(await client.get_prompt("research", {"topic": "Owl migration", "depth": "max"}))
    assert "Owl migration" in text and "start_deep_research" in text and "agent='max'" in text
    assert "poll_interaction" in text and "gemini://interactions/" in text


async def test_second_opinion_passes_the_files_and_model(client: Client) -> None:
    arguments = {
        "question": "Is this cache safe?",
        "files": "a.py, lib/b.py",
        "model": "gemini-3.1-pro-preview",
    }
    text = text_of_prompt(await client.get_prompt("second_opinion", arguments))
    assert "Question: Is this cache safe?" in text and "ask_gemini" in text
    assert "files=['a.py', 'lib/b.py']" in text and "model='gemini-3.1-pro-preview'" in text


async def test_continue_brings_the_recap_of_the_callers_conversation(client: Client) -> None:
    first = data(await client.call_tool("ask_gemini", {"prompt": "My code is 55.", "conversation": "notes"}))
    data(await client.call_tool("ask_gemini", {"prompt": "Remember it.", "conversation": "notes"}))
    text = text_of_prompt(await client.get_prompt("continue", {"conversation": "notes"}))
    assert first["conversation"] in text and "My code is 55." in text and "Remember it." in text
    assert "2 turn(s)" in text and "never resend" in text
    with pytest.raises(MCPError) as refused:
        await client.get_prompt("continue", {"conversation": "no-such-thread"})
    assert refused.value.error.code == INVALID_PARAMS and "list_conversations" in refused.value.error.message


async def test_conversations_complete_by_name_and_id(client: Client) -> None:
    made = data(await client.call_tool("ask_gemini", {"prompt": "hi", "conversation": "project-x"}))
    assert await completed(client, prompt("continue"), "conversation", "proj") == ["project-x"]
    assert await completed(client, prompt("continue"), "conversation", made["conversation"][:8]) == [
        made["conversation"]
    ]
    assert await completed(client, prompt("continue"), "conversation", "zzz") == []


async def test_catalog_values_complete(client: Client) -> None:
    catalog = Catalog.load().data
    depths = await completed(client, prompt("research"), "depth", "")
    assert {"fast", "max"} <= set(depths)
    assert set(depths) - {"fast", "max"} == {a.id for a in catalog.agents if a.kind == "deep-research"}
    models = await completed(client, prompt("second_opinion"), "model", "GEMINI-3.1")
    assert models and set(models) == {m.id for m in catalog.models if m.id.startswith("gemini-3.1")}


async def test_job_interaction_ids_complete_for_the_report_template(client: Client) -> None:
    assert await completed(client, INTERACTIONS, "interaction_id", "") == []
    started = data(await client.call_tool("start_deep_research", {"query": "owls"}))
    assert await completed(client, INTERACTIONS, "interaction_id", "") == [started["interaction_id"]]
    templates = (await client.list_resource_templates()).resource_templates
    assert INTERACTIONS.uri in {t.uri_template for t in templates}


async def test_files_complete_inside_the_readable_folder_only(client: Client, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("x = 1\n")
    (tmp_path / "notes.md").write_text("n\n")
    assert await completed(client, prompt("second_opinion"), "files", "s") == ["src/"]
    assert await completed(client, prompt("second_opinion"), "files", "notes.md,src/") == [
        "notes.md,src/main.py"
    ]
    assert await completed(client, prompt("second_opinion"), "files", "../") == []
    assert await completed(client, prompt("second_opinion"), "files", "/etc/") == []


async def test_an_argument_or_reference_without_values_completes_to_nothing(client: Client) -> None:
    assert await completed(client, prompt("research"), "topic", "ow") == []
    assert await completed(client, prompt("no_such_prompt"), "arg1", "x") == []


async def test_completion_offers_only_the_callers_own_objects(http_server: ServerThread) -> None:
    url = f"{http_server.url}/mcp"
    async with authed("alice-token-1") as hc, Client(streamable_http_client(url, http_client=hc)) as alice:
        data(await alice.call_tool("ask_gemini", {"prompt": "secret plan", "conversation": "alice-private"}))
        started = data(await alice.call_tool("start_deep_research", {"query": "owls"}))
        assert await completed(alice, prompt("continue"), "conversation", "alice") == ["alice-private"]
        assert await completed(alice, INTERACTIONS, "interaction_id", "") == [started["interaction_id"]]
    async with authed("bob-token-2") as hc, Client(streamable_http_client(url, http_client=hc)) as bob:
        assert await completed(bob, prompt("continue"), "conversation", "") == []
        assert await completed(bob, INTERACTIONS, "interaction_id", "") == []
        with pytest.raises(MCPError):
            await bob.get_prompt("continue", {"conversation": "alice-private"})
