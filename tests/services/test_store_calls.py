"""What one ask_gemini turn asks of the store: a conversation created by the call itself is nobody
else's yet, so its first turn takes no lease and reads nothing back; a continued one is leased across
processes and read under the lease (once, when the turn names it by id); where the store can (SQLite),
the lease is taken with that read and given back with the head's move. The turn's usage is counted with
the head's move, in one call."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.services.requests import AskRequest
from gemini_interactions_mcp.services.results import PausedLoop
from gemini_interactions_mcp.services.usage import UsageLedger
from gemini_interactions_mcp.state import MemoryStore
from tests.helpers.asking import ask_service, quiet

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


async def test_a_new_conversation_is_not_leased_and_a_continued_one_is(tmp_path: Path) -> None:
    app = create_app(EmulatorConfig(step_delay=0.0))
    store = CountingStore()
    async with (
        InteractionsClient(
            ClientConfig(base_url="http://emulator.test"), transport=httpx2.ASGITransport(app=app)
        ) as client,
        anyio.create_task_group() as tg,
    ):
        jobs = JobService(store=store, client=client, task_group=tg)
        asks = ask_service(store, client, jobs, tmp_path, ledger=UsageLedger(store))
        store.clear()
        first = await asks.ask("local", AskRequest(prompt="Hello"), quiet, wait_seconds=10)
        assert store.calls == Counter(create_conversation=1, advance_conversation=1)
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
