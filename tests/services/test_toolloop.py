"""The function-calling loop's rounds: checks, confirmations, parallel calls, errors as results, records."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest

from gemini_interactions_mcp.downstream.functions import CallOutcome, FunctionSpec
from gemini_interactions_mcp.services.results import Approval, PausedLoop
from gemini_interactions_mcp.services.turns import TurnOutcome
from tests.helpers.downstream import LoopFactory, stdio_config

pytestmark = pytest.mark.anyio


def call(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "id": call_id, "name": name, "arguments": arguments}


def texts(step: dict[str, Any]) -> str:
    return "\n".join(b.get("text", "") for b in step["result"])


async def test_a_round_answers_every_call_in_order(make_loop: LoopFactory, tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("hello from the workspace\n")
    loop = make_loop(stdio_config())
    box = await loop.toolbox(["mcp:test", "workspace"])
    notes: list[str] = []

    async def progress(message: str) -> None:
        notes.append(message)

    turn = loop.turn(box, [tmp_path], progress=progress)
    results = await turn.answer(
        [
            call("test__echo", "c1", text="one"),
            call("workspace__read_file", "c2", path="notes.md"),
            call("test__fail", "c3"),
            call("test__nope", "c4"),
        ],
        key="v1_x",
    )
    assert [r["call_id"] for r in results] == ["c1", "c2", "c3", "c4"]
    assert texts(results[0]) == "echo: one" and "is_error" not in results[0]
    assert "hello from the workspace" in texts(results[1])
    assert results[2]["is_error"] and "the ticket system is down" in texts(results[2])
    assert results[3]["is_error"] and "not a tool enabled in this conversation" in texts(results[3])
    assert sorted(notes) == ["calling test__echo", "calling test__fail", "calling workspace__read_file"]
    records = {r.name: r for r in turn.calls}
    assert records["test__echo"].ok and not records["test__fail"].ok and not records["test__nope"].ok
    assert records["test__fail"].error and "ticket system" in records["test__fail"].error


async def test_calls_of_a_round_run_in_parallel(make_loop: LoopFactory, tmp_path: Path) -> None:
    loop = make_loop(stdio_config())
    turn = loop.turn(await loop.toolbox(["mcp:test/meet"]), [tmp_path])
    results = await turn.answer([call("test__meet", f"c{i}", count=4) for i in range(4)], key="v1_x")
    assert [texts(r) for r in results] == ["met 4"] * 4, "each call met the other three while it ran"


async def test_a_round_runs_at_most_max_parallel_calls_at_once(
    make_loop: LoopFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = make_loop(stdio_config(), max_parallel_calls=3)
    turn = loop.turn(await loop.toolbox(["mcp:test/echo"]), [tmp_path])
    running = most = 0

    async def counted(spec: FunctionSpec, arguments: Mapping[str, Any]) -> CallOutcome:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await anyio.sleep(0.01)
        running -= 1
        return CallOutcome.text(f"echo: {arguments['text']}")

    monkeypatch.setattr(loop.hub, "call", counted)
    results = await turn.answer([call("test__echo", f"c{i}", text=str(i)) for i in range(10)], key="v1_x")
    assert [texts(r) for r in results] == [f"echo: {i}" for i in range(10)]
    assert most == 3


@pytest.mark.parametrize(
    ("approval", "expected"),
    [
        (Approval.APPROVED, "stored note #1: buy milk"),
        (Approval.DENIED, "The user declined the call of test__add_note"),
        (Approval.CANNOT_ASK, "\"trust\": true for the server 'test'"),
        (Approval.UNATTENDED, "nobody was there to ask"),
    ],
)
async def test_writing_tools_are_confirmed_before_each_call(
    make_loop: LoopFactory, tmp_path: Path, approval: Approval, expected: str
) -> None:
    asked: list[tuple[str, Mapping[str, Any], str]] = []

    async def confirm(spec: FunctionSpec, arguments: Mapping[str, Any], call_id: str) -> Approval:
        asked.append((spec.name, arguments, call_id))
        return approval

    loop = make_loop(stdio_config())
    turn = loop.turn(await loop.toolbox(["mcp:test"]), [tmp_path], confirm=confirm)
    results = await turn.answer(
        [call("test__add_note", "c1", note="buy milk"), call("test__echo", "c2", text="x")], key="v1_x"
    )
    assert asked == [("test__add_note", {"note": "buy milk"}, "c1")]  # read-only echo is never asked about
    assert expected in texts(results[0])
    assert results[0].get("is_error", False) is (approval is not Approval.APPROVED)


async def test_a_round_waiting_for_answers_runs_nothing_and_pauses_the_turn(
    make_loop: LoopFactory, tmp_path: Path
) -> None:
    """On 2026-07-28 the answers come with the client's retry: the round stops before any call runs."""

    async def later(spec: FunctionSpec, arguments: Mapping[str, Any], call_id: str) -> Approval:
        return Approval.PENDING

    loop = make_loop(stdio_config())
    turn = loop.turn(await loop.toolbox(["mcp:test"]), [tmp_path], confirm=later)
    outcome = TurnOutcome(
        interaction_id="v1_x",
        status="requires_action",
        text="",
        function_calls=[call("test__echo", "c1", text="x"), call("test__add_note", "c2", note="y")],
    )
    assert await turn("local", outcome) is None
    assert turn.paused and turn.rounds == 0 and turn.calls == []
    after = PausedLoop(conversation="c", interaction_id="v1_x", rounds=turn.rounds, calls=turn.calls)

    async def allow(spec: FunctionSpec, arguments: Mapping[str, Any], call_id: str) -> Approval:
        return Approval.APPROVED

    retry = loop.turn(await loop.toolbox(["mcp:test"]), [tmp_path], confirm=allow, after=after)
    results = await retry("local", outcome)
    assert results is not None and [texts(r) for r in results] == ["echo: x", "stored note #1: y"]
    assert retry.rounds == 1 and not retry.paused


async def test_trusted_servers_are_not_asked(make_loop: LoopFactory, tmp_path: Path) -> None:
    async def confirm(spec: FunctionSpec, arguments: Mapping[str, Any], call_id: str) -> Approval:
        raise AssertionError("a trusted server's tool was put to the user")

    loop = make_loop(stdio_config(trust=True))
    turn = loop.turn(await loop.toolbox(["mcp:test"]), [tmp_path], confirm=confirm)
    (result,) = await turn.answer([call("test__add_note", "c1", note="x")], key="v1_x")
    assert texts(result) == "stored note #1: x"


async def test_the_round_limit_ends_the_turn_with_a_note(make_loop: LoopFactory, tmp_path: Path) -> None:
    loop = make_loop(max_rounds=2)
    turn = loop.turn(await loop.toolbox(["workspace"]), [tmp_path])
    outcome = TurnOutcome(
        interaction_id="v1_x",
        status="requires_action",
        text="",
        function_calls=[call("workspace__list_dir", "c1")],
    )
    assert await turn("local", outcome) is not None
    assert await turn("local", outcome) is not None
    assert await turn("local", outcome) is None
    assert turn.rounds == 2 and len(turn.calls) == 2
    assert "after 2 rounds (the limit, --max-tool-rounds)" in turn.notes[0]
    answered = TurnOutcome(interaction_id="v1_y", status="completed", text="done")
    assert await turn("local", answered) is None and len(turn.notes) == 1
