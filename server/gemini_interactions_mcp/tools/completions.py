"""Argument completion (`completion/complete`) for the prompts and the resource templates.

Only the caller's own objects are offered: their conversations (ids and names) and the interaction ids
of their background jobs (the newest of each conversation), looked up for the calling principal exactly
as the tools look them up. The
rest comes from the catalog (model and Deep Research agent ids) and the readable folders (paths). An
argument with nothing to offer, or a reference this server does not have, completes to nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import (
    CompleteRequestParams,
    CompleteResult,
    Completion,
    PromptReference,
    ResourceTemplateReference,
)

from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.uris import RESOURCE_TEMPLATE
from gemini_interactions_mcp.tools._common import principal
from gemini_interactions_mcp.tools._wiring import AppState, Wiring
from gemini_interactions_mcp.tools.prompts import PromptName

MAX_VALUES = 100
"""The protocol's cap on values in one completion."""
LOOKUP = 200
"""How many of the caller's latest conversations or jobs are searched for a match."""

Candidates = Callable[[AppState, str], Awaitable[list[str]]]


async def conversations(state: AppState, _: str) -> list[str]:
    found = await state.conversations.summaries(principal(), limit=LOOKUP, offset=0)
    return [value for c in found for value in ([c.name] if c.name else []) + [c.id]]


async def interactions(state: AppState, _: str) -> list[str]:
    return await state.conversations.latest_jobs(principal(), limit=LOOKUP)


async def research_agents(state: AppState, _: str) -> list[str]:
    agents = Catalog.load().data.agents
    return [value for a in agents if a.kind == "deep-research" for value in (*a.aliases, a.id)]


async def models(state: AppState, _: str) -> list[str]:
    return [m.id for m in Catalog.load().data.models]


async def paths(state: AppState, typed: str) -> list[str]:
    """Entries of the readable folders under what is typed so far (the last of a comma-separated list)."""
    return await anyio.to_thread.run_sync(folder_entries, state.settings.allow_dirs, typed)


def folder_entries(roots: Sequence[Path], typed: str) -> list[str]:
    done, _, current = typed.rpartition(",")
    prefix = f"{done}," if done else ""
    folder, _, _ = current.strip().rpartition("/")
    found = []
    for root in roots:
        base = root / folder if folder else root
        if not base.is_dir() or not base.resolve().is_relative_to(root.resolve()):
            continue
        for entry in sorted(base.iterdir())[:LOOKUP]:
            shown = str(Path(folder, entry.name)) if folder else entry.name
            found.append(prefix + shown + ("/" if entry.is_dir() else ""))
    return found


PROMPT_ARGUMENTS: dict[tuple[str, str], Candidates] = {
    (PromptName.RESEARCH, "depth"): research_agents,
    (PromptName.SECOND_OPINION, "model"): models,
    (PromptName.SECOND_OPINION, "files"): paths,
    (PromptName.CONTINUE, "conversation"): conversations,
}
TEMPLATE_ARGUMENTS: dict[tuple[str, str], Candidates] = {
    (RESOURCE_TEMPLATE, "interaction_id"): interactions,
}


def matching(values: list[str], typed: str) -> Completion:
    """The values that start with what is typed (case-insensitively), best first, at most MAX_VALUES."""
    wanted = typed.casefold()
    hits = list(dict.fromkeys(v for v in values if v.casefold().startswith(wanted)))
    return Completion(values=hits[:MAX_VALUES], total=len(hits), has_more=len(hits) > MAX_VALUES)


def register(server: MCPServer[Any]) -> None:
    async def complete(
        ctx: ServerRequestContext[Wiring, Any], params: CompleteRequestParams
    ) -> CompleteResult:
        ref, argument = params.ref, params.argument
        if isinstance(ref, PromptReference):
            candidates = PROMPT_ARGUMENTS.get((ref.name, argument.name))
        elif isinstance(ref, ResourceTemplateReference):
            candidates = TEMPLATE_ARGUMENTS.get((ref.uri, argument.name))
        else:
            candidates = None
        if candidates is None:
            return CompleteResult(completion=Completion(values=[], total=0, has_more=False))
        values = await candidates(ctx.lifespan_context.state, argument.value)
        return CompleteResult(completion=matching(values, argument.value))

    # MCPServer.completion() hands its function no request context, and completing the caller's own
    # objects needs the app's services: register on the low-level server, as that decorator does.
    server._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, complete)
