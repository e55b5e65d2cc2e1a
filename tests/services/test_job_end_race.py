"""A turn right after a background turn ended: the job record says "finished" a moment before the job's
listener records the end on the conversation. The next turn must go on from the record with that end on
it, or it writes over the background turn's answer and usage."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import anyio
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.services.chain import ConversationChain
from gemini_interactions_mcp.services.jobs import JobFinished, JobService
from gemini_interactions_mcp.services.requests import AskRequest
from gemini_interactions_mcp.services.results import TurnResult
from gemini_interactions_mcp.state import ConversationRecord, MemoryStore
from tests.helpers.asking import ask_service, quiet
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio


class ReadCountingStore(MemoryStore):
    """A memory store that tells when a conversation is read."""

    def __init__(self) -> None:
        super().__init__()
        self.read = anyio.Event()

    async def get_conversation(self, owner: str, key: str) -> ConversationRecord | None:
        self.read.set()
        return await super().get_conversation(owner, key)


async def test_a_turn_after_a_background_turn_keeps_its_answer_and_usage(tmp_path: Path) -> None:
    with ExitStack() as stack:
        await turns_after_a_background_turn(tmp_path, stack)


async def turns_after_a_background_turn(tmp_path: Path, stack: ExitStack) -> None:
    upstream = stack.enter_context(ServerThread(create_app(EmulatorConfig())))
    store = ReadCountingStore()
    ended = anyio.Event()
    release = anyio.Event()

    async def before_the_conversation_hears(_: JobFinished) -> None:
        """Hold the conversation's listener back: the job is finished, its end not yet recorded."""
        ended.set()
        await release.wait()

    async with (
        InteractionsClient(ClientConfig(base_url=upstream.url, api_key="test-key")) as client,
        anyio.create_task_group() as tg,
    ):
        jobs = JobService(store=store, client=client, task_group=tg)
        chain = ConversationChain(store=store, client=client, jobs=jobs)
        jobs.on_finished(before_the_conversation_hears)
        jobs.on_finished(chain.job_finished)
        asks = ask_service(store, client, jobs, tmp_path, chain=chain)
        first = await asks.ask(
            "local",
            AskRequest(prompt="[[think 2]] My code is 1234.", conversation="c"),
            quiet,
            wait_seconds=0.01,
        )
        assert first.status != "completed", "the first turn must go on in the background"
        await ended.wait()

        second: list[TurnResult] = []
        answered = anyio.Event()

        async def ask_again() -> None:
            request = AskRequest(prompt="What is my code?", conversation="c")
            second.append(await asks.ask("local", request, quiet, wait_seconds=30))
            answered.set()

        store.read = anyio.Event()
        tg.start_soon(ask_again)
        await store.read.wait()  # the second turn has read the conversation while the end is unrecorded
        release.set()
        with anyio.fail_after(30):
            await answered.wait()
        tg.cancel_scope.cancel()

    job = await store.get_job("local", first.interaction_id)
    record = await store.get_conversation("local", "c")
    assert job is not None and job.is_finished and record is not None
    assert record.transcript.turns()[0].answer, "the background turn's answer is on the conversation"
    assert record.usage.total_tokens == job.usage["total_tokens"] + second[0].usage["total_tokens"]
