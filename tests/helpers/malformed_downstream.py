"""A downstream MCP server that speaks JSON-RPC by hand and answers every tool call with a result the MCP
client rejects (content not a list), as a broken or hostile server would. Run it as a script (stdio)."""

from __future__ import annotations

import json
import sys
from typing import Any

TOOL = {"name": "broken", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}


def answer(method: str, params: dict[str, Any]) -> dict[str, Any]:
    if method == "initialize":
        info = {"name": "malformed", "version": "0"}
        return {
            "protocolVersion": params["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": info,
        }
    if method == "tools/list":
        return {"tools": [TOOL]}
    if method == "tools/call":
        return {"content": "not a list", "isError": "maybe"}
    return {}


if __name__ == "__main__":
    for line in sys.stdin:
        message = json.loads(line)
        if "id" in message:
            result = answer(message["method"], message.get("params") or {})
            print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
