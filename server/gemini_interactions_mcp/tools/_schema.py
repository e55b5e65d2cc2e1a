"""Smaller tool schemas: every byte of `tools/list` sits in the calling model's context on every turn.

Pydantic's schemas carry a `title` on every property and spell an optional parameter as
`anyOf: [T, null]` with `default: null`. Neither helps a model call the tool: arguments are validated
by the tool's own pydantic model (which still accepts an explicit null), never against this schema, so
the titles go and optional parameters are written as plain `T`. Defaults that say nothing go too: an
`additionalProperties: true` and the `default` of a `const`.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

NULL = {"type": "null"}


def compact(schema: Any) -> Any:
    if isinstance(schema, list):
        return [compact(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: compact(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    if out.get("additionalProperties") is True:  # the default: any extra key is allowed
        del out["additionalProperties"]
    if "const" in out and out.get("default", ...) == out["const"]:  # a constant needs no default
        del out["default"]
    options = out.get("anyOf")
    if isinstance(options, list) and NULL in options and out.get("default", ...) is None:
        rest = [o for o in options if o != NULL]
        del out["default"]
        if len(rest) == 1:
            del out["anyOf"]
            out = {**rest[0], **out}
        else:
            out["anyOf"] = rest
    return out


def compact_tool_schemas(server: MCPServer[Any]) -> None:
    """Rewrite every registered tool's input schema in place (call after registering the tools)."""
    for tool in server._tool_manager.list_tools():  # the SDK has no public hook for this
        tool.parameters = compact(tool.parameters)
