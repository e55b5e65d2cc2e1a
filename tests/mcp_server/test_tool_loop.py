"""Gemini calls the user's tools through ask_gemini: the loop on the wire, confirmations, remote servers."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.types import ElicitRequestParams, ElicitResult
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig
from gemini_interactions_mcp.state import open_store
from tests.helpers.downstream import SERVER_SCRIPT
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread
from tests.helpers.waiting import async_wait_until

from .conftest import quick_runs, requests_log

pytestmark = pytest.mark.anyio
SECRET = "Bearer sk-remote-secret-42"


@pytest.fixture
def bridged_settings(tmp_path: Path) -> ServerSettings:
    config = tmp_path / "mcp.json"
    servers = {
        "local": {"command": sys.executable, "args": [str(SERVER_SCRIPT)]},
        "remote": {
            "httpUrl": "https://mcp.example.com/mcp",
            "headers": {"Authorization": SECRET},
            "via": "gemini",
        },
    }
    config.write_text(json.dumps({"mcpServers": servers}))
    (tmp_path / "notes.md").write_text("The launch is on Tuesday.\n")
    return ServerSettings(state="memory", allow_dirs=(tmp_path,), mcp_config=config)


@pytest.fixture(params=["auto", "legacy"])
async def bridged(
    request: pytest.FixtureRequest, emulator: Starlette, bridged_settings: ServerSettings
) -> AsyncIterator[Client]:
    server = build_server(bridged_settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode=request.param, raise_exceptions=True) as c:
        yield c


def directive(name: str, **arguments: Any) -> str:
    return f"[[call {name} {json.dumps(arguments)}]]"


def answering(emulator: Starlette) -> list[dict[str, Any]]:
    """The bodies of the interactions created to send function results."""
    bodies = [r["body"] for r in requests_log(emulator)]
    return [
        b
        for b in bodies
        if any(isinstance(s, dict) and s.get("type") == "function_result" for s in b["input"])
    ]


async def test_gemini_calls_local_tools_and_the_workspace_in_one_turn(
    bridged: Client, emulator: Starlette
) -> None:
    prompt = (
        "Check both. "
        + directive("local__echo", text="hi")
        + directive("workspace__read_file", path="notes.md")
    )
    result = await bridged.call_tool("ask_gemini", {"prompt": prompt, "tools": ["mcp:local", "workspace"]})
    text = text_of(result)
    assert "The function local__echo returned: echo: hi" in text
    assert "The function workspace__read_file returned:" in text and "The launch is on Tuesday." in text
    assert "Tools called: local__echo (" in text and "workspace__read_file (" in text
    out = data(result)
    assert out["turn"] == 1 and out["status"] == "completed"
    assert sorted((c["name"], c["ok"]) for c in out["calls"]) == [
        ("local__echo", True),
        ("workspace__read_file", True),
    ]
    first, second = [r["body"] for r in requests_log(emulator)]
    declared = {t["name"] for t in first["tools"] if t["type"] == "function"}
    assert {"local__echo", "local__add_note", "workspace__read_file", "workspace__search"} <= declared
    assert second["previous_interaction_id"] != out["interaction_id"]  # chained on the first hop
    assert [s["type"] for s in second["input"]] == ["function_result", "function_result"]
    assert second["tools"] == first["tools"]
    # The next turn keeps the tools (and chains on the loop's last interaction).
    follow = await bridged.call_tool(
        "ask_gemini",
        {"prompt": "Again " + directive("local__echo", text="two"), "conversation": out["conversation"]},
    )
    assert "local__echo returned: echo: two" in text_of(follow)
    assert data(follow)["turn"] == 2
    third = requests_log(emulator)[2]["body"]
    assert third["previous_interaction_id"] == out["interaction_id"]


async def test_unknown_entries_and_servers_are_clear_errors(bridged: Client) -> None:
    result = await bridged.call_tool("ask_gemini", {"prompt": "hi", "tools": ["shell"]})
    assert result.is_error and "Unknown tools 'shell'" in text_of(result)
    result = await bridged.call_tool("ask_gemini", {"prompt": "hi", "tools": ["mcp:nope"]})
    assert result.is_error and "No MCP server 'nope'" in text_of(result) and "mcp:local" in text_of(result)


async def test_a_tool_the_conversation_did_not_enable_is_never_called(
    bridged: Client, emulator: Starlette
) -> None:
    prompt = directive("local__echo", text="only this")
    result = await bridged.call_tool("ask_gemini", {"prompt": prompt, "tools": ["mcp:local/echo"]})
    assert "echo: only this" in text_of(result)
    declared = [t["name"] for t in requests_log(emulator)[0]["body"]["tools"] if t["type"] == "function"]
    assert declared == ["local__echo"]


async def test_remote_servers_go_to_gemini_with_headers_that_never_come_back(
    bridged: Client, emulator: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    result = await bridged.call_tool(
        "ask_gemini",
        {"prompt": "Status? " + directive("remote.status", service="api"), "tools": ["mcp:remote"]},
    )
    (sent,) = [r["body"] for r in requests_log(emulator)]
    (tool,) = sent["tools"]
    assert tool == {
        "type": "mcp_server",
        "name": "remote",
        "url": "https://mcp.example.com/mcp",
        "headers": {"Authorization": SECRET},
    }
    listing = await bridged.read_resource("gemini://tools")
    conversations = await bridged.call_tool("list_conversations", {})
    for shown in [
        text_of(result),
        json.dumps(result.structured_content),
        caplog.text,
        str(listing),
        text_of(conversations),
    ]:
        assert "sk-remote-secret-42" not in shown


@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize("allow", [True, False])
async def test_writing_tools_are_confirmed_by_the_user_on_both_eras(
    emulator: Starlette, bridged_settings: ServerSettings, allow: bool, mode: str
) -> None:
    """2025 era: asked mid-call. 2026-07-28: the question rides an `input_required` result and the
    client's retry brings the answer; either way one question, one turn, the loop chained on."""
    questions: list[str] = []

    async def answer(context: Any, params: ElicitRequestParams) -> ElicitResult:
        questions.append(params.message)
        return ElicitResult(action="accept", content={"allow": allow})

    server = build_server(bridged_settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode=mode, elicitation_callback=answer) as client:
        prompt = (
            "Note it. " + directive("local__add_note", note="buy milk") + directive("local__echo", text="x")
        )
        result = await client.call_tool("ask_gemini", {"prompt": prompt, "tools": ["mcp:local"]})
        (question,) = questions
        assert "add_note" in question and "buy milk" in question
        text = text_of(result)
        if allow:
            assert "local__add_note returned: stored note #1: buy milk" in text
        else:
            assert "The user declined the call of local__add_note" in text
        assert "local__echo returned: echo: x" in text  # the round's other call ran once, either way
        out = data(result)
        assert [(c["name"], c["ok"]) for c in out["calls"]] == [
            ("local__add_note", allow),
            ("local__echo", True),
        ]
        assert out["turn"] == 1 and out["status"] == "completed"
        first, second = [r["body"] for r in requests_log(emulator)]  # nothing created twice
        assert "previous_interaction_id" not in first and second["previous_interaction_id"]
        assert [s["type"] for s in second["input"]] == ["function_result", "function_result"]
        if mode == "auto":  # the retry read the waiting interaction back, and went on from it
            (read,) = requests_log(emulator, "GET", second["previous_interaction_id"])
            assert read["method"] == "GET"
        follow = await client.call_tool("ask_gemini", {"prompt": "And?", "conversation": out["conversation"]})
        assert data(follow)["turn"] == 2
        assert requests_log(emulator)[2]["body"]["previous_interaction_id"] == out["interaction_id"]


async def test_a_conversation_that_moved_on_before_the_answer_runs_no_waiting_call(
    emulator: Starlette, bridged_settings: ServerSettings
) -> None:
    """2026-07-28: between the question and the retry another turn took the conversation on; the
    waiting calls are not run on a head that is no longer theirs."""
    clients: list[Client] = []

    async def answer_late(context: Any, params: ElicitRequestParams) -> ElicitResult:
        await clients[0].call_tool("ask_gemini", {"prompt": "Meanwhile.", "conversation": "busy"})
        return ElicitResult(action="accept", content={"allow": True})

    server = build_server(bridged_settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="auto", elicitation_callback=answer_late) as client:
        clients.append(client)
        prompt = directive("local__add_note", note="stale")
        result = await client.call_tool(
            "ask_gemini", {"prompt": prompt, "tools": ["mcp:local"], "conversation": "busy"}
        )
    assert result.is_error and "moved on while Gemini's calls waited" in text_of(result)
    assert not answering(emulator)


async def test_a_client_that_cannot_be_asked_gets_the_call_refused_with_how_to_trust(
    emulator: Starlette, bridged_settings: ServerSettings
) -> None:
    server = build_server(bridged_settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="legacy") as client:  # no elicitation callback: no capability
        result = await client.call_tool(
            "ask_gemini", {"prompt": directive("local__add_note", note="x"), "tools": ["mcp:local"]}
        )
    assert '"trust": true' in text_of(result) and "stored note" not in text_of(result)


@pytest.fixture
async def live_bridged(
    live_emulator: ServerThread, bridged_settings: ServerSettings
) -> AsyncIterator[Client]:
    """The bridged server on the emulator over loopback, for jobs whose streams arrive as they run."""
    server = build_server(bridged_settings, client_config=ClientConfig(base_url=live_emulator.url))
    async with Client(server) as c:
        yield c


async def test_past_the_deadline_the_job_finishes_the_loop(live_bridged: Client, emulator: Starlette) -> None:
    """The loop belongs to the job: the caller gets the handle, the watcher runs the calls and goes on."""
    await _deadline_then_poll(live_bridged, emulator)


async def _deadline_then_poll(bridged: Client, emulator: Starlette) -> None:
    prompt = "[[think 2]] Look it up " + directive("local__echo", text="late")
    started = await bridged.call_tool(
        "ask_gemini", {"prompt": prompt, "tools": ["mcp:local"], "wait_seconds": 1}
    )
    handle = data(started)
    assert handle["status"] == "in_progress"
    polled = await until_done(bridged, handle["interaction_id"])
    assert data(polled)["status"] == "completed"
    assert "local__echo returned: echo: late" in text_of(polled)
    assert "local__echo: ok" in text_of(polled) or any(
        "calling local__echo" in note for note in data(polled).get("progress", [])
    )
    follow = await bridged.call_tool(
        "ask_gemini", {"prompt": "And now?", "conversation": handle["conversation"]}
    )
    assert data(follow)["turn"] == 2
    bodies = [r["body"] for r in requests_log(emulator)]
    assert bodies[1]["previous_interaction_id"] == handle["interaction_id"]  # results chained on the handle
    assert [s["type"] for s in bodies[1]["input"]] == ["function_result"]
    assert bodies[2]["previous_interaction_id"] not in (None, handle["interaction_id"])  # head moved on


async def test_the_job_streams_the_interaction_that_answers_its_calls(
    live_bridged: Client, emulator: Starlette
) -> None:
    """After a round's results are sent, the job follows the next interaction's stream, as it followed
    the first: its thoughts become notes as they come, and its end is read at once, not found by polls
    a second or more apart."""
    prompt = "[[think 2]] Look it up " + directive("local__echo", text="late")
    started = await live_bridged.call_tool(
        "ask_gemini", {"prompt": prompt, "tools": ["mcp:local"], "wait_seconds": 1}
    )
    handle = data(started)
    assert handle["status"] == "in_progress", text_of(started)
    polled = await until_done(live_bridged, handle["interaction_id"])
    assert data(polled)["status"] == "completed", text_of(polled)
    log = emulator.state.emulator.requests()
    sent = next(
        i
        for i, r in enumerate(log)
        if r["method"] == "POST"
        and isinstance(r["body"].get("input"), list)
        and [s["type"] for s in r["body"]["input"]] == ["function_result"]
    )
    reads = [r for r in log[sent + 1 :] if r["method"] == "GET"]
    assert [r["query"].get("stream") for r in reads] == ["true", "false"], reads  # its stream, then its end


HANDED_ON_WITHIN = 15.0
"""Bound on ask_gemini returning while the held call still runs (it returns after wait_seconds, 1 s);
a server that outwaits the call never returns, since the test opens the gate only afterwards."""


def file_exists(path: Path) -> Callable[[], Awaitable[bool]]:
    return anyio.Path(path).exists


async def _hand_off_a_held_round(bridged: Client, gate: Path) -> dict[str, Any]:
    """Ask with wait_seconds 1 while Gemini's one call waits at `gate`; the pending result, once the
    call has begun."""
    prompt = "Wait for it " + directive("local__hold", gate=str(gate))
    with anyio.fail_after(HANDED_ON_WITHIN):
        started = await bridged.call_tool(
            "ask_gemini", {"prompt": prompt, "tools": ["mcp:local"], "wait_seconds": 1}
        )
    handle = data(started)
    assert handle["status"] == "in_progress", text_of(started)
    assert f"interaction_id={handle['interaction_id']!r}" in text_of(started)
    await async_wait_until(file_exists(gate.with_suffix(".calls")), what="the held call to begin")
    return handle


async def test_a_round_running_at_the_deadline_goes_on_in_the_job(
    live_bridged: Client, emulator: Starlette, tmp_path: Path
) -> None:
    """wait_seconds cuts the wait, not the round: the call runs on, once, and its result reaches Gemini."""
    gate = tmp_path / "gate"
    handle = await _hand_off_a_held_round(live_bridged, gate)
    assert not gate.exists()  # the call was still running when ask_gemini returned
    gate.write_text("the gate opened")
    polled = await until_done(live_bridged, handle["interaction_id"])
    assert data(polled)["status"] == "completed", text_of(polled)
    assert "The function local__hold returned: the gate opened" in text_of(polled)
    follow = await live_bridged.call_tool(
        "ask_gemini", {"prompt": "And now?", "conversation": handle["conversation"]}
    )
    assert data(follow)["turn"] == 2
    assert gate.with_suffix(".calls").read_text().splitlines() == ["called"]  # run once
    assert [b["previous_interaction_id"] for b in answering(emulator)] == [handle["interaction_id"]]


async def test_cancelling_a_turn_handed_on_mid_round_stops_its_calls(
    live_bridged: Client, emulator: Starlette, tmp_path: Path
) -> None:
    """Upstream cannot cancel an interaction that waits for function results: the job ends here, and
    its end cancels the round it took over."""
    gate = tmp_path / "gate"
    handle = await _hand_off_a_held_round(live_bridged, gate)
    cancelled = await live_bridged.call_tool(
        "cancel_interaction", {"interaction_id": handle["interaction_id"]}
    )
    assert not cancelled.is_error and data(cancelled)["status"] == "cancelled", text_of(cancelled)
    await async_wait_until(file_exists(gate.with_suffix(".cancelled")), what="the call to be cancelled")
    polled = await until_done(live_bridged, handle["interaction_id"])
    assert data(polled)["status"] == "cancelled"
    assert gate.with_suffix(".calls").read_text().splitlines() == ["called"]
    assert not answering(emulator)


async def test_a_round_handed_on_and_cut_by_a_restart_is_run_again_when_it_changes_nothing(
    live_emulator: ServerThread, bridged_settings: ServerSettings, tmp_path: Path
) -> None:
    """The server stopped while the handed-on round ran (its calls were cancelled with it): the job
    that adopted the turn knows the calls had begun, and the next process runs the read-only one again."""
    gate = tmp_path / "gate"
    settings = bridged_settings.model_copy(update={"state": str(tmp_path / "state.db")})
    config = ClientConfig(base_url=live_emulator.url)
    async with Client(build_server(settings, client_config=config)) as first:
        handle = await _hand_off_a_held_round(first, gate)
    gate.write_text("opened later")
    async with Client(build_server(settings, client_config=config)) as second:
        polled = await until_done(second, handle["interaction_id"])
    assert data(polled)["status"] == "completed", text_of(polled)
    assert "local__hold returned: opened later" in text_of(polled)
    assert gate.with_suffix(".calls").read_text().splitlines() == ["called", "called"]


async def test_a_client_that_cancels_its_ask_mid_round_stops_the_calls(
    emulator: Starlette, bridged_settings: ServerSettings, tmp_path: Path
) -> None:
    """Before the deadline the round is the request's: the MCP client's cancel stops its calls (the
    round runs apart from the request, so that it can outlive it at the deadline)."""
    gate = tmp_path / "gate"
    server = build_server(bridged_settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server) as bridged:
        async with anyio.create_task_group() as tg:
            prompt = "Wait for it " + directive("local__hold", gate=str(gate))
            arguments = {"prompt": prompt, "tools": ["mcp:local"], "wait_seconds": 300}
            tg.start_soon(bridged.call_tool, "ask_gemini", arguments)
            await async_wait_until(file_exists(gate.with_suffix(".calls")), what="the held call to begin")
            tg.cancel_scope.cancel()
        await async_wait_until(file_exists(gate.with_suffix(".cancelled")), what="the call to be cancelled")
    assert not answering(emulator)


@pytest.mark.parametrize(
    ("tool", "arguments"), [("local__echo", {"text": "again"}), ("local__add_note", {"note": "x"})]
)
async def test_after_a_restart_only_calls_that_change_nothing_are_run_again(
    live_emulator: ServerThread,
    bridged_settings: ServerSettings,
    tmp_path: Path,
    tool: str,
    arguments: dict[str, Any],
) -> None:
    settings = bridged_settings.model_copy(update={"state": str(tmp_path / "state.db")})
    config = ClientConfig(base_url=live_emulator.url)
    async with Client(build_server(settings, client_config=config)) as first:
        prompt = "[[think 2]] " + directive(tool, **arguments)
        started = await first.call_tool(
            "ask_gemini", {"prompt": prompt, "tools": ["mcp:local"], "wait_seconds": 1}
        )
    handle = data(started)["interaction_id"]
    # The process died after its watcher began the calls of the interaction it followed.
    store = await open_store(settings.state)
    job = await store.get_job("local", handle)
    assert job is not None and not job.is_finished
    await store.update_job(job.model_copy(update={"calls_started": handle}))
    await store.close()
    async with Client(build_server(settings, client_config=config)) as second:
        polled = await until_done(second, handle)
    if tool == "local__echo":  # read-only: run again, and the turn ends
        assert data(polled)["status"] == "completed" and "echo: again" in text_of(polled)
    else:
        assert data(polled)["status"] == "failed"
        assert "call of local__add_note was under way; it was not run again" in text_of(polled)


SENTINEL = "sk-sentinel-7f3a9c"


async def until_done(client: Client, interaction_id: str) -> Any:
    """Poll until the job is done; its last poll."""
    while True:
        polled = await client.call_tool(
            "poll_interaction", {"interaction_id": interaction_id, "wait_seconds": 20}
        )
        if polled.is_error or data(polled)["done"]:
            return polled


async def test_remote_server_headers_are_in_no_output_of_any_stored_interaction(
    live_emulator: ServerThread, emulator: Starlette, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Upstream echoes a stored interaction's `tools`, headers included: nothing that shows one (polls,
    gemini://interactions, reports, errors, lists, logs) may carry them on."""
    caplog.set_level(logging.DEBUG)
    quick_runs(emulator)  # the research is a job all the same
    config = tmp_path / "mcp.json"
    remote = {
        "httpUrl": "https://mcp.example.com/mcp",
        "headers": {"Authorization": f"Bearer {SENTINEL}", "X-Team": SENTINEL},
        "via": "gemini",
    }
    config.write_text(json.dumps({"mcpServers": {"remote": remote}}))
    settings = ServerSettings(state=str(tmp_path / "state.db"), mcp_config=config)
    shown: list[str] = []
    server = build_server(settings, client_config=ClientConfig(base_url=live_emulator.url))
    async with Client(server) as client:

        async def show(result: Any) -> Any:
            shown.append(str(result))  # every text, structured content and resource text in it
            return result

        prompt = "[[think 2]] Status? " + directive("remote.status", service="api")
        arguments = {"prompt": prompt, "tools": ["mcp:remote"], "wait_seconds": 1}
        started = await show(await client.call_tool("ask_gemini", arguments))
        handle = data(started)["interaction_id"]
        polled = await show(await until_done(client, handle))
        assert data(polled)["status"] == "completed" and "called remote.status" in text_of(polled)
        await show(await client.read_resource(f"gemini://interactions/{handle}"))
        research = await show(
            await client.call_tool("start_deep_research", {"query": "deploys", "mcp_servers": ["remote"]})
        )
        report = await show(await until_done(client, data(research)["interaction_id"]))
        assert data(report)["status"] == "completed"
        await show(await client.read_resource(f"gemini://interactions/{data(research)['interaction_id']}"))
        blocked = await show(
            await client.call_tool(
                "ask_gemini", {"prompt": "[[blocked]]", "conversation": data(started)["conversation"]}
            )
        )
        assert "blocked" in text_of(blocked).lower() or blocked.is_error
        await show(await client.call_tool("list_conversations", {}))
        await show(await client.read_resource("gemini://tools"))
    sent = [r["body"] for r in requests_log(emulator)]
    assert sum(SENTINEL in json.dumps(body) for body in sent) >= 2  # it did go upstream (turn, research)
    async with httpx2.AsyncClient(base_url=live_emulator.url) as upstream:
        echoed = await upstream.get(f"/v1beta/interactions/{handle}", headers={"x-goog-api-key": "test"})
    assert SENTINEL in echoed.text  # upstream echoes them on a GET
    for output in [*shown, caplog.text]:
        assert SENTINEL not in output


async def test_agent_runs_call_your_tools_in_their_job(bridged: Client, emulator: Starlette) -> None:
    """run_agent takes the same entries: the job's watcher runs the calls and the run goes on in its
    sandbox; the conversation keeps them for the next run."""
    emulator.state.emulator.configure(agent_seconds=0)  # the same hops, with nothing left to wait for
    prompt = "Check the repo. " + directive("local__echo", text="hi") + directive("workspace__list_dir")
    started = await bridged.call_tool("run_agent", {"input": prompt, "tools": ["mcp:local", "workspace"]})
    handle = data(started)["interaction_id"]
    polled = await until_done(bridged, handle)
    assert data(polled)["status"] == "completed", text_of(polled)
    assert "The function local__echo returned: echo: hi" in text_of(polled)
    assert "The function workspace__list_dir returned:" in text_of(polled) and "notes.md" in text_of(polled)
    first, second = [r["body"] for r in requests_log(emulator)]
    declared = {t["name"] for t in first["tools"] if t["type"] == "function"}
    assert {"local__echo", "workspace__list_dir"} <= declared
    assert second["agent"] == first["agent"] and second["previous_interaction_id"] == handle
    assert second["environment"] not in (None, "remote")  # the same sandbox
    assert [s["type"] for s in second["input"]] == ["function_result", "function_result"]
    again = await bridged.call_tool(
        "run_agent",
        {
            "input": "Once more " + directive("local__echo", text="two"),
            "conversation": data(started)["conversation"],
        },
    )
    assert "echo: two" in text_of(await until_done(bridged, data(again)["interaction_id"]))
    refused = await bridged.call_tool("run_agent", {"input": "x", "tools": ["google_search"]})
    assert refused.is_error and "come with the agent (manage_agent)" in text_of(refused)


ROUND_ONE_WITHIN = 2
"""The wait_seconds within which round 1 (a hop, an echo on a started server, a hop: 0.1 s on an idle
machine) is the request's; the test spends it all, as round 2 holds until the hand-off."""


async def test_the_round_limit_holds_across_the_hand_off_to_a_job(
    live_emulator: ServerThread, emulator: Starlette, bridged_settings: ServerSettings, tmp_path: Path
) -> None:
    """--max-tool-rounds bounds the whole turn: the job that takes it over mid-round goes on counting
    from the rounds the request answered. With a limit of 2, round 1 (echo) is the request's; its
    result tells Gemini to call hold (round 2), which is handed on at the deadline; every hold's result
    asks for another, and a third round would be over the limit."""
    gate = tmp_path / "gate"
    again = directive("local__hold", gate=str(gate))
    settings = bridged_settings.model_copy(update={"max_tool_rounds": 2})
    async with Client(
        build_server(settings, client_config=ClientConfig(base_url=live_emulator.url))
    ) as client:
        warm = {"prompt": directive("local__echo", text="warm"), "tools": ["mcp:local"]}
        assert data(await client.call_tool("ask_gemini", warm))["status"] == "completed"  # server started
        prompt = directive("local__echo", text=again)
        arguments = {"prompt": prompt, "tools": ["mcp:local"], "wait_seconds": ROUND_ONE_WITHIN}
        with anyio.fail_after(HANDED_ON_WITHIN):
            started = await client.call_tool("ask_gemini", arguments)
        handle = data(started)
        assert handle["status"] == "in_progress", text_of(started)
        assert [c["name"] for c in handle["calls"]] == ["local__echo"]  # round 1 was answered in the request
        await async_wait_until(file_exists(gate.with_suffix(".calls")), what="the held call to begin")
        gate.write_text(again)  # each hold now answers at once, asking for another
        polled = await until_done(client, handle["interaction_id"])
    assert "after 2 rounds (the limit, --max-tool-rounds)" in text_of(polled)
    assert gate.with_suffix(".calls").read_text().splitlines() == ["called"]  # round 2 only
    assert len(answering(emulator)) == 1 + 2  # the warm-up's round, then rounds 1 and 2 (no third)
