"""What one ask_gemini turn asks of the store: a conversation created by the call itself is nobody
else's yet, so its first turn takes no lease, reads nothing back, and stores the conversation with the
turn (one call: created up front, it took two); a continued one is leased across
processes and read under the lease (once, when the turn names it by id); where the store can (SQLite),
the lease is taken with that read and given back with the head's move. The turn's usage is counted with
the head's move, in one call."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import TaskGroup
from starlette.applications import Starlette

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.services.ask import AskService
from gemini_interactions_mcp.services.chain import ConversationChain
from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.jobs import JobFinished, JobService
from gemini_interactions_mcp.services.requests import AskRequest
from gemini_interactions_mcp.services.results import PausedLoop
from gemini_interactions_mcp.services.usage import UsageLedger
from gemini_interactions_mcp.state import MemoryStore, Store
from tests.helpers.asking import ask_service, quiet
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio


class CountingStore(MemoryStore):
    """A memory store that counts the calls a turn makes of it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.order: list[str] = []

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if callable(value) and not name.startswith("_") and name not in ("calls", "order"):
            super().__getattribute__("calls")[name] += 1
            super().__getattribute__("order").append(name)
        return value

    def clear(self) -> None:
        self.calls.clear()
        self.order.clear()


@asynccontextmanager
async def asking(app: Starlette, store: Store, root: Path) -> AsyncIterator[tuple[AskService, TaskGroup]]:
    """An AskService over `store` and the emulator `app`, with a ledger; the task group its jobs run in."""
    async with (
        InteractionsClient(
            ClientConfig(base_url="http://emulator.test"), transport=httpx2.ASGITransport(app=app)
        ) as client,
        anyio.create_task_group() as tg,
    ):
        jobs = JobService(store=store, client=client, task_group=tg)
        yield ask_service(store, client, jobs, root, ledger=UsageLedger(store)), tg


async def test_a_new_conversation_is_not_leased_and_a_continued_one_is(tmp_path: Path) -> None:
    app = create_app(EmulatorConfig(step_delay=0.0))
    store = CountingStore()
    async with asking(app, store, tmp_path) as (asks, tg):
        store.clear()
        first = await asks.ask("local", AskRequest(prompt="Hello"), quiet, wait_seconds=10)
        assert store.calls == Counter(create_conversation=1), "stored with its first turn, in one call"
        store.clear()
        second = await asks.ask(
            "local", AskRequest(prompt="Again", conversation=first.conversation), quiet, wait_seconds=10
        )
        assert store.order == [  # two calls where the store can (SQLite); the memory store's in a row
            "acquire_lease_and_read",
            "acquire_lease",
            "get_conversation",
            "advance_conversation_and_release",
            "advance_conversation",
            "release_lease",
        ]
        store.clear()
        named = await asks.ask("local", AskRequest(prompt="Hi", conversation="notes"), quiet, wait_seconds=10)
        assert store.calls["acquire_lease"] == 1, "a new name may be opened by a concurrent call too"
        store.clear()
        paused = PausedLoop(
            conversation=named.conversation, interaction_id=named.interaction_id, rounds=0, calls=[]
        )
        await asks.ask("local", AskRequest(prompt="Hi"), quiet, wait_seconds=10, after=paused)
        assert store.order[:3] == ["acquire_lease_and_read", "acquire_lease", "get_conversation"], (
            "a paused turn names it by id"
        )
        assert store.calls["get_conversation"] == 1
        tg.cancel_scope.cancel()
    record = await store.get_conversation("local", first.conversation)
    assert record is not None and record.turns == 2 and record.head == second.interaction_id
    assert named.turn == 1
    (day,) = await store.daily_usage("local", since="2000-01-01")
    assert day.interactions == 3 and day.usage.total_tokens > 0, "every turn's usage counted"


async def test_a_new_conversation_whose_first_turn_fails_is_not_stored(tmp_path: Path) -> None:
    """The caller never learned its id: an empty conversation left behind would only clutter the list."""
    app = create_app(EmulatorConfig(step_delay=0.0))
    app.state.emulator.add_fault({"kind": "error", "status": 400, "method": "POST", "message": "bad input"})
    store = CountingStore()
    async with asking(app, store, tmp_path) as (asks, tg):
        with pytest.raises(ServiceError):
            await asks.ask("local", AskRequest(prompt="Hello"), quiet, wait_seconds=10)
        tg.cancel_scope.cancel()
    assert store.calls["create_conversation"] == 0
    assert await store.list_conversations("local") == []


async def test_a_first_turn_going_on_in_the_background_stores_its_conversation_before_its_job(
    tmp_path: Path,
) -> None:
    """The job's end is recorded on its conversation, which therefore exists before the job does."""
    store = CountingStore()
    recorded = anyio.Event()
    with ServerThread(create_app(EmulatorConfig())) as upstream:
        async with (
            InteractionsClient(ClientConfig(base_url=upstream.url, api_key="test-key")) as client,
            anyio.create_task_group() as tg,
        ):
            jobs = JobService(store=store, client=client, task_group=tg)
            chain = ConversationChain(store=store, client=client, jobs=jobs)

            async def record_then_tell(event: JobFinished) -> None:
                await chain.job_finished(event)
                recorded.set()

            jobs.on_finished(record_then_tell)
            asks = ask_service(store, client, jobs, tmp_path, chain=chain)
            first = await asks.ask("local", AskRequest(prompt="[[think 2]] Hi"), quiet, wait_seconds=0.01)
            assert first.status != "completed", "the first turn must go on in the background"
            with anyio.fail_after(30):
                await recorded.wait()
            tg.cancel_scope.cancel()
    assert store.order.index("create_conversation") < store.order.index("create_job")
    record = await store.get_conversation("local", first.conversation)
    assert record is not None and record.head == first.interaction_id and record.turns == 1
    assert record.transcript.turns()[0].answer, "the background turn's end is on its conversation"
