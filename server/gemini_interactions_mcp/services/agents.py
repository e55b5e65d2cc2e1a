"""Managed agents: custom agents on top of Antigravity, owned by the principal that created them.

Agent ids are global upstream (per API key), so each HTTP principal's agents live in its own namespace
there (agent_names.py): it sees only the agents it created, under the names it gave them, and anyone
else's looks exactly like an unknown one. The local principal (stdio, unauthenticated loopback) is the
key's owner and sees every agent of the key. Header values of `mcp_server` tools are credentials: they
go upstream but are never shown back.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gemini_interactions_mcp.downstream.hub import is_downstream_entry
from gemini_interactions_mcp.gemini import (
    REDACTED,
    ConflictError,
    GeminiError,
    InteractionsClient,
    NotFoundError,
)
from gemini_interactions_mcp.services.agent_names import AgentNames
from gemini_interactions_mcp.services.background import BackgroundTurns
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.chain import TurnRequest
from gemini_interactions_mcp.services.errors import ServiceError, UnknownHandleError, explain_upstream
from gemini_interactions_mcp.services.inputs import TurnInputs
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL
from gemini_interactions_mcp.services.requests import DEFAULT_BASE_AGENT, AgentRunRequest, AgentSpec
from gemini_interactions_mcp.services.toolloop import BRIDGED, ToolLoop
from gemini_interactions_mcp.state import JobRecord, Store
from gemini_interactions_mcp.tool_names import ToolName

MAX_UPSTREAM_PAGES = 20  # one list call reads at most this many upstream pages looking for the caller's
UPSTREAM_PAGE_SIZE = 100


class AgentPage(BaseModel):
    agents: list[dict[str, Any]]
    next_page_token: str | None


def unknown_agent(agent_id: str) -> UnknownHandleError:
    return UnknownHandleError(
        f"No agent {agent_id!r} for you. {ToolName.MANAGE_AGENT} with action='list' shows yours; built-in: "
        f"{DEFAULT_BASE_AGENT}."
    )


def _encode_cursor(upstream_token: str | None, skip: int, size: int) -> str:
    raw = json.dumps({"t": upstream_token, "s": skip, "n": size}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[str | None, int, int]:
    """Our page token: the upstream page (token and size) to read, and how many of its matches to skip."""
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        upstream, skip, size = cursor["t"], cursor["s"], cursor["n"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        upstream, skip, size = None, -1, 0
    valid = (
        (upstream is None or isinstance(upstream, str)) and isinstance(skip, int) and isinstance(size, int)
    )
    if not valid or skip < 0 or not 1 <= size <= UPSTREAM_PAGE_SIZE:
        raise ServiceError(
            f"page_token {token!r} is not one {ToolName.MANAGE_AGENT} returned; "
            "omit it to start from the first page."
        )
    return upstream, skip, size


def redact_headers(value: Any) -> Any:
    """`value` with the value of every header (under any `headers` key) replaced by a placeholder."""
    if isinstance(value, list):
        return [redact_headers(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: {name: REDACTED for name in item}
        if key == "headers" and isinstance(item, dict)
        else redact_headers(item)
        for key, item in value.items()
    }


def _shown(agent: Any, names: AgentNames) -> dict[str, Any]:
    """An upstream agent as its owner may see it: under its own name, without header values."""
    dumped = agent.model_dump(mode="json", exclude_none=True) if isinstance(agent, BaseModel) else dict(agent)
    shown: dict[str, Any] = redact_headers(dumped)
    if isinstance(shown.get("id"), str):
        shown["id"] = names.name_of(shown["id"])
    return shown


def _upstream_id(agent: Any) -> Any:
    return agent.get("id") if isinstance(agent, dict) else getattr(agent, "id", None)


class AgentService:
    def __init__(
        self,
        *,
        store: Store,
        client: InteractionsClient,
        catalog: Catalog,
        inputs: TurnInputs,
        background: BackgroundTurns,
        tool_loop: ToolLoop | None = None,
    ) -> None:
        self._store = store
        self._client = client
        self._catalog = catalog
        self._inputs = inputs
        self._background = background
        self._tool_loop = tool_loop

    async def _upstream_agent(self, names: AgentNames, name: str, *, what: str) -> Any:
        """The caller's agent `name` from upstream; unknown (like anyone else's) when it has none."""
        if not names.is_valid(name):
            raise unknown_agent(name)
        try:
            return await self._client.get_agent(names.upstream(name))
        except NotFoundError:
            raise unknown_agent(name) from None
        except GeminiError as exc:
            raise explain_upstream(exc, what=what) from None

    async def create(self, owner: str, spec: AgentSpec) -> tuple[dict[str, Any], list[str]]:
        names = AgentNames(owner)
        if not names.is_valid(spec.id):
            raise ServiceError(
                f"Agent id {spec.id!r} is not valid: use 1-{names.max_length} lowercase letters, digits and "
                "hyphens, starting with a letter (e.g. 'code-reviewer')."
            )
        notes: list[str] = []
        base = self._catalog.resolve_agent(spec.base_agent)
        if base.note:
            notes.append(base.note)
        if self._catalog.kind_of_agent(base.id) != "managed":
            raise ServiceError(
                f"base_agent {spec.base_agent!r} is not a managed agent: "
                f"use {DEFAULT_BASE_AGENT} (the default)."
            )
        upstream_id = names.upstream(spec.id)
        body: dict[str, Any] = {"id": upstream_id, "base_agent": base.id}
        if spec.description:
            body["description"] = spec.description
        if spec.system_instruction:
            body["system_instruction"] = spec.system_instruction
        if spec.tools:
            body["tools"] = [
                {"type": t} if isinstance(t, str) else t.model_dump(exclude_none=True) for t in spec.tools
            ]
        if spec.base_environment is not None:
            body["base_environment"] = spec.base_environment.wire()
        taken = ServiceError(f"An agent with id {spec.id!r} already exists; choose another id.")
        # Asked first because the client retries a 409 like the SDK does (seconds of backoff for an answer
        # that cannot change); the create's own 409 still covers a concurrent create of the same id.
        try:
            await self._client.get_agent(upstream_id)
        except NotFoundError:
            pass
        except GeminiError as exc:
            raise explain_upstream(exc, what="creating the agent") from None
        else:
            raise taken
        try:
            created = await self._client.create_agent(body)
        except ConflictError:
            raise taken from None
        except GeminiError as exc:
            raise explain_upstream(exc, what="creating the agent") from None
        return _shown(created, names), notes

    async def page(self, owner: str, *, page_size: int, page_token: str | None) -> AgentPage:
        """One page of the caller's agents.

        Upstream lists every agent of the key; an HTTP principal sees only its own, so upstream pages
        are read (and filtered) until this page is full. The page token says where to go on: which
        upstream page, and how many of the caller's agents on it were already shown.
        """
        local = owner == LOCAL_PRINCIPAL
        names = AgentNames(owner)
        upstream, skip, size = (None, 0, page_size if local else UPSTREAM_PAGE_SIZE)
        if page_token:
            upstream, skip, size = _decode_cursor(page_token)
        agents: list[dict[str, Any]] = []
        for _ in range(MAX_UPSTREAM_PAGES):
            try:
                page = await self._client.list_agents(page_size=size, page_token=upstream)
            except GeminiError as exc:
                raise explain_upstream(exc, what="listing agents") from None
            visible = [
                _shown(agent, names) for agent in page.agents or [] if names.owns(str(_upstream_id(agent)))
            ]
            room = page_size - len(agents)
            agents += visible[skip : skip + room]
            if skip + room < len(visible):  # more of the caller's agents on this upstream page
                return AgentPage(agents=agents, next_page_token=_encode_cursor(upstream, skip + room, size))
            upstream, skip = page.next_page_token or None, 0
            if upstream is None:
                return AgentPage(agents=agents, next_page_token=None)
            if len(agents) == page_size:
                break
        return AgentPage(agents=agents, next_page_token=_encode_cursor(upstream, 0, size))

    async def get(self, owner: str, agent_id: str) -> dict[str, Any]:
        names = AgentNames(owner)
        return _shown(await self._upstream_agent(names, agent_id, what="reading the agent"), names)

    async def delete(self, owner: str, agent_id: str) -> None:
        names = AgentNames(owner)
        if not names.is_valid(agent_id):
            raise unknown_agent(agent_id)
        try:
            await self._client.delete_agent(names.upstream(agent_id))
        except NotFoundError:
            raise unknown_agent(agent_id) from None
        except GeminiError as exc:
            raise explain_upstream(exc, what="deleting the agent") from None

    async def run(
        self, owner: str, request: AgentRunRequest, *, roots: list[Path] | None
    ) -> tuple[JobRecord, list[str]]:
        """Start a background run; a conversation re-sends its sandbox's environment id each turn.

        The conversation and the job keep the agent under the caller's name; upstream gets its id.
        """
        notes: list[str] = []
        agent = request.agent
        conversation = None
        if request.conversation is not None:
            conversation = await self._store.get_conversation(owner, request.conversation.strip())
        if agent is None and conversation is not None:
            agent = conversation.agent
        resolution = self._catalog.resolve_agent(agent or DEFAULT_BASE_AGENT)
        if resolution.note:
            notes.append(resolution.note)
        kind = self._catalog.kind_of_agent(resolution.id)
        if kind == "deep-research":
            raise ServiceError(f"{resolution.id!r} is a Deep Research agent: use {ToolName.START_RESEARCH}.")
        upstream_id = resolution.id
        if kind != "managed":
            names = AgentNames(owner)
            await self._upstream_agent(names, resolution.id, what="starting the agent run")
            upstream_id = names.upstream(resolution.id)
        body: dict[str, Any] = {"agent": upstream_id}
        if request.environment:
            body["environment"] = request.environment
        kept = conversation.settings.get(BRIDGED) if conversation is not None else None
        entries = request.tools if request.tools is not None else kept or []
        if entries:
            body["tools"], tool_notes = await self._declared(entries)
            notes += tool_notes
        turn_input = await self._inputs.build(request.input, request.files, roots, owner=owner)
        job, started_notes = await self._background.start(
            owner,
            request.conversation,
            TurnRequest(prompt=request.input, files=request.files, turn_input=turn_input),
            body,
            kind="agent",
            agent=resolution.id,
            label=resolution.id,
            default_environment="remote",
            settings={BRIDGED: entries or None} if request.tools is not None else None,
        )
        return job, notes + started_notes

    async def _declared(self, entries: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """The tools an agent run declares for its entries: functions this server answers while the
        run's job goes on (the watcher runs the calls), and Gemini-side MCP servers."""
        other = [e for e in entries if not is_downstream_entry(e)]
        if other:
            raise ServiceError(
                f"run_agent tools {', '.join(map(repr, other))} are not tools it can give: use workspace, "
                "mcp:NAME or mcp:NAME/TOOL (gemini://tools). The agent's own tools (code execution, search) "
                f"come with the agent ({ToolName.MANAGE_AGENT})."
            )
        if self._tool_loop is None:
            raise ServiceError("This server was started without support for tools Gemini calls through it.")
        toolbox = await self._tool_loop.toolbox(entries)
        return toolbox.declarations(), toolbox.notes
