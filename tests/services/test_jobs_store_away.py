"""A job's watcher when the state store goes away (a full disk, Redis restarting): the server goes on, and
the job is taken up again and delivered once the store is back."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import anyio
import httpx2
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.state import MemoryStore, StoreUnavailableError
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio


class StoreThatGoesAway(MemoryStore):
    """A memory store whose every call fails with StoreUnavailableError while `away` is set."""

    away = False

    def __getattribute__(self, name: str) -> Any:
        attribute = super().__getattribute__(name)
        if name.startswith("_") or not inspect.iscoroutinefunction(attribute):
            return attribute
        if not super().__getattribute__("away"):
            return attribute

        async def refused(*_: Any, **__: Any) -> Any:
            raise StoreUnavailableError("The state store is away.")

        return refused


async def test_a_store_away_mid_job_ends_no_server_and_the_job_is_delivered_after(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(EmulatorConfig(step_delay=0.0))
    store = StoreThatGoesAway()
    config = ClientConfig(base_url="http://emulator.test")
    async with (
        InteractionsClient(config, transport=httpx2.ASGITransport(app=app)) as client,
        anyio.create_task_group() as tg,
    ):
        jobs = JobService(store=store, client=client, task_group=tg, watcher_ttl=0.5, sweep_seconds=0.05)
        tg.start_soon(jobs.keep_watch)
        body = {"model": "gemini-3.5-flash", "input": "[[think 1]] my pet is Tom", "background": True}
        interaction = await client.create(body)
        job = await jobs.adopt("alice", "model", interaction)
        with caplog.at_level(logging.WARNING):
            store.away = True

            def heard(text: str) -> bool:
                return any(text in record.getMessage() for record in caplog.records)

            async def gave_up() -> bool:
                return heard(f"stopped watching {job.interaction_id}") and heard("looking for unwatched jobs")

            await async_wait_until(gave_up, what="the watcher and a sweep meeting the store away")
            store.away = False
        polled = await jobs.poll(
            "alice", job.interaction_id, wait_seconds=20, offset=0, max_chars=10_000, progress=None
        )
        assert polled.done and polled.status == "completed", polled
        assert "Tom" in (polled.output or "")
        tg.cancel_scope.cancel()
