"""Every configured downstream server, and what one conversation's `tools` entries make callable.

A conversation names what Gemini may call: `mcp:NAME` (every tool of a server), `mcp:NAME/TOOL` (one
tool) and `workspace`. `toolbox` turns those entries into function declarations (names sanitised,
schemas converted) plus, for servers configured `via: "gemini"`, Gemini's own `mcp_server` tools, whose
headers come from the config alone and exist only in the request body being built.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup
from mcp.types import Implementation, Tool
from pydantic import BaseModel

from gemini_interactions_mcp.downstream.config import ServerConfig
from gemini_interactions_mcp.downstream.connection import CallTimedOut, Connection, DownstreamError
from gemini_interactions_mcp.downstream.functions import CallOutcome, FunctionSpec, outcome_of
from gemini_interactions_mcp.downstream.names import function_names, mcp_server_name
from gemini_interactions_mcp.downstream.schema import to_gemini
from gemini_interactions_mcp.downstream.workspace import SPECS as WORKSPACE_SPECS
from gemini_interactions_mcp.downstream.workspace import TOOLSET as WORKSPACE

MCP_PREFIX = "mcp:"
DESCRIPTION_CHARS = 1_000
DESCRIBE_WAIT_SECONDS = 10.0


class SelectionError(ValueError):
    """A `tools` entry that names no configured server or tool; the message lists what exists."""


@dataclass
class Toolbox:
    """What one turn may call: function declarations by name, Gemini-side MCP servers, and notes."""

    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    remote: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def declarations(self) -> list[dict[str, Any]]:
        """The `tools` entries for the request (remote ones carry their configured headers)."""
        return [spec.declaration() for spec in self.functions.values()] + self.remote

    @property
    def empty(self) -> bool:
        return not self.functions and not self.remote


class ToolState(BaseModel):
    function: str
    tool: str
    read_only: bool
    needs_confirmation: bool
    notes: list[str]


class ServerState(BaseModel):
    """One server as `gemini://tools` shows it (never its headers or environment)."""

    name: str
    transport: str
    where: str
    via: str
    trust: bool
    timeout_seconds: float
    state: str
    error: str | None
    restarts: int
    tools: list[ToolState]


def is_downstream_entry(entry: str) -> bool:
    return entry == WORKSPACE or entry.startswith(MCP_PREFIX)


def _clip(text: str | None, limit: int = DESCRIPTION_CHARS) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class DownstreamHub:
    """The configured servers: lazily connected, declared to Gemini on demand, called by name."""

    def __init__(self, servers: Sequence[ServerConfig], client_info: Implementation) -> None:
        self._configs = {server.name: server for server in servers}
        self._client_info = client_info
        self._connections: dict[str, Connection] = {}

    def attach(self, task_group: TaskGroup) -> DownstreamHub:
        """Give the hub the task group its connections live in (the server's lifespan)."""
        self._connections = {
            server.name: Connection(server, task_group, self._client_info)
            for server in self._configs.values()
            if not server.via_gemini
        }
        return self

    @property
    def server_names(self) -> list[str]:
        return list(self._configs)

    def parse(self, entries: Sequence[str]) -> dict[str, set[str] | None]:
        """Selected servers and their tools (None: all) from `mcp:` entries; SelectionError if unknown."""
        selected: dict[str, set[str] | None] = {}
        for entry in entries:
            if not entry.startswith(MCP_PREFIX):
                continue
            name, _, tool = entry[len(MCP_PREFIX) :].partition("/")
            if name not in self._configs:
                known = (
                    ", ".join(f"mcp:{n}" for n in self._configs)
                    or "none (start the server with --mcp-config)"
                )
                raise SelectionError(f"No MCP server {name!r} is configured. Configured: {known}.")
            if not tool:
                selected[name] = None
            elif selected.get(name, set()) is not None:
                selected.setdefault(name, set()).add(tool)  # type: ignore[union-attr]
        return selected

    async def toolbox(self, entries: Sequence[str]) -> Toolbox:
        """Declarations for a conversation's entries; tools of servers that cannot start become notes."""
        box = Toolbox()
        if WORKSPACE in entries:
            box.functions.update({spec.name: spec for spec in WORKSPACE_SPECS})
        selected = self.parse(entries)
        found: list[tuple[ServerConfig, Tool]] = []
        for name in self._configs:  # config order keeps names stable whatever the entries' order
            if name not in selected:
                continue
            config, wanted = self._configs[name], selected[name]
            if config.via_gemini:
                box.remote.append(self._remote_tool(config, wanted))
                continue
            try:
                tools = await self._connections[name].list_tools()
            except DownstreamError as exc:
                box.notes.append(f"{exc} Its tools were not offered to Gemini.")
                continue
            missing = (wanted or set()) - {t.name for t in tools}
            if missing:
                box.notes.append(
                    f"MCP server {name!r} has no tool {', '.join(sorted(missing))} (or excludes it)."
                )
            found += [(config, t) for t in tools if wanted is None or t.name in wanted]
        names = function_names((config.name, tool.name) for config, tool in found)
        for config, tool in found:
            spec = self._spec(config, tool, names[(config.name, tool.name)])
            box.functions[spec.name] = spec
            box.notes += [f"{spec.name}: {note}" for note in spec.notes]
        return box

    @staticmethod
    def _spec(config: ServerConfig, tool: Tool, name: str) -> FunctionSpec:
        parameters, notes = to_gemini(tool.input_schema)
        annotations = tool.annotations
        return FunctionSpec(
            name=name,
            description=_clip(tool.description or tool.title or f"{tool.name} (MCP server {config.name})"),
            parameters=parameters,
            server=config.name,
            tool=tool.name,
            read_only=bool(annotations and annotations.read_only_hint),
            trusted=config.trust,
            timeout_seconds=config.timeout_seconds,
            notes=tuple(notes),
        )

    @staticmethod
    def _remote_tool(config: ServerConfig, wanted: set[str] | None) -> dict[str, Any]:
        """Gemini's own `mcp_server` tool: Google's side calls the server; headers only from config."""
        tool: dict[str, Any] = {"type": "mcp_server", "name": mcp_server_name(config.name), "url": config.url}
        if config.headers:
            tool["headers"] = {k: v.get_secret_value() for k, v in config.headers.items()}
        allowed = wanted if wanted is not None else config.include_tools
        if allowed is not None:
            tool["allowed_tools"] = [{"mode": "auto", "tools": sorted(allowed)}]
        return tool

    async def call(self, spec: FunctionSpec, arguments: Mapping[str, Any]) -> CallOutcome:
        """Call a downstream tool; every failure is an error result the model can read."""
        connection = self._connections.get(spec.server)
        if connection is None:
            return CallOutcome.text(f"{spec.name} is not a tool this server can call.", is_error=True)
        try:
            result = await connection.call(spec.tool, arguments, spec.timeout_seconds)
        except CallTimedOut as exc:
            return CallOutcome.text(f"{spec.name} timed out: {exc}.", is_error=True)
        except DownstreamError as exc:
            return CallOutcome.text(f"{spec.name} failed: {exc}.", is_error=True)
        return outcome_of(result).capped()

    async def describe(self) -> list[ServerState]:
        """Every server with its state and tools, starting the ones not yet running (bounded wait)."""

        async def start(connection: Connection) -> None:
            with contextlib.suppress(DownstreamError):
                await connection.ready(within=DESCRIBE_WAIT_SECONDS)

        async with anyio.create_task_group() as tg:
            for running in self._connections.values():
                tg.start_soon(start, running)
        states = []
        for config in self._configs.values():
            connection = self._connections.get(config.name)
            tools = connection.tools if connection is not None and connection.state == "ready" else []
            names = function_names((config.name, t.name) for t in tools)
            specs = [self._spec(config, t, names[(config.name, t.name)]) for t in tools]
            states.append(
                ServerState(
                    name=config.name,
                    transport=config.transport,
                    where=config.where,
                    via="gemini" if config.via_gemini else "bridge",
                    trust=config.trust,
                    timeout_seconds=config.timeout_seconds,
                    state="handed to Gemini" if connection is None else connection.state,
                    error=None if connection is None else connection.error,
                    restarts=0 if connection is None else connection.restarts,
                    tools=[
                        ToolState(
                            function=s.name,
                            tool=s.tool,
                            read_only=s.read_only,
                            needs_confirmation=s.needs_confirmation,
                            notes=list(s.notes),
                        )
                        for s in specs
                    ],
                )
            )
        return states
