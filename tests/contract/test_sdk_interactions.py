"""The official SDK against the emulator: create, get, background + poll, cancel, delete, chaining."""

from __future__ import annotations

import pytest
from google import genai
from google.genai._gaos.types.interactions import (
    ModelOutputStep,
    ThoughtStep,
    UserInputStep,
)
from google.genai._interactions import BadRequestError, NotFoundError

from .conftest import Served
from .sdk_checks import assert_known, emulator_text, poll

MODEL = "gemini-3.5-flash"
RESEARCH = "deep-research-preview-04-2026"


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_create_parses_into_known_types(served: Served, version: str) -> None:
    """A unary create under both API versions parses fully; `output_text` equals the emulator's text."""
    client = served.client(version)
    result = client.interactions.create(
        model=MODEL, input="Hello, my name is Ann", generation_config={"thinking_summaries": "auto"}
    )
    assert_known(result, "create")
    assert result.status == "completed"
    assert result.model == MODEL
    assert [type(s) for s in result.steps or []] == [ThoughtStep, ModelOutputStep]
    assert result.output_text == emulator_text(served.raw_get(result.id, version))
    assert "Noted: your name is Ann." in (result.output_text or "")
    [logged] = [r for r in served.requests() if r["method"] == "POST"]
    assert (logged["method"], logged["path"]) == ("POST", f"/{version}/interactions")
    assert logged["body"]["input"] == "Hello, my name is Ann"


def test_get_with_include_input(sdk: genai.Client, served: Served) -> None:
    """GET returns the full timeline (user_input first); `include_input` adds the original `input`."""
    created = sdk.interactions.create(model=MODEL, input="What is 2+2?")
    plain = sdk.interactions.get(created.id)
    with_input = sdk.interactions.get(created.id, include_input=True)
    for got in (plain, with_input):
        assert_known(got, "get")
        assert isinstance((got.steps or [])[0], UserInputStep)
        assert got.output_text == created.output_text
    assert plain.input is None
    assert with_input.input == "What is 2+2?"
    queries = [r["query"] for r in served.requests() if r["method"] == "GET"][:2]
    assert queries == [{"stream": "false"}, {"include_input": "true", "stream": "false"}]


@pytest.mark.anyio
async def test_async_client_create_and_get(served: Served) -> None:
    """`client.aio.interactions` parses the same shapes as the sync client."""
    client = served.client("v1")
    created = await client.aio.interactions.create(
        model=MODEL, input=[{"type": "text", "text": "my colour is blue"}], system_instruction="Be brief."
    )
    assert_known(created, "async create")
    got = await client.aio.interactions.get(created.id, include_input=True)
    assert_known(got, "async get")
    assert got.system_instruction == "Be brief."
    assert created.output_text == got.output_text == emulator_text(served.raw_get(created.id, "v1"))
    assert "Following your instruction: Be brief." in (created.output_text or "")


def test_previous_interaction_id_chains_turns(sdk: genai.Client, served: Served) -> None:
    """A second turn chained by `previous_interaction_id` sees the first turn's history."""
    first = sdk.interactions.create(model=MODEL, input="my city is Lyon")
    second = sdk.interactions.create(model=MODEL, input="what is my city?", previous_interaction_id=first.id)
    assert_known(second, "second turn")
    assert second.previous_interaction_id is None  # a create response never echoes it
    assert sdk.interactions.get(second.id).previous_interaction_id == first.id
    assert "This is turn 2" in (second.output_text or "")
    assert "Your city is Lyon." in (second.output_text or "")
    assert second.output_text == emulator_text(served.raw_get(second.id))


def test_store_false_has_no_id(sdk: genai.Client) -> None:
    """An unstored interaction has no id: absent from the response, empty in its stream."""
    unary = sdk.interactions.create(model=MODEL, input="hi", store=False)
    assert unary.status == "completed" and not unary.id
    events = list(sdk.interactions.create(model=MODEL, input="hi", store=False, stream=True))
    assert_known(events, "unstored stream")
    assert events[0].interaction.id == "" and events[-1].interaction.id == ""


def test_background_then_poll(sdk: genai.Client, served: Served) -> None:
    """`background=True` returns `in_progress` at once; polling reaches `completed` with the answer."""
    created = sdk.interactions.create(model=MODEL, input="[[think 0.3]] Summarise tides", background=True)
    assert_known(created, "background create")
    assert created.status == "in_progress"
    assert not created.output_text
    done = poll(sdk, created.id)
    assert_known(done, "polled")
    assert done.status == "completed"
    assert done.output_text == emulator_text(served.raw_get(created.id))
    assert done.usage is not None and done.usage.total_tokens


def test_cancel_background_interaction(sdk: genai.Client) -> None:
    """Cancelling a running background run returns (and later GETs show) `cancelled`."""
    created = sdk.interactions.create(agent=RESEARCH, input="Glaciers", background=True)
    cancelled = sdk.interactions.cancel(created.id)
    assert_known(cancelled, "cancel")
    assert cancelled.status == "cancelled"
    assert sdk.interactions.get(created.id).status == "cancelled"


def test_cancel_finished_interaction_is_bad_request(sdk: genai.Client) -> None:
    """Cancelling a non-background interaction is refused with the SDK's BadRequestError."""
    created = sdk.interactions.create(model=MODEL, input="hi")
    with pytest.raises(BadRequestError) as info:
        sdk.interactions.cancel(created.id)
    assert info.value.status_code == 400
    assert "not a background interaction" in str(info.value)


def test_delete_then_get_is_not_found(sdk: genai.Client, served: Served) -> None:
    """DELETE returns nothing (SDK `None`); a later GET raises NotFoundError."""
    created = sdk.interactions.create(model=MODEL, input="hi")
    assert sdk.interactions.delete(created.id) is None
    with pytest.raises(NotFoundError):
        sdk.interactions.get(created.id)
    methods = [(r["method"], r["path"]) for r in served.requests()]
    assert ("DELETE", f"/v1beta/interactions/{created.id}") in methods
