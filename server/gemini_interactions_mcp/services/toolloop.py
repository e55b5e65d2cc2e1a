"""The function-calling loop: Gemini asks for calls, this server runs them and sends the results back.

A turn whose interaction ends in `requires_action` carries `function_call` steps. Each call is checked
against what the conversation enabled (nothing else is ever called), confirmed by the user when the tool
may change something (neither read-only nor from a trusted server), run with its server's timeout (all
calls of a round in parallel), capped, and answered with a `function_result` step: errors included, as
`is_error` results the model can react to. The next interaction of the turn carries the results; the
loop ends when the model answers, or after `max_rounds` rounds of calls.

Every call is recorded (name, duration, ok or the error) for the result, and announced as a progress
note (`calling NAME__TOOL`) while it runs.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel

from gemini_interactions_mcp.downstream.functions import CallOutcome, FunctionSpec
from gemini_interactions_mcp.downstream.hub import DownstreamHub, SelectionError, Toolbox
from gemini_interactions_mcp.downstream.paths import Confinement
from gemini_interactions_mcp.downstream.workspace import TOOLSET as WORKSPACE
from gemini_interactions_mcp.downstream.workspace import Workspace
from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.heartbeats import Progress
from gemini_interactions_mcp.services.turns import TurnOutcome

DEFAULT_MAX_ROUNDS = 10


class Approval(enum.Enum):
    APPROVED = "approved"
    DENIED = "denied"
    CANNOT_ASK = "cannot ask"


Confirm = Callable[[FunctionSpec, Mapping[str, Any]], Awaitable[Approval]]
"""Puts one call to the user (elicitation) and says what they decided, or that they cannot be asked."""


async def cannot_ask(spec: FunctionSpec, arguments: Mapping[str, Any]) -> Approval:
    """The confirmation of a caller that cannot be asked (no elicitation, or nobody is waiting)."""
    return Approval.CANNOT_ASK


class CallRecord(BaseModel):
    """One call Gemini made in a turn, as the result lists it."""

    name: str
    seconds: float
    ok: bool
    error: str | None = None


def refusal(spec: FunctionSpec, approval: Approval) -> str:
    if approval is Approval.DENIED:
        return f"The user declined the call of {spec.name}. Do not retry it; answer without it."
    return (
        f"{spec.name} may change things, so each call needs the user's confirmation, and this client "
        f'cannot be asked (no elicitation support). To allow it without asking, set "trust": true for '
        f"the server {spec.server!r} in the server's --mcp-config file."
    )


def _error_text(outcome: CallOutcome) -> str:
    text = " ".join(str(b.get("text", "")) for b in outcome.result if b.get("type") == "text")
    flat = " ".join(text.split())
    return flat if len(flat) <= 200 else flat[:199] + "…"


class ToolLoop:
    """Builds a turn's toolbox from its `tools` entries, and answers its function calls."""

    def __init__(
        self,
        hub: DownstreamHub,
        *,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        roots: Sequence[Path] = (),
        show_roots: bool = True,
    ) -> None:
        self.hub = hub
        self.max_rounds = max_rounds
        self._roots = list(roots)
        self._show_roots = show_roots

    async def toolbox(self, entries: Sequence[str]) -> Toolbox:
        try:
            return await self.hub.toolbox(entries)
        except SelectionError as exc:
            raise ServiceError(str(exc)) from None

    def turn(
        self,
        toolbox: Toolbox,
        roots: Sequence[Path] | None = None,
        *,
        confirm: Confirm = cannot_ask,
        progress: Progress | None = None,
    ) -> LoopTurn:
        """The answerer of one turn's calls (it counts the rounds and records every call); the workspace
        functions read `roots` (the client's), else the server's allowed folders."""
        chosen = self._roots if roots is None else roots
        workspace = Workspace(Confinement.of(chosen, show_roots=self._show_roots))
        return LoopTurn(self, toolbox, workspace, confirm, progress)


class LoopTurn:
    """Answers the function calls of one turn, round after round (an `ActionHandler` for the chain)."""

    def __init__(
        self,
        loop: ToolLoop,
        toolbox: Toolbox,
        workspace: Workspace,
        confirm: Confirm,
        progress: Progress | None,
    ) -> None:
        self._loop = loop
        self.toolbox = toolbox
        self._workspace = workspace
        self._confirm = confirm
        self._progress = progress
        self.rounds = 0
        self.calls: list[CallRecord] = []
        self.notes: list[str] = []

    async def __call__(self, owner: str, outcome: TurnOutcome) -> list[dict[str, Any]] | None:
        """The `function_result` steps answering the outcome's calls, or None to end the turn here."""
        if not outcome.function_calls:
            return None
        if self.rounds >= self._loop.max_rounds:
            self.notes.append(
                f"Gemini still wanted to call tools after {self._loop.max_rounds} rounds (the limit, "
                "--max-tool-rounds); the turn stopped there. Ask it to go on in a new turn."
            )
            return None
        self.rounds += 1
        return await self.answer(outcome.function_calls)

    async def answer(self, calls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One round: every call checked and confirmed first (one question at a time), then the allowed
        ones run in parallel; a `function_result` step per call, in the order of the calls."""
        outcomes: list[CallOutcome | None] = []
        seconds = [0.0] * len(calls)
        runnable: list[tuple[int, FunctionSpec, Mapping[str, Any]]] = []
        for index, call in enumerate(calls):
            spec, refused = await self._check(call)
            if refused is None and spec is not None:
                runnable.append((index, spec, call.get("arguments") or {}))
            outcomes.append(refused)

        async def run(index: int, spec: FunctionSpec, arguments: Mapping[str, Any]) -> None:
            started = time.monotonic()
            outcomes[index] = await self._run(spec, arguments)
            seconds[index] = time.monotonic() - started

        async with anyio.create_task_group() as tg:
            for index, spec, arguments in runnable:
                tg.start_soon(run, index, spec, arguments)
        steps = []
        for call, outcome, took in zip(calls, outcomes, seconds, strict=True):
            assert outcome is not None  # every call was either refused or run
            self._record(str(call.get("name")), took, outcome)
            steps.append(_result_step(call, outcome))
        return steps

    async def _check(self, call: Mapping[str, Any]) -> tuple[FunctionSpec | None, CallOutcome | None]:
        """The enabled function a call names, or the error result that refuses it."""
        spec = self.toolbox.functions.get(str(call.get("name")))
        if spec is None:
            message = f"{call.get('name')} is not a tool enabled in this conversation."
            return None, CallOutcome.text(message, is_error=True)
        if not isinstance(call.get("arguments", {}), dict):
            return spec, CallOutcome.text(f"{spec.name}: arguments must be a JSON object.", is_error=True)
        if spec.needs_confirmation:
            approval = await self._confirm(spec, call.get("arguments") or {})
            if approval is not Approval.APPROVED:
                return spec, CallOutcome.text(refusal(spec, approval), is_error=True)
        return spec, None

    async def _run(self, spec: FunctionSpec, arguments: Mapping[str, Any]) -> CallOutcome:
        if self._progress is not None:
            await self._progress(f"calling {spec.name}")
        if spec.server == WORKSPACE:
            return (await self._workspace.call(spec.tool, arguments)).capped()
        return await self._loop.hub.call(spec, arguments)

    def _record(self, name: str, seconds: float, outcome: CallOutcome) -> None:
        error = _error_text(outcome) if outcome.is_error else None
        self.calls.append(
            CallRecord(name=name, seconds=round(seconds, 4), ok=not outcome.is_error, error=error)
        )


def _result_step(call: Mapping[str, Any], outcome: CallOutcome) -> dict[str, Any]:
    step: dict[str, Any] = {
        "type": "function_result",
        "call_id": call.get("id"),
        "name": call.get("name"),
        "result": outcome.result,
    }
    if outcome.is_error:
        step["is_error"] = True
    return step
