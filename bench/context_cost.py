"""Context cost: the JSON size of `tools/list` as a client receives it (goal for issue 3 tools: <= 6 KB).

.venv/bin/python bench/context_cost.py
"""

from __future__ import annotations

import json

import anyio
from mcp import Client

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings


async def main() -> None:
    async with Client(build_server(ServerSettings(state="memory"))) as client:
        tools = (await client.list_tools()).tools
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    total = len(json.dumps({"tools": dumped}, separators=(",", ":")))
    for tool in dumped:
        print(f"{tool['name']:<24} {len(json.dumps(tool, separators=(',', ':'))):6d} bytes")
    print(f"{'tools/list total':<24} {total:6d} bytes ({len(dumped)} tools)")


if __name__ == "__main__":
    anyio.run(main)
