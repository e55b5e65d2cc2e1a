"""Continued turns: what an earlier turn left is shared, not copied and re-read on every turn."""

from __future__ import annotations

import math
from typing import Any

import httpx2
import pytest

from gemini_interactions_mcp.emulator import Emulator, text

from .test_interactions import answer, create

pytestmark = pytest.mark.anyio
SUMMARIES = {"thinking_summaries": "auto"}


async def test_a_long_conversations_turn_reads_no_more_text_than_its_second_turn(
    client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every read of a step's text (token counts, facts, prompts) goes through `content_texts`; a turn
    that re-read the whole conversation would read more with each turn."""
    reads = 0
    content_texts = text.content_texts

    def counted(content: Any) -> list[str]:
        nonlocal reads
        reads += 1
        return content_texts(content)

    monkeypatch.setattr(text, "content_texts", counted)
    head = await create(client, input="my name is Ada", generation_config=SUMMARIES)
    per_turn = []
    for n in range(2, 41):
        reads = 0
        head = await create(
            client,
            input=f"turn {n}: my name is Ada. What is my name?",
            previous_interaction_id=head["id"],
            generation_config=SUMMARIES,
        )
        per_turn.append(reads)
        assert f"This is turn {n} of our conversation." in answer(head)
        assert "Your name is Ada." in answer(head)
    assert per_turn[-1] == per_turn[1] > 0, per_turn


async def test_a_continued_turn_counts_the_tokens_of_the_whole_conversation(
    client: httpx2.AsyncClient,
) -> None:
    """Input tokens: the text of every earlier step (input, thoughts, answers, function results) plus
    this turn's input, at four characters a token, as if the model re-read it all."""
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
    turns = [await create(client, input="Hello, my name is Ada", generation_config=SUMMARIES)]
    turns.append(
        await create(client, input="[[call lookup]]", tools=[tool], previous_interaction_id=turns[-1]["id"])
    )
    (call,) = [s for s in turns[-1]["steps"] if s["type"] == "function_call"]
    result = {"type": "function_result", "call_id": call["id"], "name": "lookup", "result": "forty-two"}
    turns.append(await create(client, input=[result], tools=[tool], previous_interaction_id=turns[-1]["id"]))
    last = await create(client, input="And now?", previous_interaction_id=turns[-1]["id"])
    steps = []
    for turn in [*turns, last]:
        stored = (await client.get(f"/v1beta/interactions/{turn['id']}", params={"stream": "false"})).json()
        steps += stored["steps"]
    read = sum(len(t) for s in steps[: -len(last["steps"])] for t in text.step_texts(s))
    assert last["usage"]["total_input_tokens"] == math.ceil(read / 4)


async def test_turns_continuing_the_same_interaction_see_only_their_own_branch(
    client: httpx2.AsyncClient, emulator: Emulator
) -> None:
    root = await create(client, input="my name is Ada")
    renamed = await create(client, input="my name is Bob", previous_interaction_id=root["id"])
    asked = await create(client, input="what is my name?", previous_interaction_id=root["id"])
    assert "Your name is Ada." in answer(asked)
    later = await create(client, input="what is my name?", previous_interaction_id=renamed["id"])
    assert "Your name is Bob." in answer(later)
    records = emulator.store.interactions
    assert records[asked["id"]].history is records[renamed["id"]].history  # shared, not copied
    assert records[later["id"]].history.earlier is records[asked["id"]].history


async def test_a_result_must_answer_a_call_of_this_branch(client: httpx2.AsyncClient) -> None:
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
    root = await create(client, input="hi", tools=[tool])
    called = await create(client, input="[[call lookup]]", tools=[tool], previous_interaction_id=root["id"])
    (call,) = [s for s in called["steps"] if s["type"] == "function_call"]
    result = {"type": "function_result", "call_id": call["id"], "result": "42"}
    other = await client.post(
        "/v1beta/interactions",
        json={
            "model": "gemini-3.5-flash",
            "input": [result],
            "tools": [tool],
            "previous_interaction_id": root["id"],
        },
    )
    assert other.status_code == 400 and call["id"] in other.text
    later = await create(client, input="go on", tools=[tool], previous_interaction_id=called["id"])
    answered = await create(client, input=[result], tools=[tool], previous_interaction_id=later["id"])
    assert "The function lookup returned: 42" in answer(answered)
