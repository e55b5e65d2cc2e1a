"""Background jobs: upstream interactions that outlive the tool call that started them.

Each running job has exactly one watcher among all the server processes sharing the store: a lease in
the store decides which. The watcher follows the upstream event stream (the client resumes a dropped
stream from its last event id; polling is the fallback), writes progress notes and the final output to
the store, and announces the end on the store's channel. Because everything a watcher needs is in the
store, nothing is lost when a process dies: a process that found a job watched elsewhere tries it again
the moment that watcher's lease runs out unrenewed, and every process sweeps the store every few
seconds for unfinished jobs nobody watches and takes them over (also at start-up, after a restart).
A resumed watcher replays the stream from the start rather than from a stored event id: storing one
would cost a write per event on every job to save one replay per takeover, and the final output is
read from the full interaction anyway.

A process that drains (SIGTERM) hands its jobs back at once: its watchers stop following and
release their leases (one that is recording a job's end or running its function calls finishes that
first), and it takes no new job, so another process's next sweep takes them over without waiting for
the leases to run out.

A watcher that stalls past its lease (or loses the store for that long) stops as soon as it notices,
and what it may still write meanwhile is fenced by the store: progress notes are stored by position
(each once) and a job finishes once, so its end is recorded, counted and announced once.

Every process hears every job end on the store's channel (Redis reaches every replica; memory and
SQLite stay in the process, and a sweep notices the ends of jobs another process watched), so a poll
waiting in any process returns at once and each process tells its own subscribers. The end is
recorded once, by the process that finished the job (`JobFinished`, e.g. the conversation records its
usage); listeners are callbacks registered at wiring time, so this service knows nothing of the
services above it.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskGroup

from gemini_interactions_mcp.gemini import (
    GeminiError,
    Interaction,
    InteractionAccumulator,
    InteractionsClient,
    NotFoundError,
)
from gemini_interactions_mcp.gemini.models import TERMINAL_STATUSES
from gemini_interactions_mcp.services.caller_keys import runs_on_own_key
from gemini_interactions_mcp.services.errors import ServiceError, UnknownHandleError, explain_upstream
from gemini_interactions_mcp.services.heartbeats import HEARTBEAT_SECONDS, Progress
from gemini_interactions_mcp.services.leases import JOB_WATCHER_PREFIX, JOB_WATCHER_TTL_SECONDS, leased
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.services.metering import usage_totals
from gemini_interactions_mcp.services.outputs import answer_blocks
from gemini_interactions_mcp.services.reports import headline, render_report
from gemini_interactions_mcp.services.results import Citation, PollResult
from gemini_interactions_mcp.services.turns import failure_message
from gemini_interactions_mcp.services.uris import resource_uri
from gemini_interactions_mcp.state import (
    JobKind,
    JobRecord,
    Lease,
    LeaseBusyError,
    Store,
    StoreError,
)
from gemini_interactions_mcp.tool_names import ToolName

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobFinished:
    """A job reached its end; `interaction` is the final upstream state (None if it was lost upstream).

    Heard once per job, in the process that recorded the end."""

    job: JobRecord
    interaction: Interaction | None


@dataclass(frozen=True)
class JobCounts:
    """What an operator wants to know of this process's share of the jobs (read at every scrape)."""

    watched: int
    """Jobs this process follows (or runs) right now."""
    unfinished: int
    """Unfinished jobs in the store, all processes together, as this process's last sweep found them."""
    takeovers: int
    """Jobs this process took over from a watcher that was gone (its process died or drained, or this
    process before a restart), since it started."""


NO_JOBS = JobCounts(watched=0, unfinished=0, takeovers=0)
JobListener = Callable[[JobFinished], Awaitable[None]]
CarryOn = Callable[[JobRecord, Interaction, bool, Progress], Awaitable[str | None]]
"""Answers the function calls of a job's interaction that ended in `requires_action` (`rerun`: a
watcher before this one already began them): the id of the next interaction to follow, or None to end
the job there. A ServiceError ends the job failed with its message."""
EndListener = Callable[[str], Awaitable[None]]
"""Hears the interaction id of every job end this process learns of, its own or another process's."""
Note = Callable[[str], Awaitable[None]]
OutputHook = Callable[[JobRecord, Interaction, str], Awaitable[str]]
"""Amends a finishing job's output before it is stored (e.g. with the sandbox files it downloaded)."""
LocalWork = Callable[[Note], Awaitable[tuple[str, str]]]
"""Work this server does itself, reporting notes as it goes; returns (final status, output markdown)."""
LOCAL_KINDS = frozenset({"files"})
LOCAL_PREFIX = "local_"

TERMINAL = TERMINAL_STATUSES | {"requires_action"}
"""Statuses that end a job: the terminal ones, and `requires_action`, which never moves on its own."""
POLL_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)
RELAY_SECONDS = 1.0
"""How often a poll re-reads a job another process watches, for its progress notes (the job's end
comes at once on the store's channel)."""
SWEEP_SECONDS = 2.0
"""How often each process looks for unfinished jobs nobody watches and takes them over (after a
restart, a drain, or a store outage; a job it saw watched elsewhere it tries again the moment that
watcher's lease runs out)."""
LEASE_END_MARGIN_SECONDS = 0.01
"""The least a process waits before trying a busy watcher lease again (never a tight loop)."""
CANCELLED_IN_CALLS = "Cancelled while Gemini waited for its function calls (any still running were stopped)."
"""The output of a job cancelled in a round of calls this server runs (upstream has nothing to cancel)."""
HEARD_KEPT = 1024
"""How many job ends heard on the channel a process remembers, so a sweep does not announce them again."""


def unknown_job(interaction_id: str) -> UnknownHandleError:
    return UnknownHandleError(
        f"No background interaction {interaction_id!r} for you. Use the interaction_id returned by "
        f"{ToolName.START_RESEARCH}, {ToolName.RUN_AGENT} or {ToolName.ASK}."
    )


class JobService:
    """Starts, watches, polls and cancels background interactions for their owners."""

    def __init__(
        self,
        *,
        store: Store,
        client: InteractionsClient,
        task_group: TaskGroup,
        media: MediaLibrary | None = None,
        watcher_ttl: float = JOB_WATCHER_TTL_SECONDS,
        sweep_seconds: float = SWEEP_SECONDS,
        relay_seconds: float = RELAY_SECONDS,
    ) -> None:
        self._media = media
        self._store = store
        self._client = client
        self._tg = task_group
        self._watcher_ttl = watcher_ttl
        self._sweep_seconds = sweep_seconds
        self._relay_seconds = relay_seconds
        self._listeners: list[JobListener] = []
        self._carry_on: CarryOn | None = None
        self._end_listeners: list[EndListener] = []
        self._watching: set[str] = set()
        """Jobs this process watches or runs (it holds their lease, or is trying to take it)."""
        self._elsewhere: dict[str, str] = {}
        """Unfinished jobs another process watches (interaction id -> owner), as the last sweep saw."""
        self._heard: dict[str, None] = {}
        """The latest job ends heard on the store's channel, oldest first (at most HEARD_KEPT)."""
        self._draining = False
        self._following: dict[str, anyio.CancelScope] = {}
        """The watchers a drain may stop now (those not recording an end or running calls)."""
        self._awaiting: set[str] = set()
        """Jobs watched elsewhere that this process tries again when their watcher's lease runs out."""
        self._unfinished = 0
        self._takeovers = 0
        self._local: dict[str, anyio.CancelScope] = {}
        self._output_hooks: list[OutputHook] = []
        self._changed: dict[str, anyio.Event] = {}

    def before_finish(self, hook: OutputHook) -> None:
        """Let `hook` amend every upstream job's output before it is stored: whatever it adds is in the
        output from the moment the job reads as finished (a listener's later write could be missed)."""
        self._output_hooks.append(hook)

    def on_requires_action(self, carry_on: CarryOn) -> None:
        """Let a function-calling loop carry a job on past `requires_action` (the loop belongs to the
        job, not to the call that started it)."""
        self._carry_on = carry_on

    def on_finished(self, listener: JobListener) -> None:
        """Call `listener` for every job that finishes from now on, after the ones registered before.
        It hears each end once, in the process that recorded it."""
        self._listeners.append(listener)

    def on_end_heard(self, listener: EndListener) -> None:
        """Call `listener` with every job end this process hears of, whichever process recorded it
        (each process tells its own subscribers)."""
        self._end_listeners.append(listener)

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
        self,
        owner: str,
        kind: JobKind,
        interaction_id: str,
        conversation_id: str | None,
        model: str,
        *,
        calls_started: bool = False,
        tool_rounds: int = 0,
    ) -> JobRecord:
        """Take over an interaction a tool call started but stopped waiting for (its soft deadline);
        `calls_started`: the caller was running its function calls (the round goes on in this process,
        and a watcher elsewhere or after a restart treats them as begun); `tool_rounds`: the rounds of
        calls the caller already answered in this turn, which count towards its limit."""
        now = time.time()
        job = JobRecord(
            interaction_id=interaction_id,
            owner=owner,
            kind=kind,
            conversation_id=conversation_id,
            model=model,
            label=model,
            calls_started=interaction_id if calls_started else None,
            tool_rounds=tool_rounds,
            created=now,
            updated=now,
        )
        await self._store.create_job(job)
        self.watch(job)
        return job

    def counts(self) -> JobCounts:
        return JobCounts(len(self._watching), self._unfinished, self._takeovers)

    def drain(self) -> None:
        """The process is stopping: every wait returns what it has now (polls say "poll again"), and
        the jobs it watches go back to the store for another process to take (see the module doc)."""
        self._draining = True
        for event in self._changed.values():
            event.set()
        for following in self._following.values():
            following.cancel()

    def watch(self, job: JobRecord, *, takeover: bool = False) -> None:
        """Become the job's watcher if no process is (its lease is free); nothing if this one is, or
        if this process is draining. `takeover`: the job was started elsewhere or before a restart."""
        if job.interaction_id in self._watching or self._draining:
            return
        self._watching.add(job.interaction_id)
        self._tg.start_soon(self._watch, job, takeover)

    async def run_local(self, owner: str, kind: JobKind, label: str, work: LocalWork) -> JobRecord:
        """A job this server does itself: polled and cancelled like an upstream one, with `work`'s notes
        as its progress. It cannot outlive its process: it holds its lease while it runs, and a process
        that finds it unfinished with the lease run out (its process died) fails it."""
        now = time.time()
        job = JobRecord(
            interaction_id=LOCAL_PREFIX + secrets.token_urlsafe(16),
            owner=owner,
            kind=kind,
            label=label,
            created=now,
            updated=now,
        )
        self._watching.add(job.interaction_id)
        scope = self._local[job.interaction_id] = anyio.CancelScope()
        try:
            await self._tg.start(self._run_local, job, work, scope)
        except BaseException:
            self._watching.discard(job.interaction_id)
            self._local.pop(job.interaction_id, None)
            raise
        return job

    async def _run_local(
        self,
        job: JobRecord,
        work: LocalWork,
        scope: anyio.CancelScope,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        async def note(text: str) -> None:
            await self._store.append_progress(job.owner, job.interaction_id, [text])
            self._signal(job.interaction_id)

        key = JOB_WATCHER_PREFIX + job.interaction_id
        status, output = "cancelled", "Cancelled."
        # The lease comes first: no sweep may see the job recorded yet unleased (and fail it).
        async with leased(self._store, key, wait=0, ttl=self._watcher_ttl, stop_when_lost=True) as lease:
            await self._store.create_job(job)
            task_status.started()
            try:
                with scope:
                    status, output = await work(note)
            except Exception:  # the job says what happened; the server goes on
                log.exception("local job %s failed", job.interaction_id)
                status, output = "failed", "The job stopped on an unexpected error."
        if lease.lost.is_set():
            log.warning("local job %s stopped: its lease was lost", job.interaction_id)
            status, output = "failed", "The job stopped: the server lost the state store; run it again."
        await self._end_local(job, status, output)

    async def _end_local(self, job: JobRecord, status: str, output: str) -> None:
        self._local.pop(job.interaction_id, None)
        error = output if status == "failed" else None
        try:
            finished = await self._store.finish_job(
                job.owner, job.interaction_id, status=status, output=output, error=error
            )
        finally:
            self._watching.discard(job.interaction_id)
        await self._finished(finished, None)

    async def sweep(self) -> int:
        """Watch every unfinished job no process watches (after a restart, or a replica's death), and
        tell this process's waiters and subscribers of jobs watched elsewhere that ended unheard (on a
        store whose channel stays in one process, or while the channel was down). Returns how many
        jobs it tried to take (those another live process holds stay with it).

        A job whose watcher stopped on an unexpected error (its record says so) waits for its owner's
        next poll rather than failing again every sweep; one on its caller's own key waits for that
        caller, who brings the key.
        """
        jobs = await self._store.unfinished_jobs()
        self._unfinished = len(jobs)
        running = {job.interaction_id for job in jobs}
        for interaction_id in [i for i in self._elsewhere if i not in running]:
            del self._elsewhere[interaction_id]
            if interaction_id not in self._heard:
                await self._end_heard(interaction_id)
        orphans = [
            j
            for j in jobs
            if j.interaction_id not in self._watching and j.error is None and not runs_on_own_key(j.owner)
        ]
        if self._draining:
            return 0
        for job in orphans:
            self.watch(job, takeover=True)
        return len(orphans)

    async def keep_watch(self) -> None:
        """This process's share of watching every job, for as long as it runs: hear job ends on the
        store's channel, and sweep every SWEEP_SECONDS (a store error skips one sweep, never the rest)."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._hear_ends)
            while True:
                await anyio.sleep(self._sweep_seconds)
                try:
                    await self.sweep()
                except StoreError as exc:
                    log.warning("looking for unwatched jobs failed; trying again soon: %s", exc)

    async def _hear_ends(self) -> None:
        async for interaction_id in self._store.job_finished_events():
            self._heard[interaction_id] = None
            if len(self._heard) > HEARD_KEPT:
                del self._heard[next(iter(self._heard))]
            await self._end_heard(interaction_id)

    async def _end_heard(self, interaction_id: str) -> None:
        """Wake this process's waiters on the job, then tell the listeners (its subscribers)."""
        self._signal(interaction_id)
        for listener in self._end_listeners:
            try:
                await listener(interaction_id)
            except Exception:  # one listener's failure must not keep the others from hearing
                log.exception("an end listener failed on %s", interaction_id)

    # -- the watcher -------------------------------------------------------------------------------

    async def _watch(self, job: JobRecord, takeover: bool) -> None:
        """Hold the job's lease and follow it; if another process holds it, leave the job to it."""
        interaction_id, owner = job.interaction_id, job.owner
        key = JOB_WATCHER_PREFIX + interaction_id
        try:
            async with leased(self._store, key, wait=0, ttl=self._watcher_ttl, stop_when_lost=True) as lease:
                self._elsewhere.pop(interaction_id, None)
                if job.kind in LOCAL_KINDS:  # its lease ran out: the process that ran it is gone
                    await self._end_local(
                        job, "failed", "The server that ran this job restarted or stopped; run it again."
                    )
                    return
                current = await self._store.get_job(owner, interaction_id)
                if current is None or current.is_finished:  # another process recorded its end meanwhile
                    return
                if takeover:
                    self._takeovers += 1
                with self._until_drained(interaction_id):
                    await self._follow(current, lease)
            if lease.lost.is_set():
                log.warning("lost the watcher lease of %s; another process watches it now", interaction_id)
        except LeaseBusyError:
            self._elsewhere[interaction_id] = owner
            if not runs_on_own_key(owner):  # (its caller's poll takes such a job: it brings the key)
                self._take_when_free(job)
        except StoreError as exc:  # the store is away: a sweep takes the job up again once it is back
            log.warning("stopped watching %s: %s", interaction_id, exc)
        except Exception:  # a watcher must never take the server down; the job says what happened
            log.exception("watcher for %s failed", interaction_id)
            await self._note_lost_track(owner, interaction_id)
        finally:
            self._watching.discard(interaction_id)
            self._signal(interaction_id)

    def _take_when_free(self, job: JobRecord) -> None:
        """Try to watch a job another process watches again the moment that watcher's lease runs out
        (unless renewed: its process may have died), rather than at the first sweep after."""
        if job.interaction_id in self._awaiting or self._draining:
            return
        self._awaiting.add(job.interaction_id)
        self._tg.start_soon(self._take_at_lease_end, job)

    async def _take_at_lease_end(self, job: JobRecord) -> None:
        try:
            left = await self._store.lease_left(JOB_WATCHER_PREFIX + job.interaction_id)
            await anyio.sleep(max(left or 0.0, LEASE_END_MARGIN_SECONDS))
            current = await self._store.get_job(job.owner, job.interaction_id)
        except StoreError:  # a sweep tries again once the store is back
            return
        finally:
            self._awaiting.discard(job.interaction_id)
        if current is not None and not current.is_finished and current.error is None:
            self.watch(current, takeover=True)

    @contextmanager
    def _until_drained(self, interaction_id: str) -> Iterator[None]:
        """Run the block until it ends or this process drains (then its lease goes back at once)."""
        with anyio.CancelScope() as following:
            self._following[interaction_id] = following
            if self._draining:
                following.cancel()
            try:
                yield
            finally:
                self._following.pop(interaction_id, None)
        if following.cancelled_caught:
            log.info("handed %s back for another process to watch (draining)", interaction_id)

    @contextmanager
    def _not_handed_back(self, interaction_id: str) -> Iterator[None]:
        """A step a drain must not cut short (an end being recorded, function calls being run): the
        drain stops the watcher once it is done."""
        following = self._following.pop(interaction_id, None)
        try:
            yield
        finally:
            if following is not None:
                self._following[interaction_id] = following
                if self._draining:
                    following.cancel()

    async def _note_lost_track(self, owner: str, interaction_id: str) -> None:
        try:
            job = await self._store.get_job(owner, interaction_id)
            if job is not None and not job.is_finished:
                await self._store.update_job(
                    job.model_copy(update={"error": "The server lost track of this job; poll to retry."})
                )
        except Exception:  # nothing here may take the server down either
            log.exception("could not record that %s lost its watcher", interaction_id)

    async def _follow(self, job: JobRecord, lease: Lease) -> None:
        """Stream each interaction of the job until it ends (the first, then each one that answers its
        function calls), reading its full result when its stream ends; poll if streaming fails.

        Thought summaries become progress notes stored by position: a resumed watcher (after a restart)
        replays the stream of the interaction it resumes from the start, and stores its thoughts after
        the notes that came before it (`upstream_notes_from`), none twice and none skipped.
        """
        owner, interaction_id = job.owner, job.interaction_id
        upstream: str | None = job.upstream_id or interaction_id
        base = job.upstream_notes_from if job.upstream_id else 0
        seen = len(job.progress) - base
        while upstream is not None:
            if not await self._stream_notes(owner, interaction_id, upstream, base, seen):
                return
            upstream = await self._poll_until_done(owner, interaction_id, upstream, lease)
            if upstream is not None:  # its notes come after the ones the round of calls added
                current = await self._store.get_job(owner, interaction_id)
                base, seen = (current.upstream_notes_from if current is not None else 0), 0

    async def _stream_notes(
        self, owner: str, interaction_id: str, upstream: str, base: int, seen: int
    ) -> bool:
        """Follow `upstream`'s event stream to its end, storing its thought summaries as the job's notes
        `base + 1` on (`seen` of them stored already); False if Gemini no longer knows it (the job
        failed). A stream that fails leaves the rest to polling."""
        accumulator = InteractionAccumulator()
        try:
            async with self._client.stream_get(upstream) as stream:
                async for event in stream:
                    accumulator.feed(event)
                    thoughts = accumulator.thought_summaries
                    if len(thoughts) > seen:
                        await self._store.append_progress(
                            owner, interaction_id, thoughts[seen:], after=base + seen
                        )
                        seen = len(thoughts)
                        self._signal(interaction_id)
        except NotFoundError:
            await self._fail(owner, interaction_id, "Gemini no longer knows this interaction.")
            return False
        except GeminiError as exc:
            log.warning("stream of %s failed (%s); polling instead", upstream, type(exc).__name__)
        return True

    async def _poll_until_done(
        self, owner: str, interaction_id: str, upstream: str, lease: Lease
    ) -> str | None:
        """Read `upstream` until it ends, then record the job's end or run its function calls: the
        interaction that answers them, to follow next (None: the job is done)."""
        attempt = 0
        while True:
            try:
                interaction = await self._client.get(upstream)
            except NotFoundError:
                await self._fail(owner, interaction_id, "Gemini no longer knows this interaction.")
                return None
            except GeminiError as exc:
                log.warning("poll of %s failed: %s", interaction_id, type(exc).__name__)
            else:
                if str(interaction.status) in TERMINAL:
                    with self._not_handed_back(interaction_id):
                        return await self._end_or_carry_on(owner, interaction_id, interaction, lease)
            await anyio.sleep(POLL_BACKOFF[min(attempt, len(POLL_BACKOFF) - 1)])
            attempt += 1

    async def _end_or_carry_on(
        self, owner: str, interaction_id: str, interaction: Interaction, lease: Lease
    ) -> str | None:
        """Record the job's end, or run its function calls: the next interaction to follow, if any."""
        job = await self._store.get_job(owner, interaction_id)
        # A cancel may have finished it already; a watcher that stalled past its lease must leave the
        # end (and its media) to the one that holds it now.
        if job is None or job.is_finished or not await self._still_holds(lease):
            return None
        following = await self._carried_on(job, interaction)
        if following is None and not (await self._store.get_job(owner, interaction_id) or job).is_finished:
            await self._finish(job, interaction)
        return following

    async def _carried_on(self, job: JobRecord, interaction: Interaction) -> str | None:
        """The next interaction of the job's function-calling loop, if one answers its calls (recorded
        as the one to follow); None when the job ends with `interaction` (or failed in the loop)."""
        if self._carry_on is None or str(interaction.status) != "requires_action":
            return None
        rerun = job.calls_started == interaction.id
        await self._record(job, lambda _: {"calls_started": interaction.id})

        async def note(text: str) -> None:
            await self._store.append_progress(job.owner, job.interaction_id, [text])
            self._signal(job.interaction_id)

        try:
            following = await self._carry_on(job, interaction, rerun, note)
        except ServiceError as exc:
            await self._fail(job.owner, job.interaction_id, str(exc))
            return None
        if following is not None:  # the round's notes are in: `following`'s own come after them
            await self._record(
                job,
                lambda current: {
                    "upstream_id": following,
                    "upstream_notes_from": len(current.progress),
                    "tool_rounds": job.tool_rounds + 1,
                },
            )
        return following

    async def _record(self, job: JobRecord, fields: Callable[[JobRecord], dict[str, Any]]) -> None:
        """Write `fields` onto the job as stored now (they may depend on it: the notes so far)."""
        current = await self._store.get_job(job.owner, job.interaction_id)
        if current is not None:
            await self._store.update_job(current.model_copy(update=fields(current)))

    async def _still_holds(self, lease: Lease) -> bool:
        """Whether this watcher still holds its lease, renewed now (the fence before a job's end)."""
        if lease.lost.is_set():
            return False
        if await self._store.renew_lease(lease.key, lease.holder, self._watcher_ttl):
            return True
        lease.lost.set()
        return False

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

    async def _finished(self, job: JobRecord | None, interaction: Interaction | None) -> None:
        """Tell the listeners of the end this process recorded (None: it recorded none, as another
        process finished the job first), wake this process's waiters (who then see everything the
        listeners recorded), and announce the end to every process on the store's channel."""
        if job is None:
            return
        for listener in self._listeners:
            try:
                await listener(JobFinished(job, interaction))
            except Exception:  # one listener's failure must not keep the others or the waiters waiting
                log.exception("a listener failed on the end of %s", job.interaction_id)
        self._signal(job.interaction_id)
        try:
            await self._store.publish_job_finished(job.interaction_id)
        except StoreError as exc:  # this process's subscribers hear of it now, the others' at a sweep
            log.warning(
                "could not announce the end of %s to the other processes: %s", job.interaction_id, exc
            )
            await self._end_heard(job.interaction_id)

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
            self.watch(job, takeover=True)  # if its watcher is gone (or it waits for this caller's key)
        relayed = len(job.progress)
        quiet_since = anyio.current_time()
        with anyio.move_on_after(seconds):
            while True:
                event = self._changed.setdefault(interaction_id, anyio.Event())  # before the read
                job = await self.get(owner, interaction_id)
                now = anyio.current_time()
                if len(job.progress) > relayed:
                    quiet_since = now
                    if progress is not None:
                        for note in job.progress[relayed:]:
                            await progress(headline(note.text))
                elif now - quiet_since >= HEARTBEAT_SECONDS and not job.is_finished:
                    quiet_since = now
                    if progress is not None:
                        await progress(f"Still {job.status}… {int(time.time() - job.created)} s elapsed")
                relayed = len(job.progress)
                if job.is_finished or self._draining:
                    break
                # A job watched elsewhere is re-read for its notes; its end is heard on the channel.
                watched_here = interaction_id in self._watching
                if not watched_here and runs_on_own_key(owner):
                    # No sweep takes it over (the key is its caller's): this caller, here with the
                    # key, does as soon as its watcher's lease runs out.
                    self.watch(job, takeover=True)
                pause = HEARTBEAT_SECONDS if watched_here else self._relay_seconds
                with anyio.move_on_after(min(pause, HEARTBEAT_SECONDS - (now - quiet_since))):
                    await event.wait()
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
        if job.calls_started is not None and job.calls_started == (job.upstream_id or interaction_id):
            # Gemini waits for this server's function results (`requires_action`, which cannot be
            # cancelled upstream): the job ends here, and its end stops the round (RoundsInFlight).
            finished = await self._store.finish_job(
                owner, interaction_id, status="cancelled", output=CANCELLED_IN_CALLS
            )
            await self._finished(finished, None)
            return await self.get(owner, interaction_id)
        try:
            interaction = await self._client.cancel(job.upstream_id or interaction_id)
        except GeminiError as exc:
            raise explain_upstream(exc, what="cancelling it") from None
        if str(interaction.status) in TERMINAL:
            await self._finish(job, interaction)
        return await self.get(owner, interaction_id)
