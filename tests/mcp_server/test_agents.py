"""Managed agents through a real MCP client: manage_agent (create, list, get, delete) and run_agent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.services import agents as agent_service
from tests.helpers.principals import connect
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

from .conftest import quick_runs, requests_log

pytestmark = pytest.mark.anyio

ANTIGRAVITY = "antigravity-preview-05-2026"
SECRET = "Bearer sk-downstream-secret-42"
UPSTREAM_AGENT_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")  # the Interactions API's rule for agent ids
STILL_RUNNING_SECONDS = 0.5
"""The length of a run in the tests that need it still running when run_agent returns at once, or when
the server process that started it has closed (milliseconds on an idle machine)."""


@pytest.fixture
def emulator(emulator: Starlette) -> Starlette:
    """Quick agent runs, for the tests that only wait for them to end."""
    quick_runs(emulator)
    return emulator


def runs_last(emulator: Starlette) -> None:
    emulator.state.emulator.configure(agent_seconds=STILL_RUNNING_SECONDS)


async def create(client: Client, agent_id: str, **fields: Any) -> dict[str, Any]:
    return data(await client.call_tool("manage_agent", {"action": "create", "id": agent_id, **fields}))


async def test_create_sends_the_full_definition_and_get_shows_it(client: Client, emulator: Starlette) -> None:
    created = await create(
        client,
        "code-reviewer",
        description="Reviews Python code.",
        system_instruction="Review code for bugs.",
        tools=[
            "code_execution",
            "google_search",
            "url_context",
            {
                "type": "mcp_server",
                "url": "https://mcp.example.com/mcp",
                "name": "docs",
                "headers": {"X-Key": SECRET},
            },
        ],
        base_environment={
            "sources": [
                {"type": "repository", "source": "https://github.com/octocat/Spoon-Knife"},
                {"type": "inline", "content": "Python files only.", "target": "/workspace/notes.txt"},
            ],
            "network": ["*.python.org", "pypi.org"],
        },
    )
    assert created["agent"]["id"] == "code-reviewer"
    [post] = [r["body"] for r in requests_log(emulator, "POST", "/agents")]
    assert post == {
        "id": "code-reviewer",
        "base_agent": ANTIGRAVITY,
        "description": "Reviews Python code.",
        "system_instruction": "Review code for bugs.",
        "tools": [
            {"type": "code_execution"},
            {"type": "google_search"},
            {"type": "url_context"},
            {
                "type": "mcp_server",
                "url": "https://mcp.example.com/mcp",
                "name": "docs",
                "headers": {"X-Key": SECRET},
            },
        ],
        "base_environment": {
            "type": "remote",
            "sources": [
                {
                    "type": "repository",
                    "source": "https://github.com/octocat/Spoon-Knife",
                    "target": "/workspace/repo",
                },
                {"type": "inline", "content": "Python files only.", "target": "/workspace/notes.txt"},
            ],
            "network": {"allowlist": [{"domain": "*.python.org"}, {"domain": "pypi.org"}]},
        },
    }
    got = await client.call_tool("manage_agent", {"action": "get", "id": "code-reviewer"})
    shown = {**post, "tools": [*post["tools"][:3], {**post["tools"][3], "headers": {"X-Key": "[redacted]"}}]}
    assert data(got)["agent"] == shown == created["agent"]
    assert "Review code for bugs." in text_of(got) and "Spoon-Knife" in text_of(got)
    assert requests_log(emulator, "GET", "/agents/code-reviewer")
    listed = await client.call_tool("manage_agent", {"action": "list"})
    assert data(listed)["agents"] == [shown]
    for result in (got, listed):
        assert SECRET not in text_of(result) and SECRET not in str(result.structured_content)


async def test_create_with_defaults_and_network_disabled(client: Client, emulator: Starlette) -> None:
    await create(client, "quiet", base_environment={"network": "disabled"})
    [post] = [r["body"] for r in requests_log(emulator, "POST", "/agents")]
    assert post == {
        "id": "quiet",
        "base_agent": ANTIGRAVITY,
        "base_environment": {"type": "remote", "network": "disabled"},
    }


async def test_list_pages_over_the_wire(client: Client, emulator: Starlette) -> None:
    ids = ["agent-a", "agent-b", "agent-c", "agent-d", "agent-e"]
    for agent_id in ids:
        await create(client, agent_id, description=f"The {agent_id} agent.")
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        args: dict[str, Any] = {"action": "list", "page_size": 2}
        if token is not None:
            args["page_token"] = token
        result = await client.call_tool("manage_agent", args)
        page = data(result)
        pages += 1
        seen += [a["id"] for a in page["agents"]]
        token = page["next_page_token"]
        if token is None:
            assert "page_token" not in text_of(result)
            break
        assert f"page_token={token!r}" in text_of(result)
    assert seen == ids and pages == 3
    queries = [r["query"] for r in requests_log(emulator, "GET", "/agents")]
    assert len(queries) == 3
    assert all(q["page_size"] == "2" for q in queries)
    assert "page_token" not in queries[0]
    assert queries[1]["page_token"] and queries[2]["page_token"] != queries[1]["page_token"]


async def test_list_when_there_are_none(client: Client) -> None:
    result = await client.call_tool("manage_agent", {"action": "list"})
    assert data(result)["agents"] == [] and "No agents yet" in text_of(result)


@pytest.mark.parametrize("bad_id", ["Code-Reviewer", "1st-agent", "has space", "under_score", "a" * 64, "-x"])
async def test_invalid_ids_are_refused_before_the_wire(
    client: Client, emulator: Starlette, bad_id: str
) -> None:
    result = await client.call_tool("manage_agent", {"action": "create", "id": bad_id})
    assert result.is_error
    assert "is not valid" in text_of(result) and "lowercase letters, digits and hyphens" in text_of(result)
    assert requests_log(emulator, "POST", "/agents") == []


async def test_longest_valid_id_is_accepted(client: Client) -> None:
    agent_id = "a" + "-b" * 31
    assert len(agent_id) == 63
    assert (await create(client, agent_id))["agent"]["id"] == agent_id


@pytest.mark.parametrize("base", ["gemini-3.5-flash", "no-such-agent", "deep-research-preview-04-2026"])
async def test_unknown_base_agent_is_a_clear_error(client: Client, emulator: Starlette, base: str) -> None:
    result = await client.call_tool("manage_agent", {"action": "create", "id": "x", "base_agent": base})
    assert result.is_error
    assert f"base_agent {base!r} is not a managed agent" in text_of(result)
    assert ANTIGRAVITY in text_of(result)


async def test_duplicate_id_is_a_clear_error(client: Client) -> None:
    await create(client, "twice")
    again = await client.call_tool("manage_agent", {"action": "create", "id": "twice"})
    assert again.is_error and "already exists" in text_of(again)


async def test_actions_other_than_list_need_an_id(client: Client) -> None:
    for action in ("create", "get", "delete"):
        result = await client.call_tool("manage_agent", {"action": action})
        assert result.is_error and "needs `id`" in text_of(result)


async def test_delete_needs_confirmation(client: Client, emulator: Starlette) -> None:
    await create(client, "doomed")
    refused = await client.call_tool("manage_agent", {"action": "delete", "id": "doomed"})
    assert refused.is_error and "confirm=true" in text_of(refused)
    assert requests_log(emulator, "DELETE", "/agents/doomed") == []
    deleted = data(
        await client.call_tool("manage_agent", {"action": "delete", "id": "doomed", "confirm": True})
    )
    assert deleted == {"deleted": "doomed"}
    assert len(requests_log(emulator, "DELETE", "/agents/doomed")) == 1
    gone = await client.call_tool("manage_agent", {"action": "get", "id": "doomed"})
    assert gone.is_error and "No agent 'doomed'" in text_of(gone)
    again = await client.call_tool("manage_agent", {"action": "delete", "id": "doomed", "confirm": True})
    assert again.is_error and "No agent 'doomed'" in text_of(again)


async def test_unknown_agent_is_reported_with_a_way_out(client: Client) -> None:
    result = await client.call_tool("manage_agent", {"action": "get", "id": "never-made"})
    assert result.is_error
    assert "No agent 'never-made'" in text_of(result) and "action='list'" in text_of(result)


async def run_and_wait(client: Client, **arguments: Any) -> tuple[dict[str, Any], CallToolResult]:
    """Start a run that returns at once (wait_seconds=0), then poll it to completion."""
    started = data(await client.call_tool("run_agent", {"wait_seconds": 0, **arguments}))
    polled = await client.call_tool(
        "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
    )
    return started, polled


async def test_custom_agent_runs_in_the_background_and_is_polled(client: Client, emulator: Starlette) -> None:
    runs_last(emulator)
    await create(client, "runner", system_instruction="Be terse.", tools=["code_execution"])
    started, polled = await run_and_wait(client, agent="runner", input="Count the files.")
    assert started["kind"] == "agent" and started["status"] == "in_progress" and not started["done"]
    assert started["conversation"].startswith("conv_")
    result = data(polled)
    assert result["status"] == "completed" and result["done"]
    assert result["environment_id"] and result["environment_id"].startswith("env_")
    assert result["conversation"] == started["conversation"]
    text = text_of(polled)
    assert "Following your instruction: Be terse." in text and "Task: Count the files." in text
    # The code-execution step is summarised in a few lines, not dumped as JSON.
    steps = text.split("Tool steps:", 1)[1].strip().splitlines()
    assert 1 <= len(steps) <= 4 and "ran bash" in steps[0]
    assert '"code"' not in text and "code_execution_call" not in text
    [post] = [r["body"] for r in requests_log(emulator)]
    assert post["agent"] == "runner" and post["background"] is True and post["environment"] == "remote"
    assert post["input"] == "Count the files." and "previous_interaction_id" not in post


async def test_run_waits_up_to_its_soft_deadline(client: Client) -> None:
    result = await client.call_tool("run_agent", {"input": "Say hi.", "wait_seconds": 10})
    finished = data(result)
    assert finished["status"] == "completed" and finished["environment_id"]
    assert f"conversation={finished['conversation']}" in text_of(result)
    assert "Task: Say hi." in text_of(result)


async def test_second_turn_reuses_the_sandbox(client: Client, emulator: Starlette) -> None:
    await create(client, "builder")
    first, polled = await run_and_wait(client, agent="builder", input="Write a note.")
    environment_id = data(polled)["environment_id"]
    _, polled_again = await run_and_wait(client, input="And another.", conversation=first["conversation"])
    again = data(polled_again)
    assert again["environment_id"] == environment_id and again["conversation"] == first["conversation"]
    assert "holds 2 note file(s)" in text_of(polled_again) and "turn 2" in text_of(polled_again)
    posts = [r["body"] for r in requests_log(emulator)]
    assert len(posts) == 2
    assert posts[1]["environment"] == environment_id
    assert posts[1]["previous_interaction_id"] == first["interaction_id"]
    # Continuing a conversation keeps its agent when none is named.
    assert posts[1]["agent"] == "builder"


async def test_an_environment_id_starts_a_new_conversation_in_that_sandbox(
    client: Client, emulator: Starlette
) -> None:
    first, polled = await run_and_wait(client, input="Write a note.")
    environment_id = data(polled)["environment_id"]
    second, polled_again = await run_and_wait(client, input="List the notes.", environment=environment_id)
    assert second["conversation"] != first["conversation"]
    assert data(polled_again)["environment_id"] == environment_id
    assert "holds 2 note file(s)" in text_of(polled_again)
    posts = [r["body"] for r in requests_log(emulator)]
    assert posts[1]["environment"] == environment_id and "previous_interaction_id" not in posts[1]
    assert posts[1]["agent"] == ANTIGRAVITY


async def test_a_run_can_be_cancelled(client: Client, emulator: Starlette) -> None:
    emulator.state.emulator.configure(agent_seconds=30)
    started = data(await client.call_tool("run_agent", {"input": "Take your time.", "wait_seconds": 0}))
    cancelled = data(
        await client.call_tool("cancel_interaction", {"interaction_id": started["interaction_id"]})
    )
    assert cancelled["status"] == "cancelled"
    polled = data(
        await client.call_tool(
            "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 0}
        )
    )
    assert polled["status"] == "cancelled" and polled["done"]
    assert requests_log(emulator, "POST", f"/interactions/{started['interaction_id']}/cancel")


async def test_a_run_survives_a_server_restart(tmp_path: Path, emulator: Starlette) -> None:
    runs_last(emulator)
    settings = ServerSettings(state=str(tmp_path / "state.sqlite3"), allow_dirs=(tmp_path,))
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as first:
        await create(first, "durable")
        started = data(
            await first.call_tool("run_agent", {"agent": "durable", "input": "Persist.", "wait_seconds": 0})
        )
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as second:
        polled = data(
            await second.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
            )
        )
        assert polled["status"] == "completed" and polled["environment_id"]
        listed = data(await second.call_tool("manage_agent", {"action": "list"}))
        assert [a["id"] for a in listed["agents"]] == ["durable"]


async def test_unknown_agent_run_is_a_clear_error(client: Client) -> None:
    result = await client.call_tool("run_agent", {"agent": "never-made", "input": "x", "wait_seconds": 0})
    assert result.is_error and "never-made" in text_of(result)


async def test_deep_research_agent_is_pointed_elsewhere(client: Client, emulator: Starlette) -> None:
    result = await client.call_tool(
        "run_agent", {"agent": "deep-research-preview-04-2026", "input": "x", "wait_seconds": 0}
    )
    assert result.is_error and "start_deep_research" in text_of(result)
    assert requests_log(emulator) == []


# -- deletion confirmed through elicitation (legacy connections have the back-channel) ----------------


def confirming(answer: ElicitResult, asked: list[str]) -> Any:
    async def callback(context: object, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return answer

    return callback


@pytest.mark.parametrize(
    ("answer", "deleted"),
    [
        (ElicitResult(action="accept", content={"delete": True}), True),
        (ElicitResult(action="accept", content={"delete": False}), False),
        (ElicitResult(action="decline"), False),
        (ElicitResult(action="cancel"), False),
    ],
)
async def test_delete_confirmed_through_elicitation_on_legacy(
    emulator: Starlette, settings: ServerSettings, answer: ElicitResult, deleted: bool
) -> None:
    asked: list[str] = []
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="legacy", elicitation_callback=confirming(answer, asked)) as c:
        await create(c, "asked-first")
        result = await c.call_tool("manage_agent", {"action": "delete", "id": "asked-first"})
        assert asked == ["Delete the agent 'asked-first' permanently?"]
        assert result.is_error is not deleted
        assert len(requests_log(emulator, "DELETE", "/agents/asked-first")) == int(deleted)
        if not deleted:
            assert "confirm=true" in text_of(result)


async def test_delete_with_confirm_does_not_ask(emulator: Starlette, settings: ServerSettings) -> None:
    asked: list[str] = []
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    callback = confirming(ElicitResult(action="decline"), asked)
    async with Client(server, mode="legacy", elicitation_callback=callback) as c:
        await create(c, "no-question")
        data(await c.call_tool("manage_agent", {"action": "delete", "id": "no-question", "confirm": True}))
    assert asked == []


async def test_2026_clients_are_asked_through_multi_round_trip(
    emulator: Starlette, settings: ServerSettings
) -> None:
    asked: list[str] = []
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    callback = confirming(ElicitResult(action="accept", content={"delete": True}), asked)
    async with Client(server, mode="auto", elicitation_callback=callback) as c:
        await create(c, "gone")
        await create(c, "kept")
        deleted = await c.call_tool("manage_agent", {"action": "delete", "id": "gone"})
        assert not deleted.is_error, text_of(deleted)
        assert c.protocol_version == "2026-07-28"
    assert asked == ["Delete the agent 'gone' permanently?"]
    assert len(requests_log(emulator, "DELETE", "/agents/gone")) == 1


async def test_2026_clients_without_elicitation_confirm_by_argument(
    emulator: Starlette, settings: ServerSettings
) -> None:
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="auto") as c:
        await create(c, "kept")
        refused = await c.call_tool("manage_agent", {"action": "delete", "id": "kept"})
    assert refused.is_error and "confirm=true" in text_of(refused)
    assert requests_log(emulator, "DELETE", "/agents/kept") == []


# -- ownership between two principals over HTTP -------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_agents_belong_to_their_creator(
    http_server: ServerThread, emulator: Starlette, mode: str
) -> None:
    async with connect(http_server, "alice-token-1", mode) as alice:
        await create(alice, "alices-agent", description="Alice's.")
        await create(alice, "alices-other")
    async with connect(http_server, "bob-token-2", mode) as bob:
        await create(bob, "bobs-agent")
        listed = data(await bob.call_tool("manage_agent", {"action": "list", "page_size": 1}))
        assert [a["id"] for a in listed["agents"]] == ["bobs-agent"] and listed["next_page_token"] is None

        for tool, args in (
            ("manage_agent", {"action": "get"}),
            ("manage_agent", {"action": "delete", "confirm": True}),
            ("run_agent", {"input": "Steal.", "wait_seconds": 0}),
        ):
            key = "agent" if tool == "run_agent" else "id"
            theirs = await bob.call_tool(tool, {**args, key: "alices-agent"})
            unknown = await bob.call_tool(tool, {**args, key: "nobodys-agent"})
            assert theirs.is_error and unknown.is_error
            assert text_of(theirs).replace("alices-agent", "X") == text_of(unknown).replace(
                "nobodys-agent", "X"
            )
        # Creating it answers as for any free name: to bob, alice's name is free.
        theirs = await bob.call_tool("manage_agent", {"action": "create", "id": "alices-agent"})
        unknown = await bob.call_tool("manage_agent", {"action": "create", "id": "nobodys-agent"})
        assert text_of(theirs).replace("alices-agent", "X") == text_of(unknown).replace("nobodys-agent", "X")
        assert data(theirs)["agent"]["id"] == "alices-agent"
        deleted = await bob.call_tool(
            "manage_agent", {"action": "delete", "id": "alices-agent", "confirm": True}
        )
        assert data(deleted) == {"deleted": "alices-agent"}
    async with connect(http_server, "alice-token-1", mode) as alice:
        listed = data(await alice.call_tool("manage_agent", {"action": "list"}))
        assert [a["id"] for a in listed["agents"]] == ["alices-agent", "alices-other"]
        got = data(await alice.call_tool("manage_agent", {"action": "get", "id": "alices-agent"}))
        assert got["agent"]["description"] == "Alice's."
    log = emulator.state.emulator.requests()
    alices_upstream = next(
        r["body"]["id"] for r in log if r["method"] == "POST" and r["path"].endswith("/agents")
    )
    deletes = [r["path"] for r in log if r["method"] == "DELETE"]
    assert deletes and not [p for p in deletes if p.endswith(alices_upstream)], "bob only reaches his own"
    assert not [r for r in log if r["method"] == "POST" and r["path"].endswith("/interactions")]


async def test_each_principal_has_its_own_namespace_upstream(
    http_server: ServerThread, emulator: Starlette
) -> None:
    """Alice and bob both make `code-reviewer`: two upstream ids, derived from principal and name."""
    for token in ("alice-token-1", "bob-token-2"):
        async with connect(http_server, token, "auto") as caller:
            created = await create(caller, "code-reviewer", description=token)
            assert created["agent"]["id"] == "code-reviewer"
            named = "n" * 49
            assert (await create(caller, named))["agent"]["id"] == named
            too_long = await caller.call_tool("manage_agent", {"action": "create", "id": named + "n"})
            assert too_long.is_error and "use 1-49 lowercase letters" in text_of(too_long)
    upstream_ids = [r["body"]["id"] for r in requests_log(emulator, "POST", "/agents")]
    assert len(set(upstream_ids)) == 4 and "code-reviewer" not in upstream_ids
    assert all(UPSTREAM_AGENT_ID.fullmatch(i) for i in upstream_ids), upstream_ids
    alices, bobs = upstream_ids[0], upstream_ids[2]
    assert alices.endswith("-code-reviewer") and bobs.endswith("-code-reviewer")
    async with connect(http_server, "alice-token-1", "auto") as alice:
        got = data(await alice.call_tool("manage_agent", {"action": "get", "id": "code-reviewer"}))
        assert got["agent"]["description"] == "alice-token-1"
        started = data(
            await alice.call_tool("run_agent", {"agent": "code-reviewer", "input": "Hi.", "wait_seconds": 0})
        )
    [run] = [r["body"] for r in requests_log(emulator)]
    assert run["agent"] == alices
    assert started["kind"] == "agent"


async def test_a_principal_pages_through_only_its_own_agents(
    http_server: ServerThread, emulator: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small upstream pages, so that one of Bob's pages spans several of them.
    monkeypatch.setattr(agent_service, "UPSTREAM_PAGE_SIZE", 3)
    async with connect(http_server, "alice-token-1", "auto") as alice:
        for n in range(3):
            await create(alice, f"alice-{n}")
    async with (
        connect(http_server, "bob-token-2", "auto") as bob,
        connect(http_server, "alice-token-1", "auto") as alice,
    ):
        for n in range(5):
            await create(bob, f"bob-{n}")
            await create(alice, f"alice-late-{n}")
        pages: list[list[str]] = []
        token: str | None = None
        while True:
            args: dict[str, Any] = {"action": "list", "page_size": 2}
            if token:
                args["page_token"] = token
            page = data(await bob.call_tool("manage_agent", args))
            pages.append([a["id"] for a in page["agents"]])
            token = page["next_page_token"]
            if token is None:
                break
        assert pages == [["bob-0", "bob-1"], ["bob-2", "bob-3"], ["bob-4"]]
        reads = requests_log(emulator, "GET", "/agents")
        assert {r["query"]["page_size"] for r in reads} == {"3"} and len(reads) > len(pages)
        bad = await bob.call_tool("manage_agent", {"action": "list", "page_token": "not-a-token"})
        assert bad.is_error and "omit it to start from the first page" in text_of(bad)


async def test_a_run_takes_files(client: Client, emulator: Starlette, settings: ServerSettings) -> None:
    notes = settings.allow_dirs[0] / "brief.txt"
    notes.write_text("Only Python files matter.")
    _, polled = await run_and_wait(client, input="Read the brief.", files=[str(notes)])
    assert data(polled)["status"] == "completed"
    [post] = [r["body"] for r in requests_log(emulator)]
    assert post["input"][0]["type"] == "user_input"
    assert post["input"][0]["content"][0] == {"type": "text", "text": "Read the brief."}
    assert "Only Python files matter." in str(post["input"])


async def test_an_mcp_server_name_with_a_hyphen_is_refused_before_the_wire(
    client: Client, emulator: Starlette
) -> None:
    tool = {"type": "mcp_server", "url": "https://x.example/mcp", "name": "my-docs"}
    result = await client.call_tool("manage_agent", {"action": "create", "id": "x", "tools": [tool]})
    assert result.is_error and "name" in text_of(result) and "pattern" in text_of(result)
    assert requests_log(emulator, "POST", "/agents") == []
