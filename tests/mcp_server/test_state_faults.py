"""The state file under attack while a real server runs (stdio, its own process): the server survives,
each call gets a one-line tool error that says what to do, and calls succeed again afterwards."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.helpers import principals
from tests.helpers.results import data, text_of
from tests.helpers.unwritable import immutable

from .test_transports import console_script

pytestmark = pytest.mark.anyio


def server(state: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=console_script(),
        args=["serve", "--emulator", "--state", str(state)],
        cwd=str(state.parent),
    )


async def test_state_files_made_immutable_give_clear_tool_errors_then_recover(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    async with Client(server(state)) as client:
        first = data(await client.call_tool("ask_gemini", {"prompt": "Remember 7.", "conversation": "kept"}))
        files = [state, Path(f"{state}-wal"), Path(f"{state}-shm")]
        with immutable(*files):  # this used to kill the server with SIGBUS
            for tool, arguments in [
                ("list_conversations", {}),
                ("ask_gemini", {"prompt": "And 8.", "conversation": "kept"}),
            ]:
                refused = await client.call_tool(tool, arguments)
                assert refused.is_error
                message = text_of(refused)
                assert str(state) in message and "not writable" in message and "chattr -i" in message
                assert "carries on as soon as it is" in message and "Traceback" not in message
        again = data(await client.call_tool("ask_gemini", {"prompt": "And 9.", "conversation": "kept"}))
        assert again["conversation"] == first["conversation"]
        listed = data(await client.call_tool("list_conversations", {}))
        assert [c["id"] for c in listed["conversations"]] == [first["conversation"]]


async def test_a_state_file_deleted_under_a_running_server_is_recreated_with_everything(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.sqlite3"
    async with Client(server(state)) as client:
        first = data(await client.call_tool("ask_gemini", {"prompt": "Remember 7.", "conversation": "kept"}))
        for suffix in ("", "-wal", "-shm"):
            os.unlink(f"{state}{suffix}")
        data(await client.call_tool("ask_gemini", {"prompt": "And 8.", "conversation": "kept"}))
        assert state.exists()
    async with Client(server(state)) as restarted:  # a new process reads what the old one wrote
        listed = data(await restarted.call_tool("list_conversations", {}))
        (kept,) = listed["conversations"]
        assert kept["id"] == first["conversation"] and kept["turns"] == 2


async def test_over_http_a_store_failure_names_no_path_and_the_log_keeps_it(
    emulator_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A remote caller can neither use nor should learn the server's paths; its operator needs them."""
    state = tmp_path / "state.sqlite3"
    with principals.http_server(emulator_url, tmp_path, state=str(state)) as running:
        async with principals.connect(running, principals.ALICE) as alice:
            data(await alice.call_tool("ask_gemini", {"prompt": "Remember 7.", "conversation": "kept"}))
            files = [state, Path(f"{state}-wal"), Path(f"{state}-shm")]
            with immutable(*files), caplog.at_level(logging.WARNING):
                refused = await alice.call_tool("list_conversations", {})
            assert refused.is_error
            message = text_of(refused)
            assert message.endswith(
                "The server's state file is not writable: nothing of this call was saved. Try again later; "
                "the server's log tells its operator what to fix."
            )
            assert str(tmp_path) not in message
            assert any(str(state) in r.getMessage() and "chattr -i" in r.getMessage() for r in caplog.records)
            assert data(await alice.call_tool("list_conversations", {}))["conversations"]
