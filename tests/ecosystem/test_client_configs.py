"""Every client snippet, in manifests/ and in the README, parsed and held against the real CLI.

A stdio entry must launch the console script (through `uvx`, or by an absolute path from a clone) with
arguments the real parser accepts and environment variables the server reads; an HTTP entry must name
the default URL and send a bearer token. Running the launch line itself is test_packages' job (the same
`uvx ... gemini-interactions-mcp` line against the built wheel), so every snippet here launches exactly it.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Any

import pytest
from scripts import dev

from tests.ecosystem.sources import MANIFESTS, parse_cli, serve_settings, server_env_vars
from tests.helpers.cache import ROOT

SCRIPT = "gemini-interactions-mcp"
CLONE_SCRIPT = re.compile(r"^(/\S*|\$PWD)/\.venv/bin/gemini-interactions-mcp$")
HTTP_URL_KEYS = ("url", "httpUrl", "serverUrl")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def default_url() -> str:
    settings = serve_settings([])
    return f"http://{settings.host}:{settings.port}/mcp"


def check_launch(command: str, args: list[str], env_names: list[str]) -> None:
    """A stdio launch: the console script with arguments `serve` accepts and variables the server reads."""
    if command == "uvx":
        assert args[0] == SCRIPT, f"uvx must run {SCRIPT}, not {args[0]}"
        args = args[1:]
    else:
        assert CLONE_SCRIPT.match(command), f"{command}: neither uvx nor an absolute path into a clone"
    if "--version" not in args:
        assert parse_cli(args).command == "serve"
    assert set(env_names) <= server_env_vars(), (
        f"the server reads none of {set(env_names) - server_env_vars()}"
    )


def check_json_servers(config: dict[str, Any]) -> int:
    """Check every server of an mcpServers/servers (VS Code) config; return how many there were."""
    servers = config.get("mcpServers") or config["servers"]
    for entry in servers.values():
        if "command" in entry:
            assert entry.get("type", "stdio") == "stdio"
            check_launch(entry["command"], entry.get("args", []), list(entry.get("env", {})))
        else:
            (url,) = [entry[k] for k in HTTP_URL_KEYS if k in entry]
            assert url == default_url()
            assert entry["headers"]["Authorization"].startswith("Bearer ")
    return len(servers)


def check_codex(config: dict[str, Any]) -> int:
    servers = config["mcp_servers"]
    for entry in servers.values():
        if "command" in entry:
            check_launch(
                entry["command"], entry["args"], entry.get("env_vars", []) + list(entry.get("env", {}))
            )
            assert entry["startup_timeout_sec"] >= 30, "the first uvx start downloads the package"
        else:
            assert entry["url"] == default_url() and entry["bearer_token_env_var"]
    return len(servers)


def check_claude_mcp_add(words: list[str]) -> None:
    assert words[:3] == ["claude", "mcp", "add"]
    if "--" in words:
        options, launch = words[3 : words.index("--")], words[words.index("--") + 1 :]
        env_names = [options[i + 1].split("=")[0] for i, word in enumerate(options) if word == "-e"]
        check_launch(launch[0], launch[1:], env_names)
    else:
        assert words[words.index("--transport") + 1] == "http"
        assert default_url() in words and any(w.startswith("Authorization: Bearer ") for w in words)


def check_inspector(words: list[str], tools: dict[str, Any]) -> None:
    """`npx @modelcontextprotocol/inspector --cli [-e K=V]... <server> --method tools/call ...`."""
    assert words[1:3] == ["@modelcontextprotocol/inspector", "--cli"]
    rest = words[3:]
    env_names = []
    while rest[0] == "-e":
        env_names.append(rest[1].split("=")[0])
        rest = rest[2:]
    method = rest.index("--method")
    launch = ["uvx", *rest[:method]] if rest[0] == SCRIPT else rest[:method]  # run from a terminal: on PATH
    check_launch(launch[0], launch[1:], env_names)
    options = rest[method:]
    tool = tools[options[options.index("--tool-name") + 1]]
    for i, word in enumerate(options):
        if word == "--tool-arg":
            assert options[i + 1].split("=")[0] in tool.input_schema["properties"]


def check_shell_line(line: str, tools: dict[str, Any]) -> None:
    """One README command, by the program it runs; an unknown program fails so new snippets get checks."""
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # leading VAR=value assignments
        assert words.pop(0).split("=")[0] in server_env_vars()
    words = [w for w in words if w != "&"]
    program = words[0]
    if program == "claude":
        check_claude_mcp_add(words)
    elif program in ("uvx", SCRIPT):  # in a terminal the bare command is on PATH
        args = words[2:] if program == "uvx" else words[1:]
        assert program == SCRIPT or words[1] == SCRIPT
        if args[:1] == ["emulator"]:
            assert parse_cli(args).command == "emulator"
        else:
            check_launch("uvx", [SCRIPT, *args], [])
    elif program == "pipx":
        assert words[1:] in (["install", "gemini-interactions-mcp"], ["install", "."])
    elif program == "python3":
        assert words[1] == "scripts/dev.py" and words[2] in dev.COMMANDS
    elif program == "gemini":
        assert words[1:3] == ["extensions", "link"] and words[3] == "$PWD"  # the clone holds the extension
    elif program == "npx":
        check_inspector(words, tools)
    else:
        pytest.fail(f"README command this test does not know yet: {line}")


def test_every_manifest_snippet_agrees_with_the_cli() -> None:
    counted = 0
    for name in (
        "claude_desktop_config.json",
        "cursor_mcp.json",
        "windsurf_mcp_config.json",
        "vscode_mcp.json",
        "gemini_cli_settings.json",
    ):
        counted += check_json_servers(json.loads((MANIFESTS / name).read_text(encoding="utf-8")))
    counted += check_codex(tomllib.loads((MANIFESTS / "codex_config.toml").read_text(encoding="utf-8")))
    for line in (MANIFESTS / "claude_code.sh").read_text(encoding="utf-8").splitlines():
        command = line.removeprefix("# ")
        if command.startswith("claude mcp add"):
            check_claude_mcp_add(shlex.split(command))
            counted += 1
    assert counted == 14


def test_every_readme_snippet_works_as_written(server_tools: list[Any]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tools = {tool.name: tool for tool in server_tools}
    blocks = FENCE.findall(readme)
    assert {kind for kind, _ in blocks} == {"sh", "json", "toml"}
    for kind, body in blocks:
        if kind == "json":
            check_json_servers(json.loads(body))
        elif kind == "toml":
            check_codex(tomllib.loads(body))
        else:
            for line in body.splitlines():
                if line.strip():
                    check_shell_line(line, tools)


def test_the_readme_install_section_leads_with_uvx_then_pipx() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = readme[readme.index("## Install") :]
    first_block = FENCE.search(install)
    assert first_block is not None
    assert first_block.group(2).splitlines()[:2] == [
        "uvx gemini-interactions-mcp --version",
        "pipx install gemini-interactions-mcp",
    ]
    quick_start = readme[readme.index("## Quick start") : readme.index("## Tools")]
    (commands,) = [body for kind, body in FENCE.findall(quick_start) if kind == "sh"]
    assert [line.split("#")[0].strip() for line in commands.splitlines()] == [
        "python3 scripts/dev.py demo",
        "python3 scripts/dev.py test",
    ]


def test_a_bad_snippet_is_caught() -> None:
    with pytest.raises(SystemExit):
        check_launch("uvx", [SCRIPT, "--no-such-flag"], [])
    with pytest.raises(AssertionError):
        check_launch("gemini-interactions-mcp", [], [])  # a bare command: clients may not find it
    with pytest.raises(AssertionError):
        check_launch("uvx", [SCRIPT], ["GEMINI_NO_SUCH_SETTING"])
