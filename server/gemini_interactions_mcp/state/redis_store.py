"""The store for several replicas: Redis (`--state redis://host:port/db`, or `rediss://` for TLS).

Every multi-key change is one Lua script (`redis_scripts.py`), so it is atomic and never half-written;
the turn compare-and-set is a script too. A read-modify-write of a job (progress, finish) is an
optimistic transaction (WATCH/MULTI, retried when another replica changed the job meanwhile). Leases
are `SET key holder PX ttl` guarded by their holder; rate limits are GCRA counters on Redis's clock; a
pub/sub channel tells every replica when a job finished. When Redis cannot be reached, each call fails
with StoreUnavailableError ("state store unavailable") and the next call after Redis returns succeeds:
the client reconnects on its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import anyio
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gemini_interactions_mcp.state import redis_scripts as lua
from gemini_interactions_mcp.state.base import DEFAULT_MAX_OUTPUT_CHARS, JobChange, Store, prunable
from gemini_interactions_mcp.state.counters import RateLimiter
from gemini_interactions_mcp.state.errors import (
    AgentTakenError,
    JobExistsError,
    NameTakenError,
    StoreUnavailableError,
)
from gemini_interactions_mcp.state.records import (
    ConversationRecord,
    DailyUsage,
    JobRecord,
    ResourceKind,
    ResourceRecord,
    Usage,
    UsageCounts,
    UsageEntry,
)

log = logging.getLogger(__name__)

PREFIX = "gim:"
FINISHED_CHANNEL = f"{PREFIX}jobs:finished"
CONNECT_TIMEOUT_SECONDS = 3.0
COMMAND_TIMEOUT_SECONDS = 10.0
RESUBSCRIBE_SECONDS = 0.5
PRUNE_BATCH = 500
"""Old resources deleted per script: a prune never holds Redis for more than a moment."""
_CONVERSATION_OUTSIDE_DATA = frozenset({"id", "owner", "name", "head", "updated"})


def _none(value: str) -> str | None:
    return value or None


class RedisStore(Store):
    """A store in one Redis database, shared by every replica that points at it."""

    def __init__(
        self, url: str, *, max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS, show_location: bool = True
    ) -> None:
        super().__init__(max_output_chars=max_output_chars, show_location=show_location)
        parts = urlsplit(url)
        self.where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
        # Typed Any on purpose: redis-py types every reply as bytes | str even with decode_responses=True.
        self._redis: Any = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=COMMAND_TIMEOUT_SECONDS,
        )
        self._scripts = {
            name: self._redis.register_script(getattr(lua, name))
            for name in dir(lua)
            if name.isupper() and isinstance(getattr(lua, name), str)
        }

    @asynccontextmanager
    async def _reachable(self) -> AsyncIterator[Any]:
        try:
            yield self._redis
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise self._told(
                StoreUnavailableError(
                    f"The state store is unavailable: Redis at {self.where} cannot be reached "
                    f"({type(exc).__name__}). Nothing of this call was saved; try again once Redis is back."
                )
            ) from None

    async def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        async with self._reachable():
            return await self._scripts[name](keys=keys, args=args)

    async def ping(self) -> None:
        """Raise StoreUnavailableError unless Redis answers (a readiness check)."""
        async with self._reachable() as r:
            await r.ping()

    # -- conversations -----------------------------------------------------------------------------

    @staticmethod
    def _data(record: ConversationRecord) -> str:
        return record.checked().stored_json(exclude=_CONVERSATION_OUTSIDE_DATA)

    @staticmethod
    def _conversation(owner: str, row: list[str]) -> ConversationRecord:
        conversation_id, name, head, updated, data = row
        return ConversationRecord.from_stored(
            data, id=conversation_id, owner=owner, name=_none(name), head=_none(head), updated=float(updated)
        )

    async def create_conversation(
        self, record: ConversationRecord, *, usage: UsageEntry | None = None
    ) -> None:
        outcome = await self._script(
            "CREATE_CONVERSATION",
            [
                f"{PREFIX}conv:{record.id}",
                f"{PREFIX}convnames:{record.owner}",
                f"{PREFIX}convs:{record.owner}",
            ],
            [
                record.id,
                record.owner,
                record.name or "",
                record.head or "",
                record.updated,
                self._data(record),
            ],
        )
        if outcome == "name" and record.name is not None:
            raise NameTakenError(record.owner, record.name)
        if outcome != "ok":
            raise ValueError(f"conversation id {record.id!r} already exists")
        if usage is not None:
            await self.add_usage(record.owner, usage.day, usage.model, usage.usage)

    async def get_conversation(self, owner: str, key: str) -> ConversationRecord | None:
        row = await self._script("GET_CONVERSATION", [], [PREFIX, owner, key])
        return self._conversation(owner, row) if row else None

    async def list_conversations(
        self, owner: str, *, limit: int = 50, offset: int = 0
    ) -> list[ConversationRecord]:
        async with self._reachable() as r:
            ids = await r.zrevrange(f"{PREFIX}convs:{owner}", offset, offset + limit - 1)
            pipe = r.pipeline(transaction=False)
            for conversation_id in ids:
                pipe.hmget(f"{PREFIX}conv:{conversation_id}", "name", "head", "updated", "data")
            rows = await pipe.execute()
        return [
            self._conversation(owner, [conversation_id, *row])
            for conversation_id, row in zip(ids, rows, strict=True)
            if row[3] is not None
        ]

    async def advance_conversation(
        self,
        owner: str,
        conversation_id: str,
        expected_head: str | None,
        updated: ConversationRecord,
        *,
        usage: UsageEntry | None = None,
    ) -> bool:
        moved = await self._script(
            "ADVANCE_CONVERSATION",
            [f"{PREFIX}conv:{conversation_id}", f"{PREFIX}convs:{owner}"],
            [
                owner,
                expected_head or "",
                updated.head or "",
                updated.updated,
                self._data(updated),
                conversation_id,
            ],
        )
        if moved and usage is not None:
            await self.add_usage(owner, usage.day, usage.model, usage.usage)
        return bool(moved)

    async def rename_conversation(
        self, owner: str, conversation_id: str, name: str | None
    ) -> ConversationRecord | None:
        outcome = await self._script(
            "RENAME_CONVERSATION",
            [f"{PREFIX}conv:{conversation_id}", f"{PREFIX}convnames:{owner}"],
            [owner, conversation_id, name or ""],
        )
        if outcome == "taken":
            raise NameTakenError(owner, name or "")
        if outcome != "ok":
            return None
        return await self.get_conversation(owner, conversation_id)

    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        deleted = await self._script(
            "DELETE_CONVERSATION",
            [f"{PREFIX}conv:{conversation_id}", f"{PREFIX}convnames:{owner}", f"{PREFIX}convs:{owner}"],
            [owner, conversation_id],
        )
        return bool(deleted)

    # -- jobs --------------------------------------------------------------------------------------

    @staticmethod
    def _job_args(job: JobRecord, *, insert: bool) -> list[Any]:
        return [
            PREFIX,
            job.interaction_id,
            job.owner,
            job.conversation_id or "",
            job.created,
            "" if job.finished is None else job.finished,
            job.model_dump_json(),
            "1" if insert else "0",
        ]

    async def create_job(self, job: JobRecord) -> None:
        outcome = await self._script("PUT_JOB", [], self._job_args(self._capped(job), insert=True))
        if outcome == "exists":
            raise JobExistsError(job.interaction_id)

    async def get_job(self, owner: str, interaction_id: str) -> JobRecord | None:
        async with self._reachable() as r:
            who, data = await r.hmget(f"{PREFIX}job:{interaction_id}", "owner", "data")
        return JobRecord.model_validate_json(data) if who == owner and data else None

    async def _jobs(self, ids: list[str]) -> list[tuple[str, str]]:
        """(owner, data) of each job id, in order; jobs deleted meanwhile are left out."""
        async with self._reachable() as r:
            pipe = r.pipeline(transaction=False)
            for interaction_id in ids:
                pipe.hmget(f"{PREFIX}job:{interaction_id}", "owner", "data")
            rows = await pipe.execute()
        return [(who, data) for who, data in rows if data]

    async def unfinished_jobs(
        self, *, owner: str | None = None, conversation_id: str | None = None
    ) -> list[JobRecord]:
        async with self._reachable() as r:
            if conversation_id is None:
                ids = await r.zrange(f"{PREFIX}running", 0, -1)
            else:
                ids = sorted(await r.smembers(f"{PREFIX}running:{conversation_id}"))
        jobs = [
            JobRecord.model_validate_json(data)
            for who, data in await self._jobs(ids)
            if owner is None or who == owner
        ]
        return sorted(jobs, key=lambda j: (j.created, j.interaction_id))

    async def prune_jobs(self, *, finished_before: float, keep_last: int = 0) -> int:
        async with self._reachable() as r:
            finished = await r.zrange(f"{PREFIX}finished", 0, -1, withscores=True)
            pipe = r.pipeline(transaction=False)
            for interaction_id, _ in finished:
                pipe.hget(f"{PREFIX}job:{interaction_id}", "owner")
            owners = await pipe.execute()
        triples = [(i, who, at) for (i, at), who in zip(finished, owners, strict=True) if who is not None]
        doomed = prunable(triples, finished_before=finished_before, keep_last=keep_last)
        if doomed:
            await self._script("DELETE_JOBS", [], [PREFIX, *doomed])
        return len(doomed)

    async def _change_job(self, owner: str, interaction_id: str, change: JobChange) -> JobRecord | None:
        key = f"{PREFIX}job:{interaction_id}"
        async with self._reachable() as r:
            while True:
                async with r.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(key)
                        who, data = await pipe.hmget(key, "owner", "data")
                        if who != owner or not data:
                            return None
                        changed = self._capped(change(JobRecord.model_validate_json(data)))
                        changed = changed.model_copy(
                            update={"interaction_id": interaction_id, "owner": owner}
                        )
                        pipe.multi()
                        pipe.evalsha(self._scripts["PUT_JOB"].sha, 0, *self._job_args(changed, insert=False))
                        await pipe.execute()
                        return changed
                    except WatchError:
                        continue  # another replica changed the job meanwhile: apply `change` again
                    except NoScriptError:  # a restarted Redis has forgotten its scripts: load it again
                        await r.script_load(lua.PUT_JOB)

    # -- agents ------------------------------------------------------------------------------------

    async def record_agent(self, owner: str, agent_id: str) -> None:
        recorded = await self._script(
            "RECORD_AGENT", [f"{PREFIX}agents", f"{PREFIX}agents:{owner}"], [agent_id, owner, time.time()]
        )
        if not recorded:
            raise AgentTakenError(agent_id)

    async def agent_owner(self, agent_id: str) -> str | None:
        async with self._reachable() as r:
            owner: str | None = await r.hget(f"{PREFIX}agents", agent_id)
        return owner

    async def list_agents(self, owner: str) -> list[str]:
        async with self._reachable() as r:
            return list(await r.zrange(f"{PREFIX}agents:{owner}", 0, -1))

    async def forget_agent(self, agent_id: str) -> bool:
        return bool(await self._script("FORGET_AGENT", [f"{PREFIX}agents"], [PREFIX, agent_id]))

    # -- owned resources ---------------------------------------------------------------------------

    @staticmethod
    def _resource_key(owner: str, kind: str, resource_id: str) -> str:
        return f"{PREFIX}res:{owner}:{kind}:{resource_id}"

    async def put_resource(self, record: ResourceRecord) -> None:
        key = self._resource_key(record.owner, record.kind, record.id)
        async with self._reachable() as r:
            pipe = r.pipeline(transaction=True)
            pipe.set(key, record.model_dump_json())
            if record.expires is not None:
                pipe.pexpireat(key, int(record.expires * 1000))
            pipe.zadd(f"{PREFIX}res:{record.owner}:{record.kind}", {record.id: record.created})
            await pipe.execute()

    async def get_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> ResourceRecord | None:
        async with self._reachable() as r:
            data = await r.get(self._resource_key(owner, kind, resource_id))
        record = None if data is None else ResourceRecord.model_validate_json(data)
        return None if record is None or record.expired(time.time()) else record

    async def list_resources(self, owner: str, kind: ResourceKind) -> list[ResourceRecord]:
        async with self._reachable() as r:
            ids = await r.zrange(f"{PREFIX}res:{owner}:{kind}", 0, -1)
            values = await r.mget([self._resource_key(owner, kind, i) for i in ids]) if ids else []
        now = time.time()
        records = [ResourceRecord.model_validate_json(v) for v in values if v is not None]
        return sorted((r for r in records if not r.expired(now)), key=lambda r: (r.created, r.id))

    async def delete_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> bool:
        async with self._reachable() as r:
            pipe = r.pipeline(transaction=True)
            pipe.delete(self._resource_key(owner, kind, resource_id))
            pipe.zrem(f"{PREFIX}res:{owner}:{kind}", resource_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def prune_resources(self, kind: ResourceKind, *, created_before: float) -> list[ResourceRecord]:
        """Each owner's index of this kind (found by SCAN, so records stored before this method existed
        are found too) loses its old entries in batches, each one script: atomic, and never blocking
        Redis for long. An index entry whose record already expired is dropped with them."""
        pruned: list[ResourceRecord] = []
        async with self._reachable() as r:
            indexes = [i async for i in r.scan_iter(match=f"{PREFIX}res:*:{kind}", count=1000, _type="zset")]
        for index in indexes:
            while True:
                seen, found = await self._script(
                    "PRUNE_RESOURCES", [index], [repr(created_before), PRUNE_BATCH]
                )
                pruned.extend(ResourceRecord.model_validate_json(v) for v in found)
                if seen < PRUNE_BATCH:
                    break
        return sorted(pruned, key=lambda r: (r.created, r.owner, r.id))

    # -- usage and rate limits ---------------------------------------------------------------------

    async def add_usage(self, owner: str, day: str, model: str, usage: UsageCounts) -> None:
        key = f"{PREFIX}usage:{owner}:{day}:{model}"
        async with self._reachable() as r:
            pipe = r.pipeline(transaction=True)  # MULTI: every counter moves, or none
            pipe.hincrby(key, "interactions", 1)
            for name, value in Usage().plus(usage).as_dict().items():
                if isinstance(value, float):
                    pipe.hincrbyfloat(key, name, value)
                else:
                    pipe.hincrby(key, name, value)
            pipe.sadd(f"{PREFIX}usage:{owner}", f"{day}|{model}")
            await pipe.execute()

    async def daily_usage(self, owner: str, *, since: str) -> list[DailyUsage]:
        async with self._reachable() as r:
            entries = sorted(e for e in await r.smembers(f"{PREFIX}usage:{owner}") if e >= since)
            pipe = r.pipeline(transaction=False)
            for entry in entries:
                day, model = entry.split("|", 1)
                pipe.hgetall(f"{PREFIX}usage:{owner}:{day}:{model}")
            rows = await pipe.execute()
        days: list[DailyUsage] = []
        for entry, row in zip(entries, rows, strict=True):
            day, model = entry.split("|", 1)
            interactions = int(row.pop("interactions", 0))
            days.append(
                DailyUsage(owner=owner, day=day, model=model, interactions=interactions, usage=Usage(**row))
            )
        return sorted(days, key=lambda d: (d.day, d.model))

    def rate_limiter(self) -> RateLimiter:
        return RedisRateLimiter(self)

    # -- leases ------------------------------------------------------------------------------------

    async def acquire_lease(self, key: str, holder: str, ttl: float) -> bool:
        return bool(await self._script("ACQUIRE_LEASE", [f"{PREFIX}lease:{key}"], [holder, _ms(ttl)]))

    async def renew_lease(self, key: str, holder: str, ttl: float) -> bool:
        return bool(await self._script("RENEW_LEASE", [f"{PREFIX}lease:{key}"], [holder, _ms(ttl)]))

    async def release_lease(self, key: str, holder: str) -> bool:
        return bool(await self._script("RELEASE_LEASE", [f"{PREFIX}lease:{key}"], [holder]))

    async def lease_left(self, key: str) -> float | None:
        async with self._reachable() as r:
            left_ms = int(await r.pttl(f"{PREFIX}lease:{key}"))
        return left_ms / 1000 if left_ms > 0 else None  # -2: no such key; -1 cannot happen (always PX)

    # -- completion announcements ------------------------------------------------------------------

    async def publish_job_finished(self, interaction_id: str) -> None:
        async with self._reachable() as r:
            await r.publish(FINISHED_CHANNEL, interaction_id)

    async def job_finished_events(self) -> AsyncIterator[str]:
        """Every replica's announcements; while Redis is away, none arrive, and the subscription is
        made again once it is back (a poll meanwhile still ends by its own timeout and re-reads)."""
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(FINISHED_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            yield str(message["data"])
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("job announcements from Redis at %s interrupted (%s)", self.where, exc)
                await anyio.sleep(RESUBSCRIBE_SECONDS)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Delete everything in this store's database (tests only)."""
        async with self._reachable() as r:
            await r.flushdb()

    async def close(self) -> None:
        await self._redis.aclose()


class RedisRateLimiter(RateLimiter):
    """GCRA counters in Redis, shared by every replica (one script per request, on Redis's clock)."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store

    async def take(self, key: str, *, interval: float, burst: int) -> float:
        wait = await self._store._script("TAKE_RATE", [f"{PREFIX}rate:{key}"], [interval, burst])
        return float(wait)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
