"""What building the server costs at start-up: only what the first `tools/list` needs (issue 12)."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver import server as sdk_server
from mcp.server.mcpserver.tools import Tool
from pydantic import Field, create_model

from gemini_interactions_mcp import app, cli
from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.operations import Operations
from gemini_interactions_mcp.tools._registry import ReusingToolManager
from gemini_interactions_mcp.transport import YOUNG_COLLECTION_THRESHOLD, stdio
from gemini_interactions_mcp.transport.http import DrainingServer

pytestmark = pytest.mark.anyio


def test_building_the_server_leaves_logging_to_us(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's `configure_logging` imports rich (about 20 ms of every start) for a handler that
    `logging.basicConfig` would drop anyway: building our server never calls it, and puts it back."""
    calls: list[str] = []

    def configure_logging(level: str = "INFO") -> None:
        calls.append(level)

    monkeypatch.setattr(sdk_server, "configure_logging", configure_logging)
    handlers = list(logging.getLogger().handlers)
    build_server(ServerSettings(state="memory"))
    assert calls == []
    assert logging.getLogger().handlers == handlers
    assert sdk_server.configure_logging is configure_logging  # restored for anyone else's MCPServer


async def test_a_second_server_reuses_every_tool_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second build derives no schema (tools/_registry.py) and lists exactly what the first lists."""
    first = build_server(ServerSettings(state="memory"))
    built: list[str] = []
    from_function = Tool.from_function

    def counted(fn: Callable[..., Any], **options: Any) -> Tool:
        built.append(fn.__name__)
        return from_function(fn, **options)

    monkeypatch.setattr(Tool, "from_function", counted)
    second = build_server(ServerSettings(state="memory"))
    assert built == []
    assert await listing(second) == await listing(first)
    calls = [t.fn for t in second._tool_manager.list_tools()]
    assert not {id(fn) for fn in calls} & {id(t.fn) for t in first._tool_manager.list_tools()}


async def listing(server: MCPServer[Any]) -> str:
    return json.dumps([t.model_dump(mode="json", by_alias=True) for t in await server.list_tools()])


Description = str
HINT = "where to start"
"""Names test tools' annotations refer to (evaluated in the module's globals, as the SDK does), changed
by tests as a monkeypatch would."""


def tool_with(default: int) -> Callable[..., Any]:
    """One `def`, like a `register` function's closures, with its default decided per call."""

    async def counter(start: Annotated[int, Field(description=HINT)] = default) -> int:
        return start

    return counter


def registered(fn: Callable[..., Any]) -> Tool:
    return ReusingToolManager().add_tool(fn, name="counter")


def test_a_registration_is_reused_only_for_the_same_evaluated_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = registered(tool_with(1))
    assert registered(tool_with(1)).fn_metadata.arg_model is first.fn_metadata.arg_model
    other_default = registered(tool_with(2))
    assert other_default.parameters != first.parameters
    with_a_title = ReusingToolManager().add_tool(tool_with(1), name="counter", title="Count")
    assert with_a_title.title == "Count"
    monkeypatch.setitem(globals(), "HINT", "the first number")
    other_description = registered(tool_with(1))
    assert other_description.fn_metadata.arg_model is not first.fn_metadata.arg_model
    assert other_description.parameters != first.parameters


def test_a_class_of_the_same_name_is_not_the_same_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """Annotations are evaluated at registration: a name bound to another class, even one with the same
    name (as a reloaded module gives), gives another schema."""

    async def echo(text: Description) -> str:
        return str(text)

    monkeypatch.setitem(globals(), "Description", create_model("Description", text=(str, ...)))
    first = registered(echo)
    monkeypatch.setitem(globals(), "Description", create_model("Description", words=(str, ...)))
    assert registered(echo).parameters != first.parameters


def test_a_stdio_start_builds_the_server_without_garbage_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector's passes over what start-up builds (all of it long-lived) cost about 100 ms before
    the first answer: it is paused until the server is built, then resumes with all that frozen."""
    seen: dict[str, Any] = {}
    channel = object()
    build = app.build_server

    def building(settings: ServerSettings) -> MCPServer[Any]:
        seen["collecting while building"] = gc.isenabled()
        return build(settings)

    def serve(server: MCPServer[Any], claimed: object) -> None:
        seen["serving"] = (claimed is channel, gc.isenabled(), gc.get_freeze_count() > 0)

    monkeypatch.setattr(stdio.StdioChannel, "claim", classmethod(lambda cls, folder=None: channel))
    monkeypatch.setattr(stdio, "serve_stdio", serve)
    monkeypatch.setattr(app, "build_server", building)
    monkeypatch.setattr(cli, "configure_logging", lambda *args: None)  # pytest's logging stays as it is
    threshold = gc.get_threshold()
    try:
        cli.main(["serve", "--state", "memory"])
        serving_threshold = gc.get_threshold()[0]
    finally:
        gc.unfreeze()
        gc.enable()
        gc.set_threshold(*threshold)
    assert seen == {"collecting while building": False, "serving": (True, True, True)}
    assert serving_threshold == YOUNG_COLLECTION_THRESHOLD


async def test_a_started_http_server_is_frozen_for_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a started HTTP server holds lives as long as the process: frozen, no full collection walks it
    again (40-60 ms each, every few hundred calls under load), and young collections come less often."""
    seen: dict[str, int] = {}

    async def started(server: uvicorn.Server, sockets: object = None) -> None:
        seen["frozen while starting"] = gc.get_freeze_count()

    monkeypatch.setattr(uvicorn.Server, "startup", started)
    threshold, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    try:
        await DrainingServer(uvicorn.Config(app=None), Operations()).startup()
        serving = (gc.get_freeze_count(), gc.get_threshold()[0])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert seen["frozen while starting"] == frozen_before
    assert serving[0] > frozen_before
    assert serving[1] == YOUNG_COLLECTION_THRESHOLD


def test_the_sdk_gets_a_tools_annotations_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK inspects a tool's signature three times: it gets the annotations evaluated once, on a twin
    of the function, and the tool still calls the function itself, left as it was."""
    received: list[Callable[..., Any]] = []
    from_function = Tool.from_function

    def spy(fn: Callable[..., Any], **options: Any) -> Tool:
        received.append(fn)
        return from_function(fn, **options)

    monkeypatch.setattr(Tool, "from_function", spy)
    counter = tool_with(3)
    tool = registered(counter)
    assert [type(hint) for hint in received[0].__annotations__.values()] != [str, str]
    assert [type(hint) for hint in counter.__annotations__.values()] == [str, str]
    assert tool.fn is counter


class Greeter:
    """A tool that is a callable object, not a function: registered without reuse, as the SDK would."""

    __name__ = "greet"

    async def __call__(self, name: str) -> str:
        return f"hello {name}"


def test_a_callable_object_is_registered_as_the_sdk_would() -> None:
    greeter = Greeter()
    tool = ReusingToolManager().add_tool(greeter)
    assert tool.fn is greeter
    assert tool.parameters == {
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "type": "object",
    }
