"""Asking a model: one turn of a conversation, answered within a soft deadline or handed to a job.

The Interactions API keeps the history (`previous_interaction_id`) but not the interaction-scoped
settings (system instruction, tools, generation config), so they are stored with the conversation and
re-sent every turn.

A turn may end in `requires_action` (the model called functions). What to send back is an
`ActionHandler`'s decision: it returns the next input (the function results), which is chained as
another interaction of the same turn, or None to hand the calls to the caller as they are. Without a
handler every such turn ends there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from gemini_interactions_mcp.downstream.hub import Toolbox, is_downstream_entry
from gemini_interactions_mcp.gemini import GeminiError, Interaction, InteractionsClient
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.chain import Advanced, ConversationChain, Created, TurnRequest
from gemini_interactions_mcp.services.conversations import ID_PREFIX, ConversationDirectory, NewConversation
from gemini_interactions_mcp.services.errors import ServiceError, explain_upstream
from gemini_interactions_mcp.services.heartbeats import Heartbeats, Progress
from gemini_interactions_mcp.services.inputs import TurnInputs
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.services.reports import citations_of
from gemini_interactions_mcp.services.requests import AskRequest
from gemini_interactions_mcp.services.results import AnswerPart, PausedLoop, TurnResult
from gemini_interactions_mcp.services.rounds import RoundCancelled
from gemini_interactions_mcp.services.toolloop import (
    BRIDGED,
    Answered,
    Confirm,
    HandedOn,
    LoopTurn,
    ToolLoop,
    cannot_ask,
    round_limit_note,
    unattended,
)
from gemini_interactions_mcp.services.transcript import TurnInput
from gemini_interactions_mcp.services.turns import (
    TurnOutcome,
    function_calls,
    run_streamed_turn,
    stored_outcome,
)
from gemini_interactions_mcp.services.usage import UsageLedger
from gemini_interactions_mcp.state import ConversationRecord, JobRecord, UsageCounts

BuiltinTool = Literal["google_search", "code_execution", "url_context"]
BUILTIN_TOOLS: frozenset[str] = frozenset(get_args(BuiltinTool))
MIN_TURN_SECONDS = 1.0
"""However late a turn starts, it gets at least this long to be accepted upstream."""


RootsSource = Callable[[], Awaitable[list[Path] | None]]
"""Asks the client for its roots, only when a turn needs them."""


class ActionHandler(Protocol):
    """Decides what answers a turn that ended in `requires_action` (function calls)."""

    async def __call__(self, owner: str, outcome: TurnOutcome) -> TurnInput | None:
        """The input of the next interaction of this turn (function results), or None to stop here."""
        ...


def merged_settings(stored: dict[str, Any], request: AskRequest) -> dict[str, Any]:
    """Stored interaction-scoped settings with this call's overrides applied (and kept)."""
    settings = dict(stored)
    if request.system_instruction is not None:
        settings["system_instruction"] = request.system_instruction or None
    if request.tools is not None:
        entries = list(dict.fromkeys(request.tools))
        unknown = [t for t in entries if t not in BUILTIN_TOOLS and not is_downstream_entry(t)]
        if unknown:
            raise ServiceError(
                f"Unknown tools {', '.join(map(repr, unknown))}: use google_search, code_execution, "
                "url_context, workspace, mcp:NAME or mcp:NAME/TOOL (gemini://tools lists the servers)."
            )
        settings["tools"] = [{"type": t} for t in entries if t in BUILTIN_TOOLS] or None
        settings[BRIDGED] = [t for t in entries if t not in BUILTIN_TOOLS] or None
    if request.thinking_level is not None:
        settings["generation_config"] = {
            **(settings.get("generation_config") or {}),
            "thinking_level": request.thinking_level,
        }
    return {k: v for k, v in settings.items() if v is not None}


def model_body(
    model: str,
    turn_input: TurnInput,
    previous: str | None,
    settings: dict[str, Any],
    response_schema: dict[str, Any] | None,
    response_format: dict[str, Any] | list[dict[str, Any]] | None = None,
    extra_tools: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The create body of one model interaction: input, chain link, the re-sent settings, and the
    tools of this call only (File Search; the functions and Gemini-side MCP servers that a
    conversation's bridged entries stand for)."""
    generation_config = {**settings.get("generation_config", {}), "thinking_summaries": "auto"}
    body: dict[str, Any] = {
        "model": model,
        "input": turn_input,
        **{k: v for k, v in settings.items() if k not in ("generation_config", BRIDGED)},
        "generation_config": generation_config,
    }
    if previous is not None:
        body["previous_interaction_id"] = previous
    if response_schema is not None:
        body["response_format"] = {"type": "text", "mime_type": "application/json", "schema": response_schema}
    if response_format is not None:
        body["response_format"] = response_format
    if extra_tools:
        body["tools"] = [*body.get("tools", []), *extra_tools]
    return body


def file_search(stores: list[str], settings: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The `file_search` tool for these stores; refused next to the web tools, as the API refuses it."""
    if not stores:
        return None
    web = {t.get("type") for t in settings.get("tools") or []} & {"google_search", "url_context"}
    if web:
        raise ServiceError(
            f"file_search_stores cannot be combined with {' or '.join(sorted(web))} (the API refuses it): "
            "pass tools=[] with them, or use another conversation."
        )
    return [{"type": "file_search", "file_search_store_names": stores}]


def _summed(a: UsageCounts, b: UsageCounts) -> UsageCounts:
    return {key: a.get(key, 0) + b.get(key, 0) for key in a.keys() | b.keys()}


@dataclass
class _ModelTurn:
    """A model answer as the chain runs it: streamed until the deadline, then adopted as a job."""

    owner: str
    conversation_id: str
    model: str
    settings: dict[str, Any]
    response_schema: dict[str, Any] | None
    progress: Progress
    deadline: float
    """time.monotonic() by which the caller wants an answer or a handle."""
    client: InteractionsClient
    jobs: JobService
    heartbeats: Heartbeats
    actions: ActionHandler | None
    what: str = "this question"
    response_format: dict[str, Any] | list[dict[str, Any]] | None = None
    ledger: UsageLedger | None = None
    extra_tools: list[dict[str, Any]] | None = None
    paused_at: str | None = None
    """The interaction whose calls waited for the user: the turn goes on from there, sending nothing new."""
    new: NewConversation | None = None
    """The conversation, if this turn starts it: stored before a job that refers to it is."""
    loop: LoopTurn | None = None
    """The tool loop among `actions`, if any: the job that takes the turn over goes on counting its
    rounds, so --max-tool-rounds bounds the whole turn, not each part of it."""

    async def create(
        self, current: ConversationRecord, previous: str | None, turn_input: TurnInput
    ) -> Created[TurnOutcome]:
        if self.paused_at is None:
            outcome = await self._hop(previous, turn_input)
        elif previous != self.paused_at:
            raise ServiceError(
                "This conversation moved on while Gemini's calls waited for the user's answer, so they "
                "were not run. Ask again."
            )
        else:
            outcome = stored_outcome(await self.client.get(self.paused_at))
        usage = outcome.usage
        handed_on: HandedOn | None = None
        while outcome.status == "requires_action" and self.actions is not None:
            try:
                follow = await self.actions(self.owner, outcome)
            except HandedOn as handed:  # its calls go on: the job collects them (AskService.carry_on)
                handed_on = handed
                outcome = replace(outcome, status="in_progress", blocks=[])
                break
            if follow is None:
                break
            outcome = await self._hop(outcome.interaction_id, follow)
            usage = _summed(usage, outcome.usage)
        running = outcome.status == "in_progress"
        if running:
            try:
                if self.new is not None:
                    await self.new.store_now()
                await self.jobs.adopt_running(
                    self.owner,
                    "model",
                    outcome.interaction_id,
                    self.conversation_id,
                    self.model,
                    calls_started=handed_on is not None,
                    tool_rounds=self.loop.rounds if self.loop is not None else 0,
                )
            except BaseException:
                if handed_on is not None:
                    await handed_on.cancel()
                raise
        return Created(
            interaction_id=outcome.interaction_id,
            result=outcome,
            answer="" if running else outcome.text,
            running=running,
            usage=usage,
            billed=self.ledger.entry(self.model, usage) if self.ledger is not None else None,
            updates={"model": self.model, "settings": self.settings},
        )

    async def _hop(self, previous: str | None, turn_input: TurnInput) -> TurnOutcome:
        body = model_body(
            self.model,
            turn_input,
            previous,
            self.settings,
            self.response_schema,
            self.response_format,
            self.extra_tools,
        )
        remaining = max(MIN_TURN_SECONDS, self.deadline - time.monotonic())
        return await run_streamed_turn(
            self.client, body, self.progress, label=self.model, deadline=remaining, heartbeats=self.heartbeats
        )

    async def discard(self, created: Created[TurnOutcome]) -> None:
        if created.running:
            await self.jobs.cancel(self.owner, created.interaction_id)


@dataclass
class _TurnCall:
    """What one `ask` call brings to its turn (see `AskService.ask`)."""

    request: AskRequest
    progress: Progress
    deadline: float
    wait_seconds: float
    roots: list[Path] | None
    confirm: Confirm
    workspace_roots: RootsSource | None
    after: PausedLoop | None
    notes: list[str]
    """The caller's notes so far; the turn adds its own."""


class AskService:
    """Runs `ask_gemini` turns: the model and settings to use, the turn itself, the result."""

    def __init__(
        self,
        *,
        directory: ConversationDirectory,
        chain: ConversationChain,
        client: InteractionsClient,
        jobs: JobService,
        catalog: Catalog,
        inputs: TurnInputs,
        heartbeats: Heartbeats,
        default_model: str | None = None,
        actions: ActionHandler | None = None,
        media: MediaLibrary | None = None,
        ledger: UsageLedger | None = None,
        tool_loop: ToolLoop | None = None,
    ) -> None:
        self._tool_loop = tool_loop
        self._media = media
        self._ledger = ledger
        self._directory = directory
        self._chain = chain
        self._client = client
        self._jobs = jobs
        self._catalog = catalog
        self._inputs = inputs
        self._heartbeats = heartbeats
        self._default_model = default_model
        self._actions = actions

    async def ask(
        self,
        owner: str,
        request: AskRequest,
        progress: Progress,
        *,
        wait_seconds: float,
        roots: list[Path] | None = None,
        confirm: Confirm = cannot_ask,
        workspace_roots: RootsSource | None = None,
        after: PausedLoop | None = None,
    ) -> TurnResult:
        """Run one turn; the answer (or, past `wait_seconds`, a handle to poll) and the conversation.

        A conversation with bridged tools (`mcp:`, `workspace`) has its function calls answered within
        the turn; `confirm` puts a writing tool's call to the user, `workspace_roots` gives the folders
        the workspace functions may read (the client's, when it shares them). A turn whose calls wait
        for answers that come with the client's retry stops (`paused` in the result); the retry passes
        that as `after`, and the same turn goes on with the conversation's settings as they were.
        """
        deadline = time.monotonic() + wait_seconds
        notes: list[str] = []
        call = _TurnCall(
            request, progress, deadline, wait_seconds, roots, confirm, workspace_roots, after, notes
        )
        # A conversation named by its id is held first and read once, under the hold: the turn is
        # serialised with others on it from here on, its settings included. One named by name (or a
        # new one) is opened first, and the chain holds it and reads it again for the turn itself.
        key = (after.conversation if after is not None else request.conversation or "").strip()
        if key.startswith(ID_PREFIX):
            async with self._chain.holding(owner, key, wait_seconds) as conversation:
                advanced, model, loop = await self._take_turn(owner, call, conversation, held=True)
        elif after is not None:
            conversation = await self._directory.find(owner, after.conversation)
            advanced, model, loop = await self._take_turn(owner, call, conversation)
        elif request.conversation is None:
            new = self._directory.new(owner)  # stored with the turn (`NewConversation`)
            advanced, model, loop = await self._take_turn(owner, call, new.record, new=new)
        else:
            conversation = await self._directory.open(owner, request.conversation)
            advanced, model, loop = await self._take_turn(owner, call, conversation)
        outcome = advanced.created.result
        data: Any = None
        notes += advanced.notes
        if request.response_schema is not None and outcome.status == "completed":
            try:
                data = json.loads(outcome.text)
            except ValueError:
                notes.append("The answer was meant to be JSON for response_schema but did not parse.")
        parts = await self._saved_parts(owner, outcome, request.prompt, roots)
        record = advanced.record
        return TurnResult(
            text=outcome.text,
            conversation=record.id,
            name=record.name,
            interaction_id=outcome.interaction_id,
            model=model,
            status=outcome.status,
            turn=record.turns,
            usage=advanced.created.usage,
            conversation_usage=record.usage.as_dict(),
            notes=notes + outcome.notes + (loop.notes if loop is not None else []),
            data=data,
            calls=loop.calls if loop is not None else [],
            paused=self._paused(record.id, outcome, loop),
            media=[p.media for p in parts if p.media is not None],
            sources=citations_of([{"content": outcome.blocks}]),
            parts=parts,
        )

    async def _take_turn(
        self,
        owner: str,
        call: _TurnCall,
        conversation: ConversationRecord,
        *,
        held: bool = False,
        new: NewConversation | None = None,
    ) -> tuple[Advanced[TurnOutcome], str, LoopTurn | None]:
        """The turn on `conversation` (held for it already, or to be stored with it when `new`): what it
        advanced to, the model that answered, and the tool loop that ran its calls, if any."""
        request, after, progress, notes = call.request, call.after, call.progress, call.notes
        if after is None:
            settings = merged_settings(conversation.settings, request)
            turn_input = await self._inputs.build(
                request.prompt, request.files, call.roots, owner=owner, progress=progress, notes=notes
            )
        else:
            settings, turn_input = conversation.settings, []
        resolution = self._catalog.resolve_model(request.model or conversation.model or self._default_model)
        if resolution.note:
            notes.append(resolution.note)
        search = file_search(request.file_search_stores, settings)
        loop = await self._loop_turn(
            settings, call.confirm, progress, call.workspace_roots, after, call.deadline
        )
        if loop is not None:
            notes += loop.toolbox.notes
        turn = _ModelTurn(
            owner=owner,
            conversation_id=conversation.id,
            model=resolution.id,
            settings=settings,
            response_schema=request.response_schema,
            progress=progress,
            deadline=call.deadline,
            client=self._client,
            jobs=self._jobs,
            heartbeats=self._heartbeats,
            actions=loop or self._actions,
            response_format=request.response_format,
            ledger=self._ledger,
            extra_tools=[*(search or []), *(loop.toolbox.declarations() if loop is not None else [])],
            paused_at=after.interaction_id if after is not None else None,
            new=new,
            loop=loop,
        )
        advanced = await self._chain.advance(
            owner,
            conversation,
            TurnRequest(
                prompt=request.prompt, files=request.files, turn_input=turn_input, goes_on=after is not None
            ),
            turn,
            wait_seconds=call.wait_seconds,
            progress=progress,
            held=held,
            new=new,
        )
        return advanced, resolution.id, loop

    @staticmethod
    def _paused(conversation: str, outcome: TurnOutcome, loop: LoopTurn | None) -> PausedLoop | None:
        if loop is None or not loop.paused:
            return None
        return PausedLoop(
            conversation=conversation,
            interaction_id=outcome.interaction_id,
            rounds=loop.rounds,
            calls=loop.calls,
        )

    async def carry_on(
        self, job: JobRecord, interaction: Interaction, rerun: bool, progress: Progress
    ) -> str | None:
        """Answer the calls of a background turn's interaction (its caller got the handle and left):
        the next interaction of the loop, created chained to it, or None when this job has no loop.

        Nobody can be asked here, so a writing tool of an untrusted server is refused in its result.
        A round its caller handed on at the deadline is collected, not run again. Calls a watcher
        before this one began (`rerun`, after a restart) are run again only when they cannot change
        anything (read-only or trusted); otherwise the job ends, naming them.
        """
        if self._tool_loop is None or job.kind not in ("model", "agent") or job.conversation_id is None:
            return None
        conversation = await self._directory.find(job.owner, job.conversation_id)
        entries = conversation.settings.get(BRIDGED) or []
        calls = function_calls(interaction)
        if not entries or not calls:
            return None
        if job.tool_rounds >= self._tool_loop.max_rounds:
            await progress(round_limit_note(self._tool_loop.max_rounds))
            return None
        toolbox = await self._tool_loop.toolbox(entries)
        try:
            answered = await self._answered(job, calls, toolbox, rerun, progress)
        except RoundCancelled:  # the job ended meanwhile (cancel_interaction)
            raise ServiceError("Gemini's tool calls were stopped before they finished.") from None
        for call in answered.calls:
            await progress(f"{call.name}: {'ok' if call.ok else 'error'} ({call.seconds:.2f} s)")
        results = answered.steps
        if job.kind == "agent":  # the same agent, in the same sandbox
            body: dict[str, Any] = {
                "agent": interaction.agent or job.agent,
                "input": results,
                "previous_interaction_id": interaction.id,
                "tools": toolbox.declarations(),
            }
            environment = interaction.environment_id or conversation.environment_id
            if environment:
                body["environment"] = environment
        else:
            model = job.model or conversation.model or self._default_model or ""
            body = model_body(
                model,
                results,
                interaction.id,
                conversation.settings,
                None,
                extra_tools=toolbox.declarations(),
            )
        try:
            created = await self._client.create({**body, "background": True})
        except GeminiError as exc:
            raise explain_upstream(exc, what="sending the tools' results") from None
        return created.id

    async def _answered(
        self,
        job: JobRecord,
        calls: list[dict[str, Any]],
        toolbox: Toolbox,
        rerun: bool,
        progress: Progress,
    ) -> Answered:
        """The results of a job's round: collected from the round its caller handed on at the deadline
        (still running in this process, or done), else run here (see `carry_on` for `rerun`). Keyed by
        the job, so its end (`cancel_interaction`) cancels the round."""
        assert self._tool_loop is not None  # (carry_on's caller checked)
        handed = await self._tool_loop.rounds.collect(job.interaction_id, progress)
        if handed is not None:
            return handed
        if rerun:
            unsafe = [
                str(c.get("name"))
                for c in calls
                if (spec := toolbox.functions.get(str(c.get("name")))) is None or spec.needs_confirmation
            ]
            if unsafe:
                raise ServiceError(
                    f"The server stopped while Gemini's call of {', '.join(unsafe)} was under way; it was "
                    "not run again because it may change things. Ask again to continue."
                )
        turn = self._tool_loop.turn(toolbox, confirm=unattended, progress=progress)
        steps = await turn.answer(calls, key=job.interaction_id)
        return Answered(steps, turn.calls)

    async def _loop_turn(
        self,
        settings: dict[str, Any],
        confirm: Confirm,
        progress: Progress,
        workspace_roots: RootsSource | None,
        after: PausedLoop | None,
        deadline: float,
    ) -> LoopTurn | None:
        """The answerer of this turn's function calls, when the conversation enabled bridged tools; a
        round still running at `deadline` goes on for the job that takes the turn over."""
        entries = settings.get(BRIDGED) or []
        if not entries:
            return None
        if self._tool_loop is None:
            raise ServiceError("This server was started without support for tools Gemini calls through it.")
        toolbox = await self._tool_loop.toolbox(entries)
        roots = await workspace_roots() if workspace_roots is not None and "workspace" in entries else None
        return self._tool_loop.turn(
            toolbox, roots, confirm=confirm, progress=progress, after=after, deadline=deadline
        )

    async def _saved_parts(
        self, owner: str, outcome: TurnOutcome, label: str, roots: list[Path] | None
    ) -> list[AnswerPart]:
        """The answer's media saved as files, with the text around them in order (none: no parts)."""
        if self._media is None or all(b.get("type") == "text" for b in outcome.blocks):
            return []
        return await self._media.save_answer(
            owner, outcome.blocks, source=outcome.interaction_id, label=label, roots=roots
        )
