"""The function-calling loop: Gemini asks for calls, this server runs them and sends the results back.

A turn whose interaction ends in `requires_action` carries `function_call` steps. Each call is checked
against what the conversation enabled (nothing else is ever called), confirmed by the user when the tool
may change something (neither read-only nor from a trusted server), run with its server's timeout (all
calls of a round in parallel), capped, and answered with a `function_result` step: errors included, as
`is_error` results the model can react to. The next interaction of the turn carries the results; the
loop ends when the model answers, or after `max_rounds` rounds of calls.

Every call is recorded (name, duration, ok or the error) for the result, and announced as a progress
note (`calling NAME__TOOL`) while it runs.

A round's calls run apart from the request that asked for them (services/rounds.py): when the caller's
deadline passes mid-round, the round goes on and the turn is handed to a job (`HandedOn`), whose
watcher collects the round's results rather than running its calls again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from gemini_interactions_mcp.downstream.functions import CallOutcome, FunctionSpec
from gemini_interactions_mcp.downstream.hub import DownstreamHub, SelectionError, Toolbox
from gemini_interactions_mcp.downstream.paths import Confinement
from gemini_interactions_mcp.downstream.workspace import TOOLSET as WORKSPACE
from gemini_interactions_mcp.downstream.workspace import Workspace
from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.heartbeats import Progress
from gemini_interactions_mcp.services.results import Approval, CallRecord, PausedLoop
from gemini_interactions_mcp.services.rounds import Round, RoundsInFlight
from gemini_interactions_mcp.services.turns import TurnOutcome

DEFAULT_MAX_ROUNDS = 10
MAX_PARALLEL_CALLS = 8
"""Calls of one round that run at once; the rest wait their turn. Gemini may ask for dozens in one
round, and each may be a process of a downstream server or a walk of the workspace."""
BRIDGED = "bridged_tools"
"""Settings key of a conversation's `mcp:` and `workspace` entries: kept with it, never sent as such
(each turn declares what they stand for)."""


Confirm = Callable[[FunctionSpec, Mapping[str, Any], str], Awaitable[Approval]]
"""Puts one call (its function, arguments and call id) to the user and says what they decided, that
they cannot be asked, or that their answer comes with the client's retry."""


async def cannot_ask(spec: FunctionSpec, arguments: Mapping[str, Any], call_id: str) -> Approval:
    """The confirmation of a caller without elicitation."""
    return Approval.CANNOT_ASK


async def unattended(spec: FunctionSpec, arguments: Mapping[str, Any], call_id: str) -> Approval:
    """The confirmation in a background loop, which nobody waits for."""
    return Approval.UNATTENDED


class AwaitingUser(Exception):
    """A round's calls wait for the user's answers, which come only with the client's retry: the turn
    stops at the interaction that asked for the calls, and nothing of the round has run."""


class HandedOn(Exception):
    """The caller's deadline passed while a round's calls ran: the round goes on, registered under the
    interaction it answers, for the job that adopts that interaction to collect (or `cancel`)."""

    def __init__(self, rounds: RoundsInFlight[Answered], key: str) -> None:
        super().__init__(key)
        self._rounds = rounds
        self._key = key

    async def cancel(self) -> None:
        """Stop the round: no job took the interaction over."""
        await self._rounds.cancel(self._key)


@dataclass(frozen=True)
class Answered:
    """A round's results: a `function_result` step per call, in the order of the calls, and the
    record of each call run or refused."""

    steps: list[dict[str, Any]]
    calls: list[CallRecord]


def refusal(spec: FunctionSpec, approval: Approval) -> str:
    if approval is Approval.DENIED:
        return f"The user declined the call of {spec.name}. Do not retry it; answer without it."
    why = (
        "nobody was there to ask (the turn went on in the background after the caller's wait ran out)"
        if approval is Approval.UNATTENDED
        else "this client cannot be asked (no elicitation support)"
    )
    return (
        f"{spec.name} may change things, so each call needs the user's confirmation, and {why}. To "
        f'allow it without asking, set "trust": true for the server {spec.server!r} in the server\'s '
        "--mcp-config file."
    )


def round_limit_note(max_rounds: int) -> str:
    """Why a turn ended with Gemini's calls unanswered: in the request or in the job that took it over."""
    return (
        f"Gemini still wanted to call tools after {max_rounds} rounds (the limit, --max-tool-rounds); "
        "the turn stopped there. Ask it to go on in a new turn."
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
        rounds: RoundsInFlight[Answered],
        *,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        roots: Sequence[Path] = (),
        show_roots: bool = True,
        max_parallel_calls: int = MAX_PARALLEL_CALLS,
    ) -> None:
        self.hub = hub
        self.rounds = rounds
        self.max_rounds = max_rounds
        self.max_parallel_calls = max_parallel_calls
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
        after: PausedLoop | None = None,
        deadline: float = math.inf,
    ) -> LoopTurn:
        """The answerer of one turn's calls (it counts the rounds and records every call, going on from
        `after` when the turn was paused for the user); the workspace functions read `roots` (the
        client's), else the server's allowed folders. A round still running at `deadline` (a
        time.monotonic()) is handed on (`HandedOn`)."""
        chosen = self._roots if roots is None else roots
        workspace = Workspace(Confinement.of(chosen, show_roots=self._show_roots))
        turn = LoopTurn(self, toolbox, workspace, confirm, progress, deadline)
        if after is not None:
            turn.rounds, turn.calls = after.rounds, list(after.calls)
        return turn


class LoopTurn:
    """Answers the function calls of one turn, round after round (an `ActionHandler` for the chain)."""

    def __init__(
        self,
        loop: ToolLoop,
        toolbox: Toolbox,
        workspace: Workspace,
        confirm: Confirm,
        progress: Progress | None,
        deadline: float,
    ) -> None:
        self._loop = loop
        self.toolbox = toolbox
        self._workspace = workspace
        self._confirm = confirm
        self._progress = progress
        self._deadline = deadline
        self.rounds = 0
        """Rounds answered and sent so far (a round handed on is not: the job that sends it counts it)."""
        self.calls: list[CallRecord] = []
        self.notes: list[str] = []
        self.paused = False
        """The turn stopped for the user's answers to this round's calls (see AwaitingUser)."""

    async def __call__(self, owner: str, outcome: TurnOutcome) -> list[dict[str, Any]] | None:
        """The `function_result` steps answering the outcome's calls, or None to end the turn here."""
        if not outcome.function_calls:
            return None
        if self.rounds >= self._loop.max_rounds:
            self.notes.append(round_limit_note(self._loop.max_rounds))
            return None
        try:
            steps = await self.answer(outcome.function_calls, key=outcome.interaction_id)
        except AwaitingUser:
            self.paused = True
            return None
        self.rounds += 1
        return steps

    async def answer(self, calls: Sequence[Mapping[str, Any]], *, key: str) -> list[dict[str, Any]]:
        """One round: every call checked and confirmed first (one question at a time), then the allowed
        ones run in parallel; a `function_result` step per call, in the order of the calls.
        AwaitingUser, before anything runs, when an answer comes only with the client's retry;
        HandedOn when the deadline passes while the calls run (they go on under `key`: the
        interaction they answer, or the job they belong to)."""
        outcomes: list[CallOutcome | None] = []
        seconds = [0.0] * len(calls)
        runnable: list[tuple[int, FunctionSpec, Mapping[str, Any]]] = []
        awaiting = False
        for index, call in enumerate(calls):
            spec, refused = await self._check(call)
            if refused is _AWAITING:
                awaiting = True
            elif refused is None and spec is not None:
                runnable.append((index, spec, call.get("arguments") or {}))
            outcomes.append(refused)
        if awaiting:
            raise AwaitingUser

        async def execute(running: Round[Answered]) -> Answered:
            limiter = anyio.CapacityLimiter(self._loop.max_parallel_calls)

            async def run(index: int, spec: FunctionSpec, arguments: Mapping[str, Any]) -> None:
                async with limiter:
                    started = time.monotonic()
                    outcomes[index] = await self._run(spec, arguments, running.note)
                    seconds[index] = time.monotonic() - started

            async with anyio.create_task_group() as tg:
                for index, spec, arguments in runnable:
                    tg.start_soon(run, index, spec, arguments)
            steps, records = [], []
            for call, outcome, took in zip(calls, outcomes, seconds, strict=True):
                assert outcome is not None  # every call was either refused or run
                records.append(_record(str(call.get("name")), took, outcome))
                steps.append(_result_step(call, outcome))
            return Answered(steps, records)

        within = max(0.0, self._deadline - time.monotonic())
        answered = await self._loop.rounds.run(key, execute, progress=self._progress, within=within)
        if answered is None:
            raise HandedOn(self._loop.rounds, key)
        self.calls += answered.calls
        return answered.steps

    async def _check(self, call: Mapping[str, Any]) -> tuple[FunctionSpec | None, CallOutcome | None]:
        """The enabled function a call names, or the error result that refuses it."""
        spec = self.toolbox.functions.get(str(call.get("name")))
        if spec is None:
            message = f"{call.get('name')} is not a tool enabled in this conversation."
            return None, CallOutcome.text(message, is_error=True)
        if not isinstance(call.get("arguments", {}), dict):
            return spec, CallOutcome.text(f"{spec.name}: arguments must be a JSON object.", is_error=True)
        if spec.needs_confirmation:
            approval = await self._confirm(spec, call.get("arguments") or {}, str(call.get("id")))
            if approval is Approval.PENDING:
                return spec, _AWAITING
            if approval is not Approval.APPROVED:
                return spec, CallOutcome.text(refusal(spec, approval), is_error=True)
        return spec, None

    async def _run(self, spec: FunctionSpec, arguments: Mapping[str, Any], note: Progress) -> CallOutcome:
        await note(f"calling {spec.name}")
        if spec.server == WORKSPACE:
            return (await self._workspace.call(spec.tool, arguments)).capped()
        return await self._loop.hub.call(spec, arguments)


def _record(name: str, seconds: float, outcome: CallOutcome) -> CallRecord:
    error = _error_text(outcome) if outcome.is_error else None
    return CallRecord(name=name, seconds=round(seconds, 4), ok=not outcome.is_error, error=error)


_AWAITING = CallOutcome.text("(waiting for the user's answer)", is_error=True)
"""What `_check` gives for a call whose confirmation comes with the client's retry (never sent)."""


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
