"""The mcpServers config file: every documented key, variables, unknown keys, and errors naming lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gemini_interactions_mcp.downstream.config import ConfigError, load_config

FULL = """{
  "mcpServers": {
    "files": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "${HOME_DIR}"],
      "env": {"TOKEN": "${env:SECRET_TOKEN}"},
      "cwd": "/tmp",
      "includeTools": ["read_file", "list_directory"],
      "excludeTools": ["list_directory"],
      "trust": true,
      "timeout": 30000,
      "autoApprove": ["x"]
    },
    "tickets": {
      "httpUrl": "https://user:pw@mcp.example.com/mcp?key=1",
      "headers": {"Authorization": "Bearer ${SECRET_TOKEN}"},
      "via": "gemini"
    },
    "legacy": {"url": "http://127.0.0.1:9000/sse", "type": "sse"},
    "off": {"command": "nothing", "disabled": true}
  },
  "theme": "dark"
}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(text)
    return path


def test_every_key_is_read(tmp_path: Path) -> None:
    env = {"HOME_DIR": "/home/me", "SECRET_TOKEN": "s3cr3t"}
    loaded = load_config(write(tmp_path, FULL), env)
    files, tickets, legacy = loaded.servers
    assert (files.name, files.transport, files.command, files.cwd) == ("files", "stdio", "npx", "/tmp")
    assert files.args == ("-y", "@modelcontextprotocol/server-filesystem", "/home/me")
    assert files.env["TOKEN"].get_secret_value() == "s3cr3t"
    assert files.trust and files.timeout_seconds == 30.0
    assert files.allows("read_file") and not files.allows("list_directory") and not files.allows("write_file")
    assert tickets.transport == "http" and tickets.via_gemini and tickets.timeout_seconds == 60.0
    assert tickets.headers["Authorization"].get_secret_value() == "Bearer s3cr3t"
    assert tickets.where == "https://mcp.example.com/mcp"
    assert "s3cr3t" not in repr(tickets) and "s3cr3t" not in repr(files)
    assert legacy.transport == "sse" and legacy.allows("anything")
    assert loaded.warnings == (
        f"{tmp_path / 'mcp.json'}: top-level keys other than mcpServers ignored: theme",
        f"{tmp_path / 'mcp.json'} line 12: server 'files': unknown key 'autoApprove' ignored",
    )


def test_listings_never_show_values_read_from_the_environment(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "cli": {"command": "mcp-tickets", "args": ["--api-key=${env:SECRET_TOKEN}"]},
                "zap": {"url": "https://mcp.example.com/s/${SECRET_TOKEN}/mcp"},
            }
        }
    )
    cli, zap = load_config(write(tmp_path, text), {"SECRET_TOKEN": "s3cr3t"}).servers
    assert cli.args == ("--api-key=s3cr3t",) and zap.url == "https://mcp.example.com/s/s3cr3t/mcp"
    assert cli.where == "mcp-tickets --api-key=${env:SECRET_TOKEN}"
    assert zap.where == "https://mcp.example.com/s/${SECRET_TOKEN}/mcp"


def test_a_servers_output_is_masked_of_every_secret_it_was_given(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "cli": {
                    "command": "mcp-tickets",
                    "args": ["--api-key=${ARG_TOKEN}", "--verbose"],
                    "env": {"TICKETS_TOKEN": "env-token-1234", "DEBUG": "1"},
                },
                "zap": {"url": "https://h/s/${URL_TOKEN}/mcp", "headers": {"X-Key": "header-token-99"}},
            }
        }
    )
    environ = {"ARG_TOKEN": "arg-token-5678", "URL_TOKEN": "url-token-4321"}
    cli, zap = load_config(write(tmp_path, text), environ).servers
    assert set(cli.secrets()) == {"env-token-1234", "arg-token-5678"}  # not DEBUG=1: too short to mask
    assert set(zap.secrets()) == {"header-token-99", "url-token-4321"}


def test_a_secret_that_spans_lines_is_also_masked_line_by_line(tmp_path: Path) -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----"
    signer_entry = {"command": "sign", "env": {"KEY": key, "SHORT": "abc\nxyz"}}
    text = json.dumps({"mcpServers": {"signer": signer_entry}})
    (signer,) = load_config(write(tmp_path, text), {}).servers
    assert set(signer.secrets()) == {key, *key.splitlines()}
    assert signer.secrets()[0] == key  # the whole value first: its lines would break it up


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"mcpServers": {\n  "a": {"command": "x",\n  "url": "http://h"}}}',
            "line 2: server 'a' needs exactly one",
        ),
        (
            '{"mcpServers": {\n "a": {\n  "url": "ftp://h"}}}',
            "line 3: server 'a': 'url' must be an http(s) URL",
        ),
        ('{"mcpServers": {"a": {\n "command": "x",\n "timeout": "soon"}}}', "line 3: server 'a': 'timeout'"),
        (
            '{"mcpServers": {"a": {"command": "x",\n "args": "-v"}}}',
            "line 2: server 'a': 'args' must be a list",
        ),
        ('{"mcpServers": {"a": {"command": "x", "via": "gemini"}}}', 'via "gemini" needs an HTTP url'),
        (
            '{"mcpServers": {"a": {"command": "x",\n "env": {"K": "${NOPE}"}}}}',
            "line 2: server 'a': 'env' uses",
        ),
        ('{"mcpServers": {\n  "a": {"command": "x",}\n}}', "line 2 column 24: not valid JSON"),
        ('{"servers": {}}', 'line 1: expected an object with "mcpServers"'),
        ('{"mcpServers": {"a": {"command": "x", "trust": "yes"}}}', "'trust' must be true or false"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(str(tmp_path / "mcp.json"))) as caught:
        load_config(write(tmp_path, text), {})
    assert message in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "nope.json", {})


def test_claude_desktop_style_file_needs_no_extra_keys(tmp_path: Path) -> None:
    desktop = {"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}
    (server,) = load_config(write(tmp_path, json.dumps(desktop)), {}).servers
    assert (server.trust, server.via_gemini, server.include_tools) == (False, False, None)


def test_the_readme_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Gemini calls your tools") :]
    block = re.search(r"\n\n((?:    .*\n)+)", section)
    assert block is not None
    example = "\n".join(line[4:] for line in block.group(1).splitlines())
    env = {"GITHUB_TOKEN": "g", "TICKETS_TOKEN": "t", "DEPLOY_KEY": "d"}
    loaded = load_config(write(tmp_path, example), env)
    assert [s.name for s in loaded.servers] == ["github", "time", "tickets", "deploys"]
    assert loaded.warnings == () and loaded.servers[3].via_gemini
