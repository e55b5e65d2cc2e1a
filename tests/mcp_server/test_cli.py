"""The command line: settings precedence, bearer-token parsing, and the README's demo end to end."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.cli import build_parser, settings_from_args
from gemini_interactions_mcp.config import ServerSettings, SettingsError, parse_tokens
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.state import default_state_path
from tests.helpers.results import data


def settings_for(argv: list[str], env: dict[str, str]) -> object:
    return settings_from_args(build_parser().parse_args(["serve", *argv]), env)


def test_flags_win_over_environment_over_defaults(tmp_path: Path) -> None:
    env = {
        "GEMINI_MCP_STATE": "memory",
        "GEMINI_MCP_MODEL": "gemini-3.1-pro-preview",
        "GEMINI_MCP_WAIT_SECONDS": "30",
    }
    from_env = settings_from_args(build_parser().parse_args(["serve"]), env)
    assert (from_env.state, from_env.default_model, from_env.ask_wait_seconds) == (
        "memory",
        "gemini-3.1-pro-preview",
        30,
    )
    flags = ["--state", str(tmp_path / "s.db"), "--model", "gemini-3.1-flash-lite", "--wait-seconds", "5"]
    from_flags = settings_from_args(build_parser().parse_args(["serve", *flags]), env)
    assert from_flags.state == str(tmp_path / "s.db")
    assert (from_flags.default_model, from_flags.ask_wait_seconds) == ("gemini-3.1-flash-lite", 5)
    defaults = settings_from_args(build_parser().parse_args(["serve"]), {})
    assert (defaults.state, defaults.default_model, defaults.ask_wait_seconds) == (None, None, 45)


def test_output_dir_from_flag_over_environment(tmp_path: Path) -> None:
    env = {"GEMINI_MCP_OUTPUT_DIR": str(tmp_path / "from-env")}
    assert settings_for([], env).output_dir == tmp_path / "from-env"  # type: ignore[attr-defined]
    flagged = settings_for(["--output-dir", str(tmp_path / "from-flag")], env)
    assert flagged.output_dir == tmp_path / "from-flag"  # type: ignore[attr-defined]
    assert settings_for([], {}).output_dir is None  # type: ignore[attr-defined]


def test_tokens_from_environment_and_file(tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text("# team\ncarol:token-3\n\n")
    args = build_parser().parse_args(["serve", "--token-file", str(token_file)])
    settings = settings_from_args(args, {"GEMINI_MCP_TOKENS": "alice:token-1, bob:token-2"})
    pairs = {principal: secret.get_secret_value() for principal, secret in settings.tokens}
    assert pairs == {"alice": "token-1", "bob": "token-2", "carol": "token-3"}
    assert "token-1" not in repr(settings)


@pytest.mark.parametrize("spec", ["alice", "alice:", ":token", "alice:t1,bob:t1"])
def test_malformed_tokens_are_refused_without_echoing_them(spec: str) -> None:
    with pytest.raises(SettingsError) as refused:
        parse_tokens(spec, source="GEMINI_MCP_TOKENS")
    assert "t1" not in str(refused.value)


def test_unreadable_token_file_is_a_clear_error(tmp_path: Path) -> None:
    args = build_parser().parse_args(["serve", "--token-file", str(tmp_path / "missing")])
    with pytest.raises(SettingsError, match="--token-file"):
        settings_from_args(args, {})


def test_readme_demo_runs_end_to_end() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "gemini_interactions_mcp", "demo", "--research-seconds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    transcript = completed.stdout
    assert "Your favourite colour is teal." in transcript
    assert "«boats»" in transcript and "2 turns" in transcript
    assert "Deep Research started" in transcript and "## Sources" in transcript
    folder = re.search(r"\(under (\S+)\)", transcript)
    assert folder is not None, "the demo names the folder its files went to"
    shutil.rmtree(folder.group(1))
    assert "[image preview shown inline: image/png" in transcript
    assert "![chart 1](gemini://media/" in transcript and "![chart 2](gemini://media/" in transcript


@pytest.mark.anyio
async def test_the_emulator_never_reads_or_writes_the_real_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --emulator` keeps its own (memory) store, even with GEMINI_MCP_STATE naming the real one."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    real_file = default_state_path()
    emulator = create_app(EmulatorConfig())
    real = build_server(ServerSettings(allow_dirs=(tmp_path,)), transport=httpx2.ASGITransport(app=emulator))
    async with Client(real) as c:
        data(await c.call_tool("ask_gemini", {"prompt": "Remember 7.", "conversation": "real-one"}))
    assert real_file.exists()

    for env in ({}, {"GEMINI_MCP_STATE": str(real_file)}):
        settings = settings_from_args(build_parser().parse_args(["serve", "--emulator"]), env)
        async with Client(build_server(settings)) as c:
            assert data(await c.call_tool("list_conversations", {}))["conversations"] == []
            data(await c.call_tool("ask_gemini", {"prompt": "Emulated.", "conversation": "emulated-one"}))

    async with Client(build_server(ServerSettings(allow_dirs=(tmp_path,)))) as c:
        names = [conv["name"] for conv in data(await c.call_tool("list_conversations", {}))["conversations"]]
    assert names == ["real-one"]


def test_oauth_flags_make_a_resource_server_setting() -> None:
    argv = ["--oauth-issuer", "https://idp.example", "--oauth-audience", "https://mcp.example.com/mcp"]
    settings = settings_from_args(build_parser().parse_args(["serve", *argv, "--oauth-scope", "mcp"]), {})
    assert settings.oauth is not None
    assert (settings.oauth.issuer, settings.oauth.audience) == (
        "https://idp.example",
        "https://mcp.example.com/mcp",
    )
    assert settings.oauth.scopes == ("mcp",) and settings.oauth.jwks_url is None
    assert settings_from_args(build_parser().parse_args(["serve"]), {}).oauth is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--oauth-issuer", "https://idp.example"], "both --oauth-issuer and --oauth-audience"),
        (["--oauth-scope", "mcp"], "need --oauth-issuer"),
        (["--oauth-issuer", "idp.example", "--oauth-audience", "https://m.example/mcp"], "--oauth-issuer: "),
    ],
)
def test_incomplete_or_malformed_oauth_flags_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings_from_args(build_parser().parse_args(["serve", *argv]), {})


def test_replicas_share_a_request_state_key_ring_from_the_environment() -> None:
    ring = {"GEMINI_MCP_REQUEST_STATE_KEYS": f"{'a' * 32}, {'b' * 40}"}
    keys = settings_from_args(build_parser().parse_args(["serve"]), ring).request_state_keys
    assert [k.get_secret_value() for k in keys] == ["a" * 32, "b" * 40]
    assert "a" * 32 not in repr(keys)
    with pytest.raises(SettingsError, match="GEMINI_MCP_REQUEST_STATE_KEYS: each key needs at least 32"):
        settings_for([], {"GEMINI_MCP_REQUEST_STATE_KEYS": "short"})


PARSED_BEFORE_THE_SETTINGS = {"transport"}
"""Read before the settings module loads: on stdio the wire is claimed first (start-up time)."""


def test_a_default_has_one_home_the_settings() -> None:
    """A `serve` flag whose setting has a default in ServerSettings carries no default of its own (a
    second copy drifts), and a flag left out gives the setting's default."""
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    fields = ServerSettings.model_fields
    doubled = [
        action.dest
        for action in subparsers.choices["serve"]._actions
        if action.dest in fields
        and action.dest not in PARSED_BEFORE_THE_SETTINGS
        and not isinstance(action, argparse._StoreTrueAction)
        and action.default not in (None, argparse.SUPPRESS)
    ]
    assert doubled == []
    given = settings_from_args(build_parser().parse_args(["serve"]), env={})
    for name in ("host", "port", "max_file_mb", "max_upload_mb", "max_tool_rounds", "drain_seconds"):
        assert getattr(given, name) == fields[name].default, name
