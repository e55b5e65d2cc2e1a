"""The bridge to the user's MCP servers as MCP clients see it: the config flags and gemini://tools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.types import TextResourceContents
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.cli import build_parser, settings_from_args
from gemini_interactions_mcp.config import ServerSettings, SettingsError
from tests.helpers.downstream import SERVER_SCRIPT

SECRET = "Bearer sk-downstream-secret"


def write_config(tmp_path: Path, servers: dict[str, object]) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}, indent=2))
    return path


def local_server(**options: object) -> dict[str, object]:
    return {"command": sys.executable, "args": [str(SERVER_SCRIPT)], **options}


def test_flag_and_environment_name_the_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"local": local_server()})
    from_env = settings_from_args(build_parser().parse_args(["serve"]), {"GEMINI_MCP_CONFIG": str(config)})
    assert (from_env.mcp_config, from_env.max_tool_rounds) == (config, 10)
    args = build_parser().parse_args(["serve", "--mcp-config", str(config), "--max-tool-rounds", "3"])
    assert settings_from_args(args, {}).max_tool_rounds == 3
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--max-tool-rounds", "0"])


def test_a_bad_config_stops_the_start_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"mcpServers": {\n  "x": {"command": "a",\n    "url": "http://b"}\n}}\n')
    with pytest.raises(SettingsError, match=r"bad\.json line 2: server 'x' needs exactly one"):
        settings_from_args(build_parser().parse_args(["serve", "--mcp-config", str(bad)]), {})
    started = subprocess.run(
        [sys.executable, "-m", "gemini_interactions_mcp", "--mcp-config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert started.returncode != 0
    assert "bad.json line 2: server 'x' needs exactly one" in started.stderr
    assert "Traceback" not in started.stderr


@pytest.mark.anyio
async def test_gemini_tools_lists_servers_tools_and_states_without_secrets(
    tmp_path: Path, emulator: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(
        tmp_path,
        {
            "local": local_server(excludeTools=["crash"], autoApprove=True),
            "remote": {
                "httpUrl": "https://mcp.example.com/mcp",
                "headers": {"Authorization": SECRET},
                "via": "gemini",
            },
            "ghost": {"command": str(tmp_path / "no-such-server")},
        },
    )
    settings = ServerSettings(state="memory", allow_dirs=(tmp_path,), mcp_config=config)
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    assert "unknown key 'autoApprove' ignored" in caplog.text
    async with Client(server) as client:
        read = await client.read_resource("gemini://tools")
    (contents,) = read.contents
    assert isinstance(contents, TextResourceContents)
    text = contents.text
    assert "## local: ready" in text
    assert "- `local__echo` (echo, read-only)" in text
    assert "- `local__add_note` (add_note, asks first)" in text
    assert "local__crash" not in text
    assert "## remote: handed to Gemini" in text and "https://mcp.example.com/mcp" in text
    assert "## ghost:" in text and "command not found" in text
    assert "workspace__search" in text
    assert "sk-downstream-secret" not in text and "sk-downstream-secret" not in caplog.text
