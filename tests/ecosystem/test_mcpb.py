"""The Claude Desktop bundle: its options are real CLI flags, the official tool validates and packs it, and
the packed bundle runs the way the host runs it (uv, the manifest's command line, the user's options)."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters

from tests.ecosystem.probe import converse_over_stdio
from tests.ecosystem.sources import load_json, parse_cli, server_env_vars
from tests.helpers.uv import Uv

TOOL_TIMEOUT = 120.0
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def substitute(text: str, values: dict[str, str]) -> str:
    """The host's variable substitution (`${__dirname}`, `${user_config.KEY}`, `${HOME}`...)."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def host_values(manifest: dict[str, Any], bundle_dir: Path, documents: Path) -> dict[str, str]:
    """What the host substitutes when the user accepts every default (and types an API key)."""
    values = {"__dirname": str(bundle_dir), "DOCUMENTS": str(documents), "HOME": str(documents)}
    for key, option in manifest["user_config"].items():
        default = option.get("default", "test-key" if option.get("sensitive") else "")
        values[f"user_config.{key}"] = substitute(str(default), values)
    return values


def run_tool(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, cwd=cwd, timeout=TOOL_TIMEOUT
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_every_option_reaches_a_real_flag_or_variable(staged_bundle: Path, tmp_path: Path) -> None:
    manifest = load_json(staged_bundle / "manifest.json")
    config = manifest["server"]["mcp_config"]
    options = manifest["user_config"]
    used = set(PLACEHOLDER.findall(" ".join([*config["args"], *config["env"].values()])))
    assert {f"user_config.{key}" for key in options} <= used, "an option the user sets must be passed on"
    values = host_values(manifest, staged_bundle, tmp_path)
    args = [substitute(a, values) for a in config["args"]]
    script = args.index(str(staged_bundle / "server" / "main.py"))
    parsed = parse_cli(args[script + 1 :])  # SystemExit here means a flag the CLI does not have
    assert parsed.command == "serve" and parsed.allow_dir == [tmp_path]
    assert set(config["env"]) <= server_env_vars()
    key = next(k for k, v in options.items() if v.get("sensitive"))
    assert config["env"]["GEMINI_API_KEY"] == f"${{user_config.{key}}}" and options[key]["required"]


def test_the_staged_manifest_lists_the_servers_tools(staged_bundle: Path) -> None:
    tools = [t["name"] for t in load_json(staged_bundle / "manifest.json")["tools"]]
    assert {"ask_gemini", "start_deep_research", "poll_interaction"} <= set(tools)


def test_mcpb_validates_and_packs_the_bundle(staged_bundle: Path, mcpb: Path, tmp_path: Path) -> None:
    assert "validation passes" in run_tool(mcpb, "validate", staged_bundle / "manifest.json", cwd=tmp_path)
    packed = tmp_path / "gemini.mcpb"
    run_tool(mcpb, "pack", staged_bundle, packed, cwd=tmp_path)
    with zipfile.ZipFile(packed) as archive:
        names = set(archive.namelist())
    assert {"manifest.json", "pyproject.toml", "icon.png", "server/main.py"} <= names
    assert "server/gemini_interactions_mcp/cli.py" in names
    assert not any("__pycache__" in n or n.startswith(".venv") for n in names)


def test_the_validator_rejects_a_manifest_without_an_author(
    staged_bundle: Path, mcpb: Path, tmp_path: Path
) -> None:
    broken = load_json(staged_bundle / "manifest.json")
    del broken["author"]
    (tmp_path / "manifest.json").write_text(__import__("json").dumps(broken))
    done = subprocess.run(
        [mcpb, "validate", tmp_path / "manifest.json"], capture_output=True, timeout=TOOL_TIMEOUT
    )
    assert done.returncode != 0


@pytest.mark.anyio
async def test_the_packed_bundle_runs_as_the_host_runs_it(
    staged_bundle: Path, mcpb: Path, uv: Uv, tmp_path: Path
) -> None:
    packed, unpacked = tmp_path / "gemini.mcpb", tmp_path / "installed"
    run_tool(mcpb, "pack", staged_bundle, packed, cwd=tmp_path)
    run_tool(mcpb, "unpack", packed, unpacked, cwd=tmp_path)
    manifest = load_json(unpacked / "manifest.json")
    config = manifest["server"]["mcp_config"]
    values = host_values(manifest, unpacked, tmp_path)
    assert config["command"] == "uv"
    params = StdioServerParameters(
        command=uv.exe,
        args=[*(substitute(a, values) for a in config["args"]), "--emulator", "--state", "memory"],
        env={**uv.env, **{k: substitute(v, values) for k, v in config["env"].items()}},
        cwd=str(tmp_path),
    )
    await converse_over_stdio(params)
