"""stdio's early replies (the first message, and the tool list from the last start's snapshot): answered
before the SDK is imported, and exactly what the SDK would say; the wire served from the event loop."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from gemini_interactions_mcp.identity import SERVER_NAME
from gemini_interactions_mcp.transport.early_replies import (
    HANDSHAKE_VERSIONS,
    MODERN_VERSIONS,
    EarlyReplies,
    early_answer,
)
from gemini_interactions_mcp.transport.stdio import StdioChannel
from gemini_interactions_mcp.transport.tool_snapshot import KEPT_ANSWERS, SNAPSHOT_FILE, ToolListSnapshot

from .test_transports import console_script

DISCOVER = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "server/discover",
    "params": {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    },
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": "init",
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
TOOLS_LIST_2026 = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/list",
    "params": {"_meta": DISCOVER["params"]["_meta"]},  # type: ignore[index]
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def test_the_early_answer_knows_the_sdks_versions() -> None:
    assert MODERN_VERSIONS == MODERN_PROTOCOL_VERSIONS
    assert HANDSHAKE_VERSIONS == HANDSHAKE_PROTOCOL_VERSIONS


def test_nothing_heavy_is_imported_before_the_first_reply() -> None:
    """The command line and the stdio channel load neither the SDK nor pydantic (nor asyncio, 30 ms)."""
    probe = (
        "import sys, gemini_interactions_mcp.cli, gemini_interactions_mcp.transport.stdio;"
        "print(sorted(m for m in ('mcp', 'pydantic', 'anyio', 'httpx2', 'asyncio') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def serve(
    tmp_path: Path, *messages: dict[str, Any], stdin: Path | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Run the console script over stdio with these messages (written at once, or read from the file
    `stdin`); its replies (read before stdin is closed, so no request is cut short by the shutdown) and
    its stderr. The tool list snapshot lives in tmp_path/cache."""
    errors = tmp_path / "stderr.log"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with errors.open("wb") as errlog:
        server = subprocess.Popen(
            [console_script(), "serve", "--state", "memory", "--log-level", "INFO"],
            stdin=subprocess.PIPE if stdin is None else stdin.open("rb"),
            stdout=subprocess.PIPE,
            stderr=errlog,
            cwd=tmp_path,
            env=env,
        )
        assert server.stdout is not None
        if server.stdin is not None:
            server.stdin.write(b"".join(line(m) for m in messages))
            server.stdin.flush()
        replies = [json.loads(server.stdout.readline() or "null") for m in messages if "id" in m]
        if server.stdin is not None:
            server.stdin.close()
        assert server.wait(timeout=60) == 0
        assert server.stdout.read() == b"", "nothing after the last reply"
    return replies, errors.read_text()


def snapshot_of(tmp_path: Path) -> dict[str, Any]:
    return dict(json.loads((tmp_path / "cache" / SERVER_NAME / SNAPSHOT_FILE).read_text()))


def test_a_first_message_it_cannot_vouch_for_is_left_to_the_sdk(tmp_path: Path) -> None:
    unknown_version = {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "2024-01-01"}}  # type: ignore[dict-item]
    assert early_answer(line(unknown_version)) is None
    replies, _ = serve(tmp_path, unknown_version, INITIALIZED, TOOLS_LIST)
    assert replies[0]["result"]["protocolVersion"] == HANDSHAKE_PROTOCOL_VERSIONS[-1]
    assert [r["id"] for r in replies] == ["init", 2]


@pytest.mark.parametrize(
    ("first", "then"),
    [(DISCOVER, [TOOLS_LIST_2026]), (INITIALIZE, [INITIALIZED, TOOLS_LIST])],
    ids=["2026-07-28", "2025-era"],
)
def test_the_tool_list_of_the_last_start_is_given_early(
    tmp_path: Path, first: dict[str, Any], then: list[dict[str, Any]]
) -> None:
    """The first start (no snapshot yet): the SDK still answers the first request, and its reply is
    dropped and compared with the early one. The SDK's tool list is stored; the next start gives it
    before the SDK is loaded (a stored answer made stale on purpose shows which one the client got), and
    the SDK's own answer still wins for the next start: the difference is logged and stored. (One test,
    as each start of the server costs a second.)"""
    replies, stderr = serve(tmp_path, first, *then)
    assert [r["id"] for r in replies] == [first["id"], 2], "one reply per request: the duplicate is dropped"
    assert replies[0] == early_answer(line(first))
    assert "ask_gemini" in {tool["name"] for tool in replies[1]["result"]["tools"]}
    assert "differed" not in stderr and "Traceback" not in stderr
    stored = snapshot_of(tmp_path)
    assert list(stored.values()) == [replies[1]["result"]]
    key = next(iter(stored))
    stale = {**replies[1]["result"], "tools": replies[1]["result"]["tools"][:1]}
    (tmp_path / "cache" / SERVER_NAME / SNAPSHOT_FILE).write_text(json.dumps({key: stale}))

    again, stderr = serve(tmp_path, first, *then)
    assert [r["id"] for r in again] == [first["id"], 2], "one reply per request: the duplicate is dropped"
    assert again[1]["result"] == stale, "answered early, from the snapshot"
    assert "differed" in stderr
    assert snapshot_of(tmp_path) == {key: replies[1]["result"]}, "the SDK's answer is stored for next time"

    last, stderr = serve(tmp_path, first, *then)
    assert last == replies
    assert "differed" not in stderr and "Traceback" not in stderr


def test_a_later_page_or_another_build_is_not_answered_from_the_snapshot(tmp_path: Path) -> None:
    snapshot = ToolListSnapshot.open(tmp_path)
    assert snapshot.key("2025-06-18", {"cursor": "next"}) is None
    key = snapshot.key("2025-06-18", None)
    assert key is not None and key != snapshot.key("2025-11-25", None)
    snapshot.store(key, {"tools": []})
    assert ToolListSnapshot.open(tmp_path).answer(key) == {"tools": []}
    other_build = ToolListSnapshot(tmp_path / SNAPSHOT_FILE, "another build", {key: {"tools": []}})
    assert other_build.key("2025-06-18", None) != key
    for n in range(KEPT_ANSWERS + 1):
        snapshot.store(f"key{n}", {"tools": []})
    assert len(snapshot_of_file(tmp_path)) == KEPT_ANSWERS, "old builds' answers do not pile up"
    (tmp_path / SNAPSHOT_FILE).write_text("{broken")
    assert ToolListSnapshot.open(tmp_path).answer("key8") is None


def snapshot_of_file(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / SNAPSHOT_FILE).read_text()))


def test_stdin_from_a_file_is_served_too(tmp_path: Path) -> None:
    """A file (not a pipe) cannot be served by the event loop: blocking reads on a thread serve it."""
    messages = tmp_path / "messages.jsonl"
    messages.write_bytes(b"".join(line(m) for m in (INITIALIZE, INITIALIZED, TOOLS_LIST)))
    replies, stderr = serve(tmp_path, INITIALIZE, INITIALIZED, TOOLS_LIST, stdin=messages)
    assert [r["id"] for r in replies] == ["init", 2]
    assert "Traceback" not in stderr


def channel_on_pipes() -> tuple[StdioChannel, int, int]:
    """A channel on fresh pipes, without a snapshot: the channel, the client's end to write to it and
    to read from it."""
    server_reads, client_writes = os.pipe()
    client_reads, server_writes = os.pipe()
    replies = EarlyReplies()
    replies.use_snapshot(None)
    return StdioChannel(server_reads, server_writes, replies), client_writes, client_reads


@pytest.mark.anyio
async def test_a_differing_sdk_reply_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    channel, to_server, from_server = channel_on_pipes()
    os.write(to_server, line(DISCOVER))
    channel.start()
    with os.fdopen(from_server, "rb") as replies:
        assert json.loads(replies.readline()) == early_answer(line(DISCOVER))
        assert json.loads(await channel.__anext__()) == DISCOVER, "the SDK sees the line all the same"
        sdk_reply = {**early_answer(line(DISCOVER)), "result": {"changed": True}}  # type: ignore[dict-item]
        with caplog.at_level(logging.WARNING):
            await channel.write(json.dumps(sdk_reply) + "\n")
        assert "differed" in caplog.text
        await channel.write('{"jsonrpc":"2.0","id":7,"result":{}}\n')
        assert json.loads(replies.readline())["id"] == 7, "the SDK's reply to the early one was dropped"
    channel.close()
    for fd in (to_server, channel._in, channel._out):
        os.close(fd)


@pytest.mark.anyio
async def test_the_event_loop_serves_big_messages_and_pipelined_lines() -> None:
    """Lines the early thread read ahead come first, then the pipe, in order; a message far larger than
    a pipe's buffer goes through whole both ways; the descriptors are blocking again after close."""
    channel, to_server, from_server = channel_on_pipes()
    big = {"jsonrpc": "2.0", "id": 3, "method": "ping", "params": {"text": "x" * 300_000}}
    os.write(to_server, line(INITIALIZE) + line(INITIALIZED))
    channel.start()
    with os.fdopen(from_server, "rb") as replies:
        assert json.loads(replies.readline())["id"] == "init"
        assert json.loads(await channel.__anext__())["id"] == "init"
        assert json.loads(await channel.__anext__()) == INITIALIZED
        with os.fdopen(to_server, "wb") as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(anyio.to_thread.run_sync, lambda: (client.write(line(big)), client.flush()))
                assert json.loads(await channel.__anext__()) == big
            reply = {"jsonrpc": "2.0", "id": 3, "result": {"text": "y" * 300_000}}
            async with anyio.create_task_group() as tg:
                tg.start_soon(channel.write, json.dumps(reply) + "\n")
                assert json.loads(await anyio.to_thread.run_sync(replies.readline)) == reply
        with pytest.raises(StopAsyncIteration):
            await channel.__anext__()
    channel.close()
    assert os.get_blocking(channel._in) and os.get_blocking(channel._out)
    os.close(channel._in)
    os.close(channel._out)


@pytest.mark.anyio
async def test_a_client_slower_than_the_sdk_still_leaves_a_snapshot(tmp_path: Path) -> None:
    """The first message arrives after the SDK took over (nothing answered early): the SDK's tool list
    is stored all the same, for the next start."""
    channel, to_server, from_server = channel_on_pipes()
    replies = EarlyReplies()
    replies.use_snapshot(ToolListSnapshot.open(tmp_path))
    channel._replies = replies
    channel.start()
    await channel._take_over()  # what the SDK's first read does
    os.write(to_server, line(INITIALIZE) + line(INITIALIZED) + line(TOOLS_LIST))
    assert json.loads(await channel.__anext__()) == INITIALIZE
    os.set_blocking(from_server, False)
    with pytest.raises(BlockingIOError):
        os.read(from_server, 1)  # nothing was answered early
    assert json.loads(await channel.__anext__()) == INITIALIZED
    assert json.loads(await channel.__anext__()) == TOOLS_LIST
    listed = {"jsonrpc": "2.0", "id": 2, "result": {"tools": [{"name": "t"}]}}
    await channel.write(json.dumps(listed) + "\n")
    (stored,) = snapshot_of_file(tmp_path).values()
    assert stored == listed["result"]
    channel.close()
    for fd in (to_server, from_server, channel._in, channel._out):
        os.close(fd)


def test_without_a_home_folder_the_server_starts_without_a_snapshot(tmp_path: Path) -> None:
    """No HOME and no XDG_CACHE_HOME (a bare container): the tool list simply comes from the SDK."""
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    probe = (
        "import os, pathlib; pathlib.Path.home = classmethod(lambda cls: (_ for _ in ()).throw("
        "RuntimeError('Could not determine home directory.')));"
        "from gemini_interactions_mcp.transport.stdio import StdioChannel; StdioChannel.claim(); print('ok')"
    )
    started = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert started.returncode == 0, started.stderr
