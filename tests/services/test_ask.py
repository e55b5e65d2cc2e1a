"""The seam where function calling plugs into a model turn: an ActionHandler answers the calls, and the
results are chained as the next interaction of the same turn."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.services.ask import ActionHandler
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.services.requests import AskRequest
from gemini_interactions_mcp.services.results import TurnResult
from gemini_interactions_mcp.services.transcript import TurnInput
from gemini_interactions_mcp.services.turns import TurnOutcome
from gemini_interactions_mcp.state import ConversationRecord, MemoryStore
from tests.helpers.asking import ask_service, quiet

pytestmark = pytest.mark.anyio
COUNT_APPLES = {
    "type": "function",
    "name": "count_apples",
    "description": "How many apples are in the basket.",
    "parameters": {"type": "object", "properties": {"basket": {"type": "string"}}},
}


async def ask_with(
    tmp_path: Path, actions: ActionHandler | None, prompt: str
) -> tuple[TurnResult, ConversationRecord, list[dict[str, Any]]]:
    """One ask on a conversation whose settings declare `count_apples`; the result, the record after it,
    and the bodies sent upstream."""
    app = create_app(EmulatorConfig(step_delay=0.0))
    store = MemoryStore()
    config = ClientConfig(base_url="http://emulator.test")
    now = time.time()
    settings = {"tools": [COUNT_APPLES]}
    await store.create_conversation(
        ConversationRecord(id="conv_apples", owner="local", settings=settings, created=now, updated=now)
    )
    async with (
        InteractionsClient(config, transport=httpx2.ASGITransport(app=app)) as client,
        anyio.create_task_group() as tg,
    ):
        jobs = JobService(store=store, client=client, task_group=tg)
        asks = ask_service(store, client, jobs, tmp_path, actions=actions)
        request = AskRequest(prompt=prompt, conversation="conv_apples")
        result = await asks.ask("local", request, quiet, wait_seconds=10)
        tg.cancel_scope.cancel()
    record = await store.get_conversation("local", "conv_apples")
    assert record is not None
    return result, record, [r["body"] for r in app.state.emulator.requests() if r["method"] == "POST"]


async def test_an_action_handler_answers_the_calls_within_the_turn(tmp_path: Path) -> None:
    asked: list[TurnOutcome] = []

    async def count(owner: str, outcome: TurnOutcome) -> TurnInput | None:
        asked.append(outcome)
        return [
            {"type": "function_result", "call_id": call["id"], "name": call["name"], "result": "42 apples"}
            for call in outcome.function_calls
        ]

    result, record, bodies = await ask_with(tmp_path, count, '[[call count_apples {"basket": "red"}]]')
    assert result.status == "completed" and "count_apples returned: 42 apples" in result.text
    (calls,) = asked
    (call,) = calls.function_calls
    assert (call["name"], call["arguments"]) == ("count_apples", {"basket": "red"})
    first, second = bodies
    assert "previous_interaction_id" not in first
    assert second["previous_interaction_id"] == calls.interaction_id
    assert second["input"][0]["call_id"] == call["id"] and second["tools"] == [COUNT_APPLES]
    assert record.head == result.interaction_id and record.turns == 1  # one turn, two interactions
    assert result.usage["total_tokens"] > 0


async def test_without_a_handler_the_calls_end_the_turn(tmp_path: Path) -> None:
    result, record, bodies = await ask_with(tmp_path, None, "[[call count_apples]]")
    assert result.status == "requires_action" and len(bodies) == 1
    assert record.head == result.interaction_id
