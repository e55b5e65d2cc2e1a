"""Context cost: what the calling model sees of `tools/list` (goal: under 9 KB), and the whole answer.

Clients hand the model each tool's name, description and input schema; titles, annotations and output
schemas stay with the client. Both sizes are printed, per tool and in total.

.venv/bin/python bench/context_cost.py
"""

from __future__ import annotations

import json

import anyio
from mcp import Client

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings

MODEL_SEES = ("name", "description", "inputSchema")


def size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")))


async def main() -> None:
    async with Client(build_server(ServerSettings(state="memory"))) as client:
        tools = (await client.list_tools()).tools
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    seen = [{k: tool[k] for k in MODEL_SEES if k in tool} for tool in dumped]
    print(f"{'tool':<24} {'model sees':>10} {'tools/list':>10}")
    for full, part in zip(dumped, seen, strict=True):
        print(f"{full['name']:<24} {size(part):10d} {size(full):10d}")
    totals = f"{size({'tools': seen}):10d} {size({'tools': dumped}):10d}"
    print(f"{'total (bytes)':<24} {totals}  ({len(dumped)} tools)")


if __name__ == "__main__":
    anyio.run(main)
