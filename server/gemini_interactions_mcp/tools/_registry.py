"""Each tool's registration is built once per process and reused by every later `build_server`.

`Tool.from_function` derives a pydantic argument model, an output model and their JSON schemas from a
tool function's signature: about 50 ms for our tools at every `build_server`, which every test that
builds a server pays. Each build defines its tool functions afresh (closures of the `register`
functions), but one `def` gives one schema as long as its signature evaluates to the same thing. So a
registration is reused only when the function's code, name and docstring, the registration options
and the evaluated signature are the same (`_shape`: each description, constraint, literal and default
value by its text, every class and function by identity). Anything else is built afresh, as the SDK
would, from the annotations evaluated once here (`_evaluated`): a first build, the only one of a
server process, costs about 15 ms less than the SDK's own way.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Hashable
from types import FunctionType
from typing import Any, get_args, get_origin

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool, ToolManager
from mcp.types import Icon, ToolAnnotations

from gemini_interactions_mcp.lean_sdk import LeanToolMetadata
from gemini_interactions_mcp.tools._schema import compact_tool

log = logging.getLogger(__name__)

_BUILT: dict[Hashable, Tool] = {}
"""Compacted registrations by `registration_key`; never mutated once stored (servers get copies)."""


def _shape(value: Any) -> Hashable:
    """What an annotation or a default contributes to a registration: classes and functions by identity,
    generics and `Annotated` by their parts, markers without a text of their own (the SDK's `Resolve`)
    by their attributes, anything else by its text (a `Field`'s holds its description and bounds)."""
    if isinstance(value, type | FunctionType):
        return value
    origin = get_origin(value)
    if origin is not None:
        return _shape(origin), tuple(_shape(part) for part in get_args(value))
    text = repr(value)
    if text == object.__repr__(value) and hasattr(value, "__dict__"):  # a text that is only an address
        return type(value), tuple((name, _shape(part)) for name, part in sorted(vars(value).items()))
    return type(value), text


def registration_key(fn: FunctionType, annotations: dict[str, Any], options: dict[str, Any]) -> Hashable:
    """What a tool's registration depends on (see the module docstring): `annotations` are `fn`'s,
    evaluated; `options` the keyword arguments of `ToolManager.add_tool`. (The code fixes the
    parameters' names and kinds.)"""
    return (
        fn.__code__,
        fn.__name__,
        fn.__doc__,
        tuple((name, _shape(value)) for name, value in annotations.items()),
        tuple(_shape(value) for value in fn.__defaults__ or ()),
        tuple((name, _shape(value)) for name, value in sorted((fn.__kwdefaults__ or {}).items())),
        tuple(sorted((name, repr(value)) for name, value in options.items())),
    )


def _evaluated(fn: FunctionType, annotations: dict[str, Any]) -> FunctionType:
    """A twin of `fn` whose annotations are evaluated already: the SDK inspects a tool's signature three
    times, and would evaluate every annotation (text, under `from __future__ import annotations`) each
    time. (A twin, since `fn` itself must evaluate them again if it is registered again.)"""
    twin = FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    twin.__kwdefaults__ = fn.__kwdefaults__
    twin.__qualname__ = fn.__qualname__
    twin.__module__ = fn.__module__
    twin.__doc__ = fn.__doc__
    twin.__annotations__ = annotations
    return twin


def _built(fn: Callable[..., Any], options: dict[str, Any]) -> Tool:
    tool = Tool.from_function(fn, **options)
    compact_tool(tool)
    tool.fn_metadata = LeanToolMetadata.of(tool.fn_metadata)
    return tool


class ReusingToolManager(ToolManager):
    """The SDK's tool manager, building each registration once per process (and compacting its schemas,
    tools/_schema.py)."""

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> Tool:
        options: dict[str, Any] = {
            "name": name,
            "title": title,
            "description": description,
            "annotations": annotations,
            "icons": icons,
            "meta": meta,
            "structured_output": structured_output,
        }
        if not isinstance(fn, FunctionType):  # a callable object: what it depends on is unknown
            return self._install(_built(fn, options), fn)
        hints = inspect.get_annotations(fn, eval_str=True)
        key = registration_key(fn, hints, options)
        built = _BUILT.get(key)
        if built is None:
            built = _BUILT[key] = _built(_evaluated(fn, hints), options)
        return self._install(built, fn)

    def _install(self, built: Tool, fn: Callable[..., Any]) -> Tool:
        """A copy of `built` calling `fn`, registered unless a tool of its name is (as the SDK does)."""
        existing = self.get_tool(built.name)
        if existing is not None:  # the first registration stays
            if self.warn_on_duplicate_tools:
                log.warning("Tool already exists: %s", built.name)
            return existing
        tool = built.model_copy(update={"fn": fn, "fn_metadata": built.fn_metadata.model_copy()})
        self._tools[tool.name] = tool
        return tool


def reuse_tool_registrations(server: MCPServer[Any]) -> None:
    """Register `server`'s tools through `ReusingToolManager` (before any tool is registered)."""
    if server._tool_manager.list_tools():  # the SDK has no public hook for this
        raise RuntimeError("reuse_tool_registrations must run before any tool is registered")
    server._tool_manager = ReusingToolManager(server._tool_manager.warn_on_duplicate_tools)
