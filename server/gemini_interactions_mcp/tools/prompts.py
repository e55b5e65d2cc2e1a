"""Prompts, which clients show as slash commands: research, second_opinion and continue.

Each one is a message to the calling model naming the tool to call and its arguments, so the user types
a topic instead of explaining the tools; `continue` also brings the conversation's recap from the
server's copy, to pick a thread up in a new session. Their arguments are completed (tools/completions.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from mcp import MCPError
from mcp.server.mcpserver import MCPServer
from mcp.types import INVALID_PARAMS
from pydantic import Field

from gemini_interactions_mcp.services.requests import DEFAULT_AGENT, MAX_WAIT_SECONDS
from gemini_interactions_mcp.services.results import ConversationRecap
from gemini_interactions_mcp.services.uris import RESOURCE_TEMPLATE
from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._common import AppContext, app_state, principal

RECAP_TURNS = 3
RECAP_CHARS = 600
"""Per prompt or answer in a recap: enough to recall the thread, small enough for any context."""


class PromptName(StrEnum):
    RESEARCH = "research"
    SECOND_OPINION = "second_opinion"
    CONTINUE = "continue"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= RECAP_CHARS else text[: RECAP_CHARS - 1] + "…"


def recap_text(recap: ConversationRecap) -> str:
    lines = []
    for number, (asked, answered) in enumerate(recap.latest, start=recap.first_turn):
        lines.append(f"[turn {number}] User: {_clip(asked)}")
        lines.append(f"[turn {number}] Gemini: {_clip(answered) or '(no answer yet)'}")
    return "\n".join(lines) or "(no turns yet)"


def register(server: MCPServer[Any]) -> None:
    @server.prompt(
        name=PromptName.RESEARCH,
        title="Deep Research",
        description="Research a topic with Deep Research (minutes) and report the findings with sources.",
    )
    def research(
        topic: Annotated[str, Field(description="What to research.")],
        depth: Annotated[
            str,
            Field(description="'fast' (default), 'max' (exhaustive, slower) or a Deep Research agent id."),
        ] = DEFAULT_AGENT,
    ) -> str:
        return (
            f"Research this with Deep Research and report back.\n\nTopic: {topic}\n\n"
            f"Call {ToolName.START_RESEARCH} with query set to the topic and agent={depth!r}. It takes "
            f"minutes: tell me it started, then call {ToolName.POLL} with the returned interaction_id and "
            f"wait_seconds={MAX_WAIT_SECONDS}, again while it is still running. When it has completed, "
            f"read the full report ({RESOURCE_TEMPLATE.replace('{interaction_id}', '<interaction_id>')}) "
            "and give me its key findings, each with its sources."
        )

    @server.prompt(
        name=PromptName.SECOND_OPINION,
        title="Second opinion from Gemini",
        description="Ask Gemini to review your reasoning or code on a question, and say where it disagrees.",
    )
    def second_opinion(
        question: Annotated[str, Field(description="The question or decision to review.")],
        files: Annotated[str, Field(description="Paths to include, comma separated.")] = "",
        model: Annotated[str, Field(description="Gemini model id (default: the server's).")] = "",
    ) -> str:
        paths = [p.strip() for p in files.split(",") if p.strip()]
        arguments = [
            'system_instruction="You are a critical reviewer: find errors, gaps and better alternatives, '
            'and say plainly where you agree."',
            "prompt: the question, then that reasoning or code",
        ]
        if paths:
            arguments.append(f"files={paths!r}")
        if model.strip():
            arguments.append(f"model={model.strip()!r}")
        return (
            f"Get a second opinion from Gemini.\n\nQuestion: {question}\n\n"
            "First gather what it is about: your current answer and why, or the relevant code. Then call "
            f"{ToolName.ASK} with " + "; ".join(arguments) + ". Then tell me where Gemini disagrees, "
            "and whether that changes your answer."
        )

    @server.prompt(
        name=PromptName.CONTINUE,
        title="Continue a Gemini conversation",
        description="Pick up one of your Gemini conversations where it stopped, with a recap of it.",
    )
    async def continue_conversation(
        conversation: Annotated[str, Field(description="Conversation id or name.")],
        ctx: AppContext,
    ) -> str:
        from gemini_interactions_mcp.services.errors import EXPLAINED, failure_message  # wired by now

        try:
            recap = await app_state(ctx).conversations.recap(principal(), conversation, turns=RECAP_TURNS)
        except EXPLAINED as exc:  # an unknown (or someone else's) conversation: the caller's mistake
            raise MCPError(code=INVALID_PARAMS, message=failure_message(exc)) from None
        found = recap.summary
        label = f"{found.id} ({found.name})" if found.name else found.id
        return (
            f"We are continuing my Gemini conversation {label} ({found.turns} turn(s) so far, model "
            f"{found.model or 'default'}). Its latest turns:\n\n{recap_text(recap)}\n\n"
            f"Gemini keeps the whole history, so never resend it. Ask me what to say next, then call "
            f"{ToolName.ASK} with conversation={found.id!r} and my message as the prompt."
        )
