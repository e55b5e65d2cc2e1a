"""Which tools the model calls this turn: client-side functions and remote MCP servers.

Deterministic, so tests can drive a function-calling loop:
- `[[call NAME {json arguments}]]` in the latest user input calls NAME with exactly those arguments;
  several directives are parallel calls. NAME is a declared `function`, or a tool of a declared
  `mcp_server` (bare, or `SERVER.TOOL`); anything else is a call to an undeclared tool, which ends the
  turn `failed`, as the service ends a turn whose model called a tool it was not given.
- With no directive in the prompt, directives in the text of the input's function results are
  followed: a tool's result can tell the model to call a tool again, which drives a loop of several
  rounds (a request that carries only results would otherwise be answered in text).
- With no directive at all, a declared function whose name appears in the prompt is called with
  arguments generated from its schema.
Remote MCP tools run inside the interaction (an `mcp_server_tool_call` step and its result); functions
stop it in `requires_action` for the client to answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import bad_request
from ..history import History
from ..ids import call_id
from ..plan import JSON, Run, sequential
from ..schema_gen import instance
from ..text import function_results, parse_calls, result_text


@dataclass
class Calls:
    """What the model does with tools this turn, and the prompt without the directives."""

    prompt: str
    functions: list[JSON] = field(default_factory=list)
    """`function_call` steps: the turn ends in `requires_action`."""
    mcp_steps: list[JSON] = field(default_factory=list)
    """`mcp_server_tool_call` / `mcp_server_tool_result` pairs, run server-side."""
    mcp_results: list[str] = field(default_factory=list)
    """One line per MCP result, for the answer."""
    undeclared: list[str] = field(default_factory=list)


def plan(tools: list[JSON], prompt: str, input_steps: Iterable[JSON] = ()) -> Calls:
    """The calls of this turn: the prompt's directives, else those in the results of `input_steps`."""
    try:
        directives, prompt = parse_calls(prompt)
        if not directives:
            results = [result_text(r.get("result")) for r in function_results(input_steps)]
            directives = [d for text in results for d in parse_calls(text)[0]]
    except ValueError as err:
        raise bad_request(f"Invalid directive in the input: {err}.") from None
    calls = Calls(prompt)
    if not directives:
        calls.functions = _named_in_prompt(tools, prompt)
        return calls
    functions = {t["name"]: t for t in tools if t.get("type") == "function"}
    for name, arguments in directives:
        if name in functions:
            calls.functions.append(_function_call(name, arguments))
        elif (server := _mcp_server(tools, name)) is not None:
            _call_mcp(calls, server, name.removeprefix(f"{server.get('name')}."), arguments)
        else:
            calls.undeclared.append(name)
    return calls


def _function_call(name: str, arguments: dict[str, Any]) -> JSON:
    return {"type": "function_call", "id": call_id(), "name": name, "arguments": arguments}


def _named_in_prompt(tools: list[JSON], prompt: str) -> list[JSON]:
    lowered = prompt.lower()
    return [
        _function_call(tool["name"], instance(tool.get("parameters") or {"type": "object"}))
        for tool in tools
        if prompt and tool.get("type") == "function" and tool["name"].lower() in lowered
    ]


def _mcp_server(tools: list[JSON], name: str) -> JSON | None:
    """The declared MCP server that offers tool `name` (or `SERVER.TOOL`): one whose `allowed_tools`
    list it, or one that lists none (it may then be any of the server's tools)."""
    for tool in tools:
        if tool.get("type") != "mcp_server":
            continue
        server = str(tool.get("name", ""))
        bare = name.removeprefix(f"{server}.") if server else name
        allowed = [t for entry in tool.get("allowed_tools") or [] for t in entry.get("tools") or []]
        if bare in allowed or (not allowed and (bare != name or _only_server(tools))):
            return tool
    return None


def _only_server(tools: list[JSON]) -> bool:
    return sum(1 for t in tools if t.get("type") == "mcp_server") == 1


def _call_mcp(calls: Calls, server: JSON, tool: str, arguments: dict[str, Any]) -> None:
    """The call and a deterministic result (the emulator reaches no real server)."""
    server_name = str(server.get("name", ""))
    call = call_id()
    text = f"{tool} on {server_name} ran with {json.dumps(arguments, sort_keys=True)}"
    common = {"name": tool, "server_name": server_name}
    calls.mcp_steps += [
        {"type": "mcp_server_tool_call", "id": call, **common, "arguments": arguments},
        {
            "type": "mcp_server_tool_result",
            "call_id": call,
            **common,
            "result": [{"type": "text", "text": text}],
        },
    ]
    calls.mcp_results.append(f"The MCP tool {server_name}.{tool} returned: {text}")


def undeclared_run(steps: list[JSON], names: list[str], duration: float, run_usage: JSON) -> Run:
    """The model called a tool it was not given: the turn fails, with the reason on its output."""
    listed = ", ".join(f"'{name}'" for name in names)
    error = {
        "code": 3,
        "message": f"The model called {listed}, which is not a declared tool (UNEXPECTED_TOOL_CALL).",
    }
    steps = [*steps, {"type": "model_output", "error": error}]
    return Run(sequential(steps, duration), duration, "failed", run_usage)


def result_lines(history: History, input_steps: list[JSON]) -> list[str]:
    """One line per `function_result` of the input, quoting it (tests check that the loop ran)."""
    lines = []
    for result in function_results(input_steps):
        call = result["call_id"]
        name = result.get("name") or history.call_name(call) or _call_name(input_steps, call) or "function"
        lines.append(f"The function {name} returned: {result_text(result.get('result'))}")
    return lines


def _call_name(steps: list[JSON], call: str) -> str | None:
    for step in steps:
        if step.get("type") == "function_call" and step.get("id") == call:
            name = step.get("name")
            return name if isinstance(name, str) else None
    return None
