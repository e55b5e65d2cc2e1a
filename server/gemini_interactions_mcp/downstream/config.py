"""The `mcpServers` config file users already keep for Claude Desktop, Cursor and Gemini CLI.

    {"mcpServers": {"github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                               "env": {"GITHUB_TOKEN": "${GITHUB_TOKEN}"}, "trust": false, "timeout": 30000},
                    "tickets": {"httpUrl": "https://mcp.example.com/mcp", "headers": {"Authorization": "…"},
                                "includeTools": ["search"], "via": "gemini"}}}

Each entry is stdio (`command`, `args`, `env`, `cwd`) or Streamable HTTP (`url` or `httpUrl`, `headers`;
`type: "sse"` selects the older SSE transport), with optional `includeTools`, `excludeTools`, `trust`,
`timeout` (milliseconds), `disabled` and `via` (`"gemini"`: hand the URL to Gemini's own `mcp_server`
tool instead of bridging it). `${VAR}` and `${env:VAR}` in strings are read from the environment.
Unknown keys are ignored with a warning; anything else wrong stops the start with a message naming the
line. Header and env values are secrets: kept as SecretStr, never logged, never shown.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

DEFAULT_TIMEOUT_SECONDS = 60.0
KNOWN_KEYS = frozenset(
    {
        "command",
        "args",
        "env",
        "cwd",
        "url",
        "httpUrl",
        "headers",
        "type",
        "includeTools",
        "excludeTools",
        "trust",
        "timeout",
        "via",
        "disabled",
        "description",
    }
)
_VARIABLE = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}")


def location(command: str | None, args: Sequence[str], url: str | None) -> str:
    """Where a server runs, for listings: the command, or the URL without credentials or query."""
    if command is not None:
        return " ".join([Path(command).name, *args[:1]])
    return re.sub(r"//[^/@]*@", "//", url or "").split("?", 1)[0]


MIN_SECRET_CHARS = 8


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class ServerConfig:
    """One downstream MCP server as configured."""

    name: str
    transport: Literal["stdio", "http", "sse"]
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, SecretStr] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, SecretStr] = field(default_factory=dict)
    include_tools: frozenset[str] | None = None
    exclude_tools: frozenset[str] = frozenset()
    trust: bool = False
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    via_gemini: bool = False
    description: str | None = None
    where: str = ""
    """Where it runs, for listings, made from the file's own text: a `${VAR}` shows as itself, never
    its value (a token in an argument or in the URL's path stays hidden)."""
    read: tuple[SecretStr, ...] = ()
    """The values its `${VAR}`s read (in arguments, the URL, env or headers): secrets too."""

    def __post_init__(self) -> None:
        if not self.where:  # built in code, not read from a file: nothing was expanded
            object.__setattr__(self, "where", location(self.command, self.args, self.url))

    def secrets(self) -> tuple[str, ...]:
        """What its output is masked of (`MaskedPieces`), longest first: each env or header value,
        and each value a `${VAR}` read, of MIN_SECRET_CHARS or more, and each such line of one that spans
        lines (a PEM key is printed line by line). Its output may name one (an error quoting its token),
        and its last words reach errors, results and the logs. Shorter values (`1`, `true`) would mask
        ordinary text."""
        found: set[str] = set()
        for secret in (*self.env.values(), *self.headers.values(), *self.read):
            value = secret.get_secret_value()
            found.update(part for part in (value, *value.splitlines()) if len(part) >= MIN_SECRET_CHARS)
        return tuple(sorted(found, key=lambda part: (-len(part), part)))

    def allows(self, tool: str) -> bool:
        """Whether the config lets this tool through (`excludeTools` wins over `includeTools`)."""
        if tool in self.exclude_tools:
            return False
        return self.include_tools is None or tool in self.include_tools


@dataclass(frozen=True)
class LoadedConfig:
    servers: tuple[ServerConfig, ...]
    warnings: tuple[str, ...] = ()


class _Reader:
    """Reads one file, remembering the text so each complaint can name its line."""

    def __init__(self, path: Path, text: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.text = text
        self.environ = environ
        self.warnings: list[str] = []
        self.read: dict[str, list[str]] = {}
        """The values each server's `${VAR}`s read: secrets like its env and header values."""

    def line_of(self, *keys: str) -> int:
        """The line of the last of `keys` found in order (a server's name, then a key inside it)."""
        position = 0
        for key in keys:
            found = self.text.find(json.dumps(key), position)
            if found == -1:
                break
            position = found
        return self.text.count("\n", 0, position) + 1

    def values_read(self, name: str) -> tuple[SecretStr, ...]:
        """What the server's `${VAR}`s have read so far (call it after its last expansion)."""
        return tuple(SecretStr(value) for value in self.read.get(name, []))

    def fail(self, message: str, *keys: str) -> ConfigError:
        return ConfigError(f"{self.path} line {self.line_of(*keys)}: {message}")

    def expand(self, value: Any, name: str, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"server {name!r}: '{key}' must be a string", name, key)

        def variable(match: re.Match[str]) -> str:
            if match.group(1) not in self.environ:
                raise self.fail(
                    f"server {name!r}: '{key}' uses ${{{match.group(1)}}}, which is not set in the "
                    "environment the server was started with",
                    name,
                    key,
                )
            read = self.environ[match.group(1)]
            self.read.setdefault(name, []).append(read)
            return read

        return _VARIABLE.sub(variable, value)

    def strings(self, entry: Mapping[str, Any], name: str, key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"server {name!r}: '{key}' must be a list of strings", name, key)
        return tuple(self.expand(v, name, key) for v in value)

    def secrets(self, entry: Mapping[str, Any], name: str, key: str) -> dict[str, SecretStr]:
        value = entry.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"server {name!r}: '{key}' must be an object of strings", name, key)
        return {str(k): SecretStr(self.expand(v, name, key)) for k, v in value.items()}

    def server(self, name: str, entry: Any) -> ServerConfig | None:
        if not isinstance(entry, dict):
            raise self.fail(f"server {name!r} must be an object", name)
        for key in sorted(set(entry) - KNOWN_KEYS):
            self.warnings.append(
                f"{self.path} line {self.line_of(name, key)}: server {name!r}: unknown key {key!r} ignored"
            )
        if entry.get("disabled") is True:
            return None
        url_keys = [k for k in ("url", "httpUrl") if k in entry]
        if ("command" in entry) == bool(url_keys) or len(url_keys) > 1:
            raise self.fail(
                f"server {name!r} needs exactly one of 'command' (stdio) or 'url'/'httpUrl' (HTTP)", name
            )
        timeout = entry.get("timeout", DEFAULT_TIMEOUT_SECONDS * 1000)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise self.fail(f"server {name!r}: 'timeout' must be a positive number of ms", name, "timeout")
        for key in ("trust", "disabled"):
            if not isinstance(entry.get(key, False), bool):
                raise self.fail(f"server {name!r}: '{key}' must be true or false", name, key)
        via = entry.get("via", "bridge")
        if via not in ("bridge", "gemini"):
            raise self.fail(f'server {name!r}: \'via\' must be "gemini" or "bridge"', name, "via")
        include = self.strings(entry, name, "includeTools") if "includeTools" in entry else None
        common: dict[str, Any] = {
            "name": name,
            "include_tools": frozenset(include) if include is not None else None,
            "exclude_tools": frozenset(self.strings(entry, name, "excludeTools")),
            "trust": entry.get("trust", False),
            "timeout_seconds": float(timeout) / 1000,
            "via_gemini": via == "gemini",
            "description": entry["description"] if isinstance(entry.get("description"), str) else None,
        }
        if "command" in entry:
            if via == "gemini":
                raise self.fail(
                    f'server {name!r}: via "gemini" needs an HTTP url that Google\'s side can reach', name
                )
            cwd = self.expand(entry["cwd"], name, "cwd") if "cwd" in entry else None
            return ServerConfig(
                transport="stdio",
                command=self.expand(entry["command"], name, "command"),
                args=self.strings(entry, name, "args"),
                env=self.secrets(entry, name, "env"),
                cwd=cwd,
                where=location(entry["command"], entry.get("args", []), None),
                read=self.values_read(name),
                **common,
            )
        url = self.expand(entry[url_keys[0]], name, url_keys[0])
        if not re.match(r"^https?://[^/\s]+", url):
            raise self.fail(f"server {name!r}: '{url_keys[0]}' must be an http(s) URL", name, url_keys[0])
        sse = entry.get("type") == "sse"
        if via == "gemini" and sse:
            raise self.fail(f"server {name!r}: Gemini reaches only Streamable HTTP servers, not SSE", name)
        return ServerConfig(
            transport="sse" if sse else "http",
            url=url,
            headers=self.secrets(entry, name, "headers"),
            where=location(None, (), entry[url_keys[0]]),
            read=self.values_read(name),
            **common,
        )


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """The servers of an `mcpServers` file (disabled ones left out), and warnings for unknown keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or 'error'})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{path} line {exc.lineno} column {exc.colno}"
        raise ConfigError(f"{where}: not valid JSON ({exc.msg})") from None
    reader = _Reader(path, text, os.environ if environ is None else environ)
    if not isinstance(document, dict) or not isinstance(document.get("mcpServers"), dict):
        raise ConfigError(f'{path} line 1: expected an object with "mcpServers": {{"NAME": {{...}}}}')
    ignored = sorted(set(document) - {"mcpServers"})
    if ignored:  # e.g. a Gemini CLI settings.json: only its mcpServers matter here
        reader.warnings.append(f"{path}: top-level keys other than mcpServers ignored: {', '.join(ignored)}")
    servers = []
    for name, entry in document["mcpServers"].items():
        if not name.strip():
            raise reader.fail("a server needs a non-empty name", "mcpServers")
        server = reader.server(name, entry)
        if server is not None:
            servers.append(server)
    return LoadedConfig(tuple(servers), tuple(reader.warnings))
