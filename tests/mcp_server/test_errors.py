"""Every failure reaches the model as an actionable message: no traceback, no secret."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig
from tests.helpers import principals
from tests.helpers.results import text_of

from .conftest import requests_log

pytestmark = pytest.mark.anyio


async def ask_error(server_settings: ServerSettings, app: Starlette, arguments: dict[str, object]) -> str:
    async with Client(build_server(server_settings, transport=httpx2.ASGITransport(app=app))) as c:
        result = await c.call_tool("ask_gemini", arguments)
    assert result.is_error
    message = text_of(result)
    assert "Traceback" not in message
    return message


async def test_no_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, settings: ServerSettings) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_BASE_URL", raising=False)
    async with Client(build_server(settings)) as c:
        result = await c.call_tool("ask_gemini", {"prompt": "hi"})
    assert result.is_error
    assert "GEMINI_API_KEY" in text_of(result) and "--emulator" in text_of(result)


async def test_bad_key_is_reported_without_the_key(
    monkeypatch: pytest.MonkeyPatch, settings: ServerSettings
) -> None:
    app = create_app(EmulatorConfig(api_key="the-right-key"))
    monkeypatch.setenv("GEMINI_API_KEY", "sk-wrong-secret-123")
    config = ClientConfig.from_env(base_url="http://emulator.local")
    async with Client(
        build_server(settings, transport=httpx2.ASGITransport(app=app), client_config=config)
    ) as c:
        result = await c.call_tool("ask_gemini", {"prompt": "hi"})
    assert result.is_error
    message = text_of(result)
    assert "refused the API key" in message and "GEMINI_API_KEY" in message
    assert "sk-wrong-secret-123" not in message


async def test_quota_says_when_to_retry(emulator: Starlette, settings: ServerSettings) -> None:
    emulator.state.emulator.add_fault(
        {"kind": "error", "status": 429, "count": 50, "retry_after_ms": 1, "path": "/interactions"}
    )
    message = await ask_error(settings, emulator, {"prompt": "hi"})
    assert "HTTP 429" in message and "Retry" in message


async def test_upstream_bad_request_text_is_passed_on(emulator: Starlette, settings: ServerSettings) -> None:
    text = "The value 'nonsense' is not supported for 'type' at 'response_format.schema'."
    emulator.state.emulator.add_fault(
        {"kind": "error", "status": 400, "message": text, "path": "/interactions"}
    )
    message = await ask_error(settings, emulator, {"prompt": "hi", "response_schema": {"type": "nonsense"}})
    assert "HTTP 400" in message and text in message


async def test_file_outside_allowed_roots_is_refused(emulator: Starlette, settings: ServerSettings) -> None:
    message = await ask_error(settings, emulator, {"prompt": "read", "files": ["/etc/hostname"]})
    assert "/etc/hostname" in message


async def test_file_inside_root_is_sent(emulator: Starlette, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("The launch code is pineapple.")
    settings = ServerSettings(state="memory", allow_dirs=(tmp_path,))
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as c:
        result = await c.call_tool("ask_gemini", {"prompt": "What is in the file?", "files": ["notes.txt"]})
    assert not result.is_error, text_of(result)
    body = requests_log(emulator)[-1]["body"]
    blocks = body["input"][0]["content"]
    assert any("pineapple" in b.get("text", "") for b in blocks)


async def test_safety_block_says_to_rephrase(emulator: Starlette, settings: ServerSettings) -> None:
    message = await ask_error(settings, emulator, {"prompt": "Something unsafe [[blocked]]"})
    assert "safety" in message and "Rephrase" in message


async def test_stream_error_event_is_reported(emulator: Starlette, settings: ServerSettings) -> None:
    emulator.state.emulator.add_fault({"kind": "error", "status": 503, "count": 50, "retry_after_ms": 1})
    message = await ask_error(settings, emulator, {"prompt": "hi"})
    assert "HTTP 503" in message and "Try" in message


async def test_client_roots_bound_local_files_on_stdio(emulator: Starlette, tmp_path: Path) -> None:
    from mcp.types import ListRootsResult, Root

    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "spec.md").write_text("The widget is blue.")
    (tmp_path / "server-only.txt").write_text("not in the workspace")

    async def roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=workspace.as_uri())])  # type: ignore[arg-type]

    settings = ServerSettings(state="memory", allow_dirs=(tmp_path,))
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="legacy", list_roots_callback=roots) as c:
        inside = await c.call_tool("ask_gemini", {"prompt": "Read it", "files": ["spec.md"]})
        outside = await c.call_tool(
            "ask_gemini", {"prompt": "Read it", "files": [str(tmp_path / "server-only.txt")]}
        )
    assert not inside.is_error, text_of(inside)
    assert outside.is_error and "server-only.txt" in text_of(outside)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("list_conversations", {"offset": 2**63}),
        ("poll_interaction", {"interaction_id": "v1_x", "offset": 2**63}),
    ],
)
async def test_every_offset_has_a_maximum(client: Client, tool: str, arguments: dict[str, object]) -> None:
    """An offset past int64 once reached SQLite as an OverflowError: the tool's input model refuses it.
    (The advertised schema leaves out maxima that only guard against absurd numbers: tools/_schema.py.)"""
    result = await client.call_tool(tool, arguments)
    assert result.is_error and "less than or equal to" in text_of(result)
    assert "Traceback" not in text_of(result)


async def test_a_store_failure_is_one_line_for_the_model() -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    from gemini_interactions_mcp.state import StoreError
    from gemini_interactions_mcp.tools._common import run_service

    async def failing() -> None:
        raise StoreError("database or disk is full\n(state file /tmp/x.sqlite3)")

    with pytest.raises(ToolError) as caught:
        await run_service(failing())
    assert str(caught.value) == (
        "The server's state store failed: database or disk is full (state file /tmp/x.sqlite3)"
    )


async def test_a_store_that_cannot_serve_speaks_in_its_own_sentence() -> None:
    """Its message already says it is the state store: no second prefix in front of it."""
    from gemini_interactions_mcp.services.errors import failure_message
    from gemini_interactions_mcp.state import StoreReadOnlyError

    told = "The state file /tmp/x.sqlite3 is not writable (read-only or immutable): make it writable."
    assert failure_message(StoreReadOnlyError(told)) == told


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("ask_gemini", {"prompt": "Read it."}),
        ("start_deep_research", {"query": "Read it."}),
        ("run_agent", {"input": "Read it."}),
    ],
)
async def test_over_http_file_refusals_name_no_server_path(
    emulator_url: str, tmp_path: Path, tool: str, arguments: dict[str, object]
) -> None:
    """Every tool that reads files: a NUL byte, a file outside the folders or a missing one is one line
    that speaks of paths relative to the allowed folder, never where that folder lives."""
    (tmp_path.parent / "secret.txt").write_text("s3cret")
    served = tmp_path / "served"
    served.mkdir()
    refusals = {
        "a.txt\x00.png": "contains a NUL byte",
        "../secret.txt": "outside the folders",
        "nope.txt": "no such",
    }
    with principals.http_server(emulator_url, served) as running:
        async with principals.connect(running, principals.ALICE) as alice:
            for ref, expected in refusals.items():
                result = await alice.call_tool(tool, {**arguments, "files": [ref]})
                assert result.is_error and expected in text_of(result), text_of(result)
                assert str(tmp_path) not in text_of(result) and "Traceback" not in text_of(result)
