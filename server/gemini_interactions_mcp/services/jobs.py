"""Background jobs: upstream interactions that outlive the tool call that started them.

Each running job has exactly one watcher in the server's task group. The watcher follows the upstream
event stream (the client resumes a dropped stream from its last event id; polling is the fallback),
writes progress notes and the final output to the store, and wakes whoever is waiting in a poll. Because
everything a watcher needs is in the store, the server resumes every unfinished job at start-up: a crash
or restart loses nothing. A resumed watcher replays the stream from the start rather than from a stored
event id: storing one would cost a write per event on every job to save one replay per restart, and the
final output is read from the full interaction anyway.

When a job finishes, its listeners hear of it (`JobFinished`): the conversation it belongs to records
its usage, and subscribers are told the resource changed. Listeners are callbacks registered at wiring
time, so this service knows nothing of the services above it.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from anyio.abc import TaskGroup
from pydantic import BaseModel, Field

from gemini_interactions_mcp.gemini import (
    GeminiError,
    Interaction,
    InteractionAccumulator,
    InteractionsClient,
    NotFoundError,
)
from gemini_interactions_mcp.gemini.models import TERMINAL_STATUSES
from gemini_interactions_mcp.services.errors import UnknownHandleError, explain_upstream
from gemini_interactions_mcp.services.heartbeats import HEARTBEAT_SECONDS, Progress
from gemini_interactions_mcp.services.leases import JOB_WATCHER_PREFIX, JOB_WATCHER_TTL_SECONDS, leased
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.services.metering import usage_totals
from gemini_interactions_mcp.services.outputs import answer_blocks
from gemini_interactions_mcp.services.reports import Citation, headline, render_report
from gemini_interactions_mcp.services.turns import failure_message
from gemini_interactions_mcp.state import JobKind, JobRecord, LeaseBusyError, Store, UsageCounts
from gemini_interactions_mcp.tool_names import ToolName

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobFinished:
    """A job reached its end; `interaction` is the final upstream state (None if it was lost upstream).

    `relayed` events come from a process that only noticed the end another process recorded: fit for
    telling its own subscribers, not for recording anything a second time.
    """

    job: JobRecord
    interaction: Interaction | None
    relayed: bool = False


JobListener = Callable[[JobFinished], Awaitable[None]]
Note = Callable[[str], Awaitable[None]]
OutputHook = Callable[[JobRecord, Interaction, str], Awaitable[str]]
"""Amends a finishing job's output before it is stored (e.g. with the sandbox files it downloaded)."""
LocalWork = Callable[[Note], Awaitable[tuple[str, str]]]
"""Work this server does itself, reporting notes as it goes; returns (final status, output markdown)."""
LOCAL_KINDS = frozenset({"files"})
LOCAL_PREFIX = "local_"

TERMINAL = TERMINAL_STATUSES | {"requires_action"}
"""Statuses that end a job: the terminal ones, and `requires_action`, which never moves on its own."""
RESOURCE_PREFIX = "gemini://interactions/"
RESOURCE_TEMPLATE = RESOURCE_PREFIX + "{interaction_id}"
POLL_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)
DEFAULT_PAGE_CHARS = 20_000
MAX_PAGE_CHARS = 100_000
MAX_WAIT_SECONDS = 50
RELAY_SECONDS = 1.0
"""How often a process that does not watch a job re-reads it for its own waiters."""
"""Longest wait of one poll: well under the 60 s after which the most impatient clients give up."""


def resource_uri(interaction_id: str) -> str:
    return f"{RESOURCE_PREFIX}{interaction_id}"


def unknown_job(interaction_id: str) -> UnknownHandleError:
    return UnknownHandleError(
        f"No background interaction {interaction_id!r} for you. Use the interaction_id returned by "
        f"{ToolName.START_RESEARCH}, {ToolName.RUN_AGENT} or {ToolName.ASK}."
    )


class PollResult(BaseModel):
    """What one poll returns: status, what is new since the caller's last poll, and a page of output."""

    interaction_id: str
    kind: str
    status: str
    done: bool
    elapsed_seconds: float
    progress: list[str] = Field(default_factory=list)
    output: str | None = None
    offset: int = 0
    next_offset: int | None = None
    total_chars: int = 0
    citations: list[Citation] = Field(default_factory=list)
    usage: UsageCounts = Field(default_factory=dict)
    conversation_usage: UsageCounts = Field(default_factory=dict)
    """The totals of the conversation the job belongs to, once the job is done (tokens and cost)."""
    environment_id: str | None = None
    conversation: str | None = None
    resource: str
    error: str | None = None


class JobService:
    """Starts, watches, polls and cancels background interactions for their owners."""

    def __init__(
        self,
        *,
        store: Store,
        client: InteractionsClient,
        task_group: TaskGroup,
        media: MediaLibrary | None = None,
    ) -> None:
        self._media = media
        self._store = store
        self._client = client
        self._tg = task_group
        self._listeners: list[JobListener] = []
        self._watching: set[str] = set()
        self._local: dict[str, anyio.CancelScope] = {}
        self._output_hooks: list[OutputHook] = []
        self._changed: dict[str, anyio.Event] = {}

    def before_finish(self, hook: OutputHook) -> None:
        """Let `hook` amend every upstream job's output before it is stored: whatever it adds is in the
        output from the moment the job reads as finished (a listener's later write could be missed)."""
        self._output_hooks.append(hook)

    def on_finished(self, listener: JobListener) -> None:
        """Call `listener` for every job that finishes from now on, after the ones registered before."""
        self._listeners.append(listener)

    # -- adopting and resuming -------------------------------------------------------------------

    async def adopt(
        self,
        owner: str,
        kind: JobKind,
        interaction: Interaction,
        *,
        conversation_id: str | None = None,
        label: str | None = None,
        agent: str | None = None,
    ) -> JobRecord:
        """Record an interaction just created upstream in the background as this owner's job; watch it."""
        now = time.time()
        job = JobRecord(
            interaction_id=interaction.id,
            owner=owner,
            kind=kind,
            conversation_id=conversation_id,
            model=interaction.model,
            agent=interaction.agent or agent,
            label=label or interaction.model or interaction.agent or agent or kind,
            status=str(interaction.status or "in_progress"),
            environment_id=getattr(interaction, "environment_id", None),
            created=now,
            updated=now,
        )
        await self._store.create_job(job)
        if job.status in TERMINAL:
            await self._finish(job, interaction)
        else:
            self.watch(job)
        return job

    async def adopt_running(
        self, owner: str, kind: JobKind, interaction_id: str, conversation_id: str | None, model: str
    ) -> JobRecord:
        """Take over an interaction a tool call started but stopped waiting for (its soft deadline)."""
        now = time.time()
        job = JobRecord(
            interaction_id=interaction_id,
            owner=owner,
            kind=kind,
            conversation_id=conversation_id,
            model=model,
            label=model,
            created=now,
            updated=now,
        )
        await self._store.create_job(job)
        self.watch(job)
        return job

    def watch(self, job: JobRecord) -> None:
        """Start the one watcher for this job, unless it already has one."""
        if job.interaction_id in self._watching:
            return
        self._watching.add(job.interaction_id)
        if job.kind in LOCAL_KINDS:  # its work died with an earlier process: say so
            self._tg.start_soon(
                self._end_local, job, "failed", "The server restarted during this job; run it again."
            )
            return
        self._tg.start_soon(self._watch, job.interaction_id, job.owner)

    async def run_local(self, owner: str, kind: JobKind, label: str, work: LocalWork) -> JobRecord:
        """A job this server does itself: polled and cancelled like an upstream one, with `work`'s notes
        as its progress. It cannot outlive the process: one found unfinished at start-up is failed."""
        now = time.time()
        job = JobRecord(
            interaction_id=LOCAL_PREFIX + secrets.token_urlsafe(16),
            owner=owner,
            kind=kind,
            label=label,
            created=now,
            updated=now,
        )
        await self._store.create_job(job)
        self._watching.add(job.interaction_id)
        scope = self._local[job.interaction_id] = anyio.CancelScope()
        self._tg.start_soon(self._run_local, job, work, scope)
        return job

    async def _run_local(self, job: JobRecord, work: LocalWork, scope: anyio.CancelScope) -> None:
        async def note(text: str) -> None:
            await self._store.append_progress(job.owner, job.interaction_id, [text])
            self._signal(job.interaction_id)

        status, output = "cancelled", "Cancelled."
        try:
            with scope:
                status, output = await work(note)
        except Exception:  # the job says what happened; the server goes on
            log.exception("local job %s failed", job.interaction_id)
            status, output = "failed", "The job stopped on an unexpected error."
        await self._end_local(job, status, output)

    async def _end_local(self, job: JobRecord, status: str, output: str) -> None:
        self._local.pop(job.interaction_id, None)
        error = output if status == "failed" else None
        finished = await self._store.finish_job(
            job.owner, job.interaction_id, status=status, output=output, error=error
        )
        self._watching.discard(job.interaction_id)
        await self._finished(finished, None)

    async def resume_unfinished(self) -> int:
        """Watch every job the store says is still running (after a restart); returns how many."""
        jobs = await self._store.unfinished_jobs()
        for job in jobs:
            self.watch(job)
        return len(jobs)

    # -- the watcher -------------------------------------------------------------------------------

    async def _watch(self, interaction_id: str, owner: str) -> None:
        try:
            await self._watch_or_relay(interaction_id, owner)
        except Exception:  # a watcher must never take the server down; the job says what happened
            log.exception("watcher for %s failed", interaction_id)
            job = await self._store.get_job(owner, interaction_id)
            if job is not None and not job.is_finished:
                await self._store.update_job(
                    job.model_copy(update={"error": "The server lost track of this job; poll to retry."})
                )
        finally:
            self._watching.discard(interaction_id)
            self._signal(interaction_id)

    async def _watch_or_relay(self, interaction_id: str, owner: str) -> None:
        """Be the job's one watcher if no other server process is (a lease in the store decides).

        Otherwise relay: re-read the job every `RELAY_SECONDS` for this process's waiters, and take
        over if the other watcher goes away (its lease expires when its process dies).
        """
        key = JOB_WATCHER_PREFIX + interaction_id
        while True:
            try:
                async with leased(self._store, key, wait=0, ttl=JOB_WATCHER_TTL_SECONDS):
                    await self._follow(interaction_id, owner)
                return
            except LeaseBusyError:
                pass
            job = await self._store.get_job(owner, interaction_id)
            if job is None or job.is_finished:
                await self._finished(job, None, relayed=True)
                return
            self._signal(interaction_id)
            await anyio.sleep(RELAY_SECONDS)

    async def _follow(self, interaction_id: str, owner: str) -> None:
        """Stream events until the interaction ends, then read the full result; poll if streaming fails.

        A resumed watcher (after a restart) replays the stream from the start: the notes already stored
        are skipped by count, so none is lost or repeated.
        """
        job = await self._store.get_job(owner, interaction_id)
        if job is None or job.is_finished:  # another process recorded its end meanwhile
            await self._finished(job, None, relayed=True)
            return
        accumulator = InteractionAccumulator()
        seen = len(job.progress)
        try:
            async with self._client.stream_get(interaction_id) as stream:
                async for event in stream:
                    accumulator.feed(event)
                    thoughts = accumulator.thought_summaries
                    if len(thoughts) > seen:
                        await self._store.append_progress(owner, interaction_id, thoughts[seen:])
                        seen = len(thoughts)
                        self._signal(interaction_id)
        except NotFoundError:
            await self._fail(owner, interaction_id, "Gemini no longer knows this interaction.")
            return
        except GeminiError as exc:
            log.warning("stream of %s failed (%s); polling instead", interaction_id, type(exc).__name__)
        await self._poll_until_done(owner, interaction_id)

    async def _poll_until_done(self, owner: str, interaction_id: str) -> None:
        attempt = 0
        while True:
            try:
                interaction = await self._client.get(interaction_id)
            except NotFoundError:
                await self._fail(owner, interaction_id, "Gemini no longer knows this interaction.")
                return
            except GeminiError as exc:
                log.warning("poll of %s failed: %s", interaction_id, type(exc).__name__)
            else:
                if str(interaction.status) in TERMINAL:
                    job = await self._store.get_job(owner, interaction_id)
                    if job is not None and not job.is_finished:  # a cancel may have finished it already
                        await self._finish(job, interaction)
                    return
            await anyio.sleep(POLL_BACKOFF[min(attempt, len(POLL_BACKOFF) - 1)])
            attempt += 1

    async def _finish(self, job: JobRecord, interaction: Interaction) -> None:
        """Store the final output (from the full resource, which has annotations) and announce it;
        its images and audio are saved as media first, and the report links them where they stood."""
        parts = None
        if self._media is not None:
            blocks = answer_blocks(interaction.steps)
            parts = await self._media.save_answer(
                job.owner, blocks, source=job.interaction_id, label=job.kind
            )
        report = render_report(interaction, parts)
        output = report.markdown
        for hook in self._output_hooks:
            try:
                output = await hook(job, interaction, output)
            except Exception:  # the job's own output must be stored whatever a hook does
                log.exception("an output hook failed on %s", job.interaction_id)
        error = failure_message(interaction) if str(interaction.status) in ("failed", "cancelled") else None
        finished = await self._store.finish_job(
            job.owner,
            job.interaction_id,
            status=str(interaction.status),
            output=output,
            citations=[c.model_dump() for c in report.citations],
            usage=usage_totals(interaction, model=job.model or job.agent),
            environment_id=getattr(interaction, "environment_id", None),
            error=error if str(interaction.status) == "failed" else None,
        )
        await self._finished(finished, interaction)

    async def _fail(self, owner: str, interaction_id: str, reason: str) -> None:
        failed = await self._store.finish_job(owner, interaction_id, status="failed", error=reason)
        await self._finished(failed, None)

    async def _finished(
        self, job: JobRecord | None, interaction: Interaction | None, *, relayed: bool = False
    ) -> None:
        """Tell the listeners, then wake the waiters (who then see everything the listeners recorded)."""
        if job is not None:
            for listener in self._listeners:
                try:
                    await listener(JobFinished(job, interaction, relayed))
                except Exception:  # one listener's failure must not keep the others or the waiters waiting
                    log.exception("a listener failed on the end of %s", job.interaction_id)
            self._signal(job.interaction_id)

    def _signal(self, interaction_id: str) -> None:
        event = self._changed.pop(interaction_id, None)
        if event is not None:
            event.set()

    # -- what tools call ---------------------------------------------------------------------------

    async def get(self, owner: str, interaction_id: str) -> JobRecord:
        job = await self._store.get_job(owner, interaction_id)
        if job is None:
            raise unknown_job(interaction_id)
        return job

    async def wait(
        self, owner: str, interaction_id: str, seconds: float, progress: Progress | None
    ) -> JobRecord:
        """Wait until the job ends or `seconds` pass, relaying new progress notes as they arrive."""
        job = await self.get(owner, interaction_id)
        if not job.is_finished and job.interaction_id not in self._watching:
            self.watch(job)
        relayed = len(job.progress)
        with anyio.move_on_after(seconds):
            while not job.is_finished:
                event = self._changed.setdefault(interaction_id, anyio.Event())
                with anyio.move_on_after(HEARTBEAT_SECONDS) as heartbeat:
                    await event.wait()
                job = await self.get(owner, interaction_id)
                if progress is not None:
                    for note in job.progress[relayed:]:
                        await progress(headline(note.text))
                    if heartbeat.cancelled_caught and len(job.progress) == relayed:
                        await progress(f"Still {job.status}… {int(time.time() - job.created)} s elapsed")
                relayed = len(job.progress)
        return job

    async def poll(
        self,
        owner: str,
        interaction_id: str,
        *,
        wait_seconds: float,
        offset: int,
        max_chars: int,
        progress: Progress | None,
    ) -> PollResult:
        job = await self.wait(owner, interaction_id, wait_seconds, progress)
        new_notes = [n.text for n in job.progress if n.seq > job.progress_seen]
        if job.progress:
            await self._store.mark_progress_seen(owner, interaction_id, job.progress[-1].seq)
        output = job.output or ""
        conversation = None
        if job.is_finished and job.conversation_id is not None:
            conversation = await self._store.get_conversation(owner, job.conversation_id)
        page = output[offset : offset + max_chars] if job.is_finished else ""
        end = offset + len(page)
        return PollResult(
            interaction_id=job.interaction_id,
            kind=job.kind,
            status=job.status,
            done=job.is_finished,
            elapsed_seconds=round((job.finished or time.time()) - job.created, 1),
            progress=new_notes,
            output=page or None,
            offset=offset,
            next_offset=end if end < len(output) else None,
            total_chars=len(output),
            citations=[Citation.model_validate(c) for c in job.citations],
            usage=job.usage,
            conversation_usage=conversation.usage.as_dict() if conversation is not None else {},
            environment_id=job.environment_id,
            conversation=job.conversation_id,
            resource=resource_uri(job.interaction_id),
            error=job.error,
        )

    async def report(self, owner: str, interaction_id: str) -> str:
        """The job's full output as markdown (what `gemini://interactions/{id}` serves)."""
        job = await self.get(owner, interaction_id)
        title = f"# {job.label or job.kind}"
        if not job.is_finished:
            return f"{title}\n\nStill {job.status}; {ToolName.POLL} shows progress."
        return job.output or f"{title}\n\nFinished with status {job.status}: {job.error or ''}"

    async def cancel(self, owner: str, interaction_id: str) -> JobRecord:
        job = await self.get(owner, interaction_id)
        if job.is_finished:
            return job
        if job.kind in LOCAL_KINDS:
            scope = self._local.get(interaction_id)
            if scope is not None:
                scope.cancel()
            await self.wait(owner, interaction_id, 5.0, None)
            return await self.get(owner, interaction_id)
        try:
            interaction = await self._client.cancel(interaction_id)
        except GeminiError as exc:
            raise explain_upstream(exc, what="cancelling it") from None
        if str(interaction.status) in TERMINAL:
            await self._finish(job, interaction)
        return await self.get(owner, interaction_id)


def page_hint(result: PollResult) -> str:
    if result.next_offset is None:
        return ""
    left = result.total_chars - result.next_offset
    pages = math.ceil(left / DEFAULT_PAGE_CHARS)
    return f"{left} more characters (~{pages} page(s)): poll again with offset={result.next_offset}."
