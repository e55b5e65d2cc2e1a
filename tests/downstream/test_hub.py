"""Downstream MCP servers through the hub: lazy start, declarations, calls, timeouts, crashes, changes."""

from __future__ import annotations

import sys

import anyio
import pytest
from pydantic import SecretStr

from gemini_interactions_mcp.downstream.config import ServerConfig
from gemini_interactions_mcp.downstream.connection import STDERR_LINE_CHARS
from gemini_interactions_mcp.downstream.functions import CallOutcome
from gemini_interactions_mcp.downstream.hub import SelectionError
from tests.helpers.downstream import MALFORMED_SCRIPT, HubFactory, stdio_config
from tests.helpers.thirdparty import MCP_SERVER_TIME, installed_command
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio


def text(outcome: CallOutcome) -> str:
    return "\n".join(b.get("text", "") for b in outcome.result)


async def test_declarations_name_every_tool_and_follow_the_filters(make_hub: HubFactory) -> None:
    hub = make_hub(stdio_config(exclude_tools=frozenset({"crash"})))
    box = await hub.toolbox(["mcp:test"])
    assert set(box.functions) == {
        "test__echo",
        "test__slow",
        "test__meet",
        "test__hold",
        "test__add_note",
        "test__picture",
        "test__fail",
        "test__grow",
        "test__shout",
    }
    echo = box.functions["test__echo"]
    assert echo.read_only and not echo.needs_confirmation
    assert box.functions["test__add_note"].needs_confirmation
    assert echo.declaration()["parameters"] == {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    }
    one = await hub.toolbox(["mcp:test/echo", "workspace"])
    assert set(one.functions) == {
        "test__echo",
        "workspace__list_dir",
        "workspace__read_file",
        "workspace__search",
    }
    with pytest.raises(SelectionError, match=r"No MCP server .nope..*Configured: mcp:test"):
        await hub.toolbox(["mcp:nope"])


async def test_calls_parallel_results_errors_and_images(make_hub: HubFactory) -> None:
    hub = make_hub(stdio_config())
    box = await hub.toolbox(["mcp:test"])
    results: dict[int, CallOutcome] = {}

    async def call(i: int) -> None:
        results[i] = await hub.call(box.functions["test__meet"], {"count": 4})

    async with anyio.create_task_group() as tg:
        for i in range(4):
            tg.start_soon(call, i)
    assert [text(results[i]) for i in range(4)] == ["met 4"] * 4  # the four calls ran at once
    failed = await hub.call(box.functions["test__fail"], {})
    assert failed.is_error and "the ticket system is down" in text(failed)
    picture = await hub.call(box.functions["test__picture"], {})
    assert picture.result[0]["type"] == "image" and picture.result[0]["mime_type"] == "image/png"


async def test_a_slow_tool_hits_its_timeout_and_the_server_stays_usable(make_hub: HubFactory) -> None:
    hub = make_hub(stdio_config(timeout_seconds=0.5))
    box = await hub.toolbox(["mcp:test"])
    outcome = await hub.call(box.functions["test__slow"], {"seconds": 30})
    assert outcome.is_error and "timed out" in text(outcome) and "0.5 s" in text(outcome)
    assert text(await hub.call(box.functions["test__echo"], {"text": "still here"})) == "echo: still here"


async def test_a_long_result_is_cut_with_a_note(make_hub: HubFactory) -> None:
    hub = make_hub(stdio_config())
    box = await hub.toolbox(["mcp:test/echo"])
    outcome = await hub.call(box.functions["test__echo"], {"text": "x" * 150_000})
    kept, note = outcome.result
    assert not outcome.is_error and len(kept["text"]) == 100_000
    assert note["text"] == "[result cut to 100,000 of 150,006 characters]"


async def test_a_crash_mid_call_is_an_error_result_and_the_server_comes_back(make_hub: HubFactory) -> None:
    hub = make_hub(stdio_config())
    box = await hub.toolbox(["mcp:test"])
    crashed = await hub.call(box.functions["test__crash"], {})
    assert crashed.is_error and "being restarted" in text(crashed) and "about to crash" in text(crashed)
    again = await hub.call(box.functions["test__echo"], {"text": "back"})
    assert text(again) == "echo: back", text(again)
    (state,) = await hub.describe()
    assert state.state == "ready" and state.restarts >= 1


async def test_a_servers_last_words_never_show_its_configured_secrets(make_hub: HubFactory) -> None:
    token = "tok-" + "9f3a" * 6
    hub = make_hub(stdio_config(env={"TEST_TOKEN": SecretStr(token)}))
    box = await hub.toolbox(["mcp:test"])
    crashed = await hub.call(box.functions["test__crash"], {})
    assert "about to crash, token [redacted]" in text(crashed)
    assert token not in text(crashed)


async def test_a_stderr_line_without_end_is_kept_in_pieces(make_hub: HubFactory) -> None:
    hub = make_hub(stdio_config())
    box = await hub.toolbox(["mcp:test"])
    died = await hub.call(box.functions["test__shout"], {"count": 3_000_000})
    assert died.is_error and "its last output: 'xxx" in text(died)
    assert len(text(died)) < 3 * STDERR_LINE_CHARS


async def test_a_secret_cut_between_two_stderr_pieces_is_still_masked(make_hub: HubFactory) -> None:
    token = "tok-" + "7e5d" * 6
    hub = make_hub(stdio_config(env={"TEST_TOKEN": SecretStr(token)}))
    box = await hub.toolbox(["mcp:test"])
    cut_after = 10  # the first piece ends with the token's first 10 characters, the next has the rest
    died = await hub.call(
        box.functions["test__shout"], {"count": STDERR_LINE_CHARS - cut_after, "then_token": True}
    )
    assert died.is_error and "[redacted]" in text(died), text(died)
    assert token[cut_after:] not in text(died)


async def test_a_malformed_result_is_an_error_result_not_an_exception(make_hub: HubFactory) -> None:
    config = ServerConfig(
        name="bad", transport="stdio", command=sys.executable, args=(str(MALFORMED_SCRIPT),)
    )
    hub = make_hub(config)
    box = await hub.toolbox(["mcp:bad"])
    outcome = await hub.call(box.functions["bad__broken"], {})
    assert outcome.is_error and text(outcome) == (
        "bad__broken failed: its answer is not a valid tool result (ValidationError)."
    )


async def test_the_tool_list_follows_list_changed(make_hub: HubFactory) -> None:
    hub = make_hub(stdio_config())
    box = await hub.toolbox(["mcp:test"])
    assert "test__extra" not in box.functions
    await hub.call(box.functions["test__grow"], {})

    async def has_extra() -> bool:
        return "test__extra" in (await hub.toolbox(["mcp:test"])).functions

    await async_wait_until(has_extra, what="the new tool to be listed")


async def test_a_server_that_cannot_start_is_a_note_not_a_failure(make_hub: HubFactory) -> None:
    broken = ServerConfig(name="ghost", transport="stdio", command="/nonexistent/mcp-server")
    hub = make_hub(broken, stdio_config())
    box = await hub.toolbox(["mcp:ghost", "mcp:test/echo"])
    assert list(box.functions) == ["test__echo"]
    assert any("'ghost' is unavailable" in note for note in box.notes)
    states = {s.name: s for s in await hub.describe()}
    assert states["ghost"].state in ("restarting", "failed") and states["ghost"].error
    assert states["test"].state == "ready" and len(states["test"].tools) == 10


async def test_remote_servers_become_gemini_mcp_server_tools(make_hub: HubFactory) -> None:
    from pydantic import SecretStr

    remote = ServerConfig(
        name="deploy-tracker",
        transport="http",
        url="https://mcp.example.com/mcp",
        headers={"Authorization": SecretStr("Bearer t0ken")},
        via_gemini=True,
    )
    hub = make_hub(remote)
    box = await hub.toolbox(["mcp:deploy-tracker/status"])
    assert box.functions == {}
    assert box.remote == [
        {
            "type": "mcp_server",
            "name": "deploy_tracker",
            "url": "https://mcp.example.com/mcp",
            "headers": {"Authorization": "Bearer t0ken"},
            "allowed_tools": [{"mode": "auto", "tools": ["status"]}],
        }
    ]
    (state,) = await hub.describe()
    assert state.state == "handed to Gemini" and "t0ken" not in state.model_dump_json()


async def test_a_third_party_server_from_pypi(make_hub: HubFactory) -> None:
    """mcp-server-time, installed from PyPI into its own environment, works through the bridge."""
    command = await anyio.to_thread.run_sync(installed_command, *MCP_SERVER_TIME)
    hub = make_hub(
        ServerConfig(name="time", transport="stdio", command=str(command), args=("--local-timezone", "UTC"))
    )
    box = await hub.toolbox(["mcp:time"])
    assert {"time__get_current_time", "time__convert_time"} <= set(box.functions)
    now = await hub.call(box.functions["time__get_current_time"], {"timezone": "Asia/Tokyo"})
    assert not now.is_error and "Asia/Tokyo" in text(now)
    converted = await hub.call(
        box.functions["time__convert_time"],
        {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Europe/Berlin"},
    )
    assert not converted.is_error and "Europe/Berlin" in text(converted)
    wrong = await hub.call(box.functions["time__get_current_time"], {"timezone": "Mars/Olympus"})
    assert wrong.is_error
