"""The server's own time per function-calling round, excluding Gemini's time and the tools' time.

Per round the server: checks each call against the conversation's toolbox, dispatches the calls (in
parallel), builds the `function_result` steps and the next create body. Measured in process, with the
workspace toolset (no subprocess) and three parallel calls per round; the tools' own time (the longest
call of the round, as they run in parallel) is subtracted. Goal (issue 9): p50 under 5 ms.

    .venv/bin/python -m bench.tool_loop [--rounds 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import anyio
from mcp.types import Implementation

from bench._common import summary
from gemini_interactions_mcp.downstream.hub import DownstreamHub
from gemini_interactions_mcp.services.ask import model_body
from gemini_interactions_mcp.services.rounds import RoundsInFlight
from gemini_interactions_mcp.services.toolloop import ToolLoop
from gemini_interactions_mcp.services.turns import TurnOutcome

CALLS = [
    {"type": "function_call", "id": "c1", "name": "workspace__read_file", "arguments": {"path": "a.py"}},
    {"type": "function_call", "id": "c2", "name": "workspace__list_dir", "arguments": {}},
    {"type": "function_call", "id": "c3", "name": "workspace__search", "arguments": {"query": "answer"}},
]


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "a.py").write_text("answer = 42\n" * 50)
        (root / "b.md").write_text("# notes\nthe answer is 42\n")
        async with anyio.create_task_group() as tg:
            hub = DownstreamHub([], Implementation(name="bench", version="0"))
            loop = ToolLoop(hub, RoundsInFlight(tg), max_rounds=rounds + 100)
            await _measure(loop, root, rounds)


async def _measure(loop: ToolLoop, root: Path, rounds: int) -> None:
    """Run the rounds one after another and print the server's own time per round."""
    box = await loop.toolbox(["workspace"])
    settings = {"tools": [{"type": "google_search"}], "system_instruction": "Be brief."}
    own: list[float] = []
    turn = loop.turn(box, [root])
    for i in range(rounds + 20):
        outcome = TurnOutcome(
            interaction_id=f"v1_{i}", status="requires_action", text="", function_calls=CALLS
        )
        before = len(turn.calls)
        started = time.perf_counter()
        results = await turn("local", outcome)
        assert results is not None
        model_body(
            "gemini-3.5-flash", results, outcome.interaction_id, settings, None, None, box.declarations()
        )
        elapsed = time.perf_counter() - started
        tool_time = max(c.seconds for c in turn.calls[before:])
        if i >= 20:
            own.append(max(0.0, elapsed - tool_time))
    print(summary("loop round, server's own time (3 calls)", own))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    anyio.run(main, parser.parse_args().rounds)
