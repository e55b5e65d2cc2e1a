"""The Gemini CLI extension: its manifest agrees with the CLI, its context file names real tools and
arguments, and the server it declares starts from a fresh copy of the project (as `gemini extensions
install` leaves it) with uv."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters

from gemini_interactions_mcp import __version__
from tests.ecosystem.conftest import Dist
from tests.ecosystem.probe import converse_over_stdio
from tests.ecosystem.sources import load_json, parse_cli, server_env_vars
from tests.helpers.cache import ROOT
from tests.helpers.uv import Uv

SCRIPT = "gemini-interactions-mcp"
IDENTIFIER = re.compile(r"`([a-z][a-z0-9_]*)`")


@pytest.fixture(scope="module")
def extension() -> dict[str, Any]:
    return load_json(ROOT / "gemini-extension.json")  # type: ignore[no-any-return]


def server_entry(extension: dict[str, Any]) -> dict[str, Any]:
    (entry,) = extension["mcpServers"].values()
    return entry  # type: ignore[no-any-return]


def launch(extension: dict[str, Any], extension_path: Path, workspace: Path) -> list[str]:
    """The server's command line after Gemini CLI's variable substitution."""
    entry = server_entry(extension)
    variables = {"${extensionPath}": str(extension_path), "${workspacePath}": str(workspace), "${/}": "/"}
    args = []
    for arg in entry["args"]:
        for name, value in variables.items():
            arg = arg.replace(name, value)
        args.append(arg)
    return [entry["command"], *args]


def test_the_manifest_agrees_with_the_cli(extension: dict[str, Any], tmp_path: Path) -> None:
    assert re.fullmatch(r"[a-z0-9-]+", extension["name"])
    assert extension["version"] == __version__
    command = launch(extension, tmp_path / "ext", tmp_path)
    assert command[:4] == ["uvx", "--from", str(tmp_path / "ext"), SCRIPT]
    assert parse_cli(command[4:]).allow_dir == [tmp_path]
    env = server_entry(extension)["env"]
    assert set(env) | {s["envVar"] for s in extension["settings"]} <= server_env_vars()
    assert all(setting["sensitive"] for setting in extension["settings"] if "KEY" in setting["envVar"])


def test_the_context_file_names_only_real_tools_and_arguments(
    extension: dict[str, Any], server_tools: list[Any]
) -> None:
    context = (ROOT / extension["contextFileName"]).read_text(encoding="utf-8")
    known = {tool.name for tool in server_tools}
    known |= {name for tool in server_tools for name in tool.input_schema.get("properties", {})}
    named = set(IDENTIFIER.findall(context))
    assert {"start_deep_research", "poll_interaction", "ask_gemini"} <= named
    assert named <= known, f"not a tool or argument: {named - known}"
    assert len(context) < 2000, "the context file is read into every Gemini CLI session: keep it short"


def fresh_copy(dist: Dist, into: Path) -> Path:
    """The project's files as a clone (or Gemini CLI's install of it) has them: the sdist, unpacked."""
    with tarfile.open(dist.sdist) as sdist:
        sdist.extractall(into, filter="data")
    (copy,) = [p for p in into.iterdir() if p.is_dir()]
    return copy


@pytest.mark.anyio
async def test_the_extension_server_runs_from_a_fresh_copy(
    extension: dict[str, Any], dist: Dist, uv: Uv, tmp_path: Path
) -> None:
    command = launch(extension, fresh_copy(dist, tmp_path), tmp_path)
    assert command[0] == "uvx"
    env = {name: "test-key" for name in server_entry(extension)["env"]}
    params = StdioServerParameters(
        command=uv.exe,
        args=["tool", "run", *command[1:], "--emulator", "--state", "memory"],
        env={**uv.env, **env},
        cwd=str(tmp_path),
    )
    await converse_over_stdio(params)
