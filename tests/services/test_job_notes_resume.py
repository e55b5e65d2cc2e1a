"""A watcher resumed after a restart while the job followed the interaction that answers its function
calls: that interaction's stream is replayed from its start, and its thoughts not yet stored must be
stored after the notes already there, not skipped because the job holds more notes than the replay."""

from __future__ import annotations

import time

import anyio
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.gemini.accumulate import InteractionAccumulator
from gemini_interactions_mcp.gemini.models import Interaction
from gemini_interactions_mcp.services.jobs import JobService, Note
from gemini_interactions_mcp.state import JobRecord, MemoryStore
from gemini_interactions_mcp.state.records import ProgressNote
from tests.helpers.servers import ServerThread
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio

THINKING = {"thinking_summaries": "auto"}


async def test_a_watcher_resumed_mid_follow_up_stores_that_interactions_later_thoughts() -> None:
    with ServerThread(create_app(EmulatorConfig())) as upstream:
        store = MemoryStore()
        async with (
            InteractionsClient(ClientConfig(base_url=upstream.url, api_key="test-key")) as client,
            anyio.create_task_group() as tg,
        ):
            first = await client.create({"model": "gemini-3.5-flash", "input": "Look it up."})
            follow_up = await client.create(
                {
                    "model": "gemini-3.5-flash",
                    "input": "[[think 1.1]] Here is what the tool found.",
                    "generation_config": THINKING,
                    "background": True,
                }
            )
            thoughts = InteractionAccumulator()
            async with client.stream_get(follow_up.id) as stream:
                async for event in stream:
                    thoughts.feed(event)
            assert len(thoughts.thought_summaries) == 2, thoughts.thought_summaries

            # As the server left it: the first interaction's thought, the round's note, then one of
            # the follow-up's two thoughts before the restart.
            now = time.time()
            texts = ["a thought of the first turn", "ran local__lookup", thoughts.thought_summaries[0]]
            job = JobRecord(
                interaction_id=first.id,
                owner="local",
                kind="model",
                model="gemini-3.5-flash",
                upstream_id=follow_up.id,
                upstream_notes_from=2,
                calls_started=first.id,
                tool_rounds=1,
                progress=[ProgressNote(seq=i, at=now, text=text) for i, text in enumerate(texts, 1)],
                created=now,
                updated=now,
            )
            await store.create_job(job)
            JobService(store=store, client=client, task_group=tg).watch(job, takeover=True)

            async def finished() -> JobRecord | None:
                record = await store.get_job("local", first.id)
                return record if record is not None and record.is_finished else None

            done = await async_wait_until(finished, what="the resumed job to finish")
            tg.cancel_scope.cancel()
    assert [note.text for note in done.progress] == [*texts, thoughts.thought_summaries[1]]


async def test_a_job_carried_on_records_where_the_next_interactions_notes_begin() -> None:
    """What the resumed watcher above relies on: when a round of calls hands the job to the interaction
    that answers them, the job records how many notes came before that interaction's own."""
    lookup = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
    with ServerThread(create_app(EmulatorConfig())) as upstream:
        store = MemoryStore()
        async with (
            InteractionsClient(ClientConfig(base_url=upstream.url, api_key="test-key")) as client,
            anyio.create_task_group() as tg,
        ):
            jobs = JobService(store=store, client=client, task_group=tg)
            follow_ups: list[str] = []

            async def carry_on(
                job: JobRecord, interaction: Interaction, rerun: bool, note: Note
            ) -> str | None:
                if follow_ups:  # the follow-up ended the job
                    return None
                await note("ran lookup")
                answer = await client.create(
                    {
                        "model": "gemini-3.5-flash",
                        "input": "[[think 1.1]] Found it.",
                        "generation_config": THINKING,
                    }
                )
                follow_ups.append(answer.id)
                return answer.id

            jobs.on_requires_action(carry_on)
            first = await client.create(
                {
                    "model": "gemini-3.5-flash",
                    "input": '[[call lookup {"q": "x"}]] Look it up.',
                    "tools": [lookup],
                    "generation_config": THINKING,
                    "background": True,
                }
            )
            await jobs.adopt("local", "model", first)

            async def finished() -> JobRecord | None:
                record = await store.get_job("local", first.id)
                return record if record is not None and record.is_finished else None

            done = await async_wait_until(finished, what="the job to finish")
            thoughts = InteractionAccumulator()
            async with client.stream_get(follow_ups[0]) as stream:
                async for event in stream:
                    thoughts.feed(event)
            tg.cancel_scope.cancel()
    texts = [note.text for note in done.progress]
    assert done.upstream_id == follow_ups[0]
    assert done.upstream_notes_from == texts.index("ran lookup") + 1
    assert (
        texts[done.upstream_notes_from :] == thoughts.thought_summaries
        and len(thoughts.thought_summaries) == 2
    )
