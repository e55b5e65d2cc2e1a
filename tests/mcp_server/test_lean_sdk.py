"""The SDK's per-call defaults this server trims (lean_sdk.py): tracing only while a tracer provider is
installed, `Mcp-Param-*` checks only against schemas that declare `x-mcp-header`."""

from __future__ import annotations

from typing import Annotated, Any

import httpx2
import pytest
from mcp import Client
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.shared.inbound import validate_mcp_param_headers
from opentelemetry import trace
from pydantic import Field
from starlette.applications import Starlette

from gemini_interactions_mcp import lean_sdk
from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings

pytestmark = pytest.mark.anyio


class Recording:
    """A middleware that notes each method it sees, then passes the call on."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        self.seen.append(ctx.method)
        return await call_next(ctx)


class InstalledProvider(trace.TracerProvider):
    """Stands for a real provider (an exporter's): anything but the API's no-op ones."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return trace.NoOpTracer()


def traced_layer(settings: ServerSettings, emulator: Starlette) -> tuple[Any, lean_sdk.TracedWhileInstalled]:
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    [layer] = [m for m in server.middleware if isinstance(m, lean_sdk.TracedWhileInstalled)]
    return server, layer


def test_the_sdk_tracing_middleware_is_the_one_wrapped(settings: ServerSettings, emulator: Starlette) -> None:
    """Fails if the SDK stops shipping its tracing middleware under this name: then nothing is trimmed."""
    _, layer = traced_layer(settings, emulator)
    assert type(layer.traced).__name__ == "OpenTelemetryMiddleware"


async def test_tracing_runs_only_while_a_provider_is_installed(
    settings: ServerSettings, emulator: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, layer = traced_layer(settings, emulator)
    spy = Recording()
    layer.traced = spy
    async with Client(server) as client:
        assert not (await client.call_tool("list_conversations", {})).is_error
        assert spy.seen == []
        monkeypatch.setattr(lean_sdk.trace, "get_tracer_provider", InstalledProvider)
        assert not (await client.call_tool("list_conversations", {})).is_error
    assert spy.seen == ["tools/call"]


def test_schemas_without_annotations_have_nothing_to_check(
    settings: ServerSettings, emulator: Starlette
) -> None:
    """Every tool here declares no x-mcp-header: the SDK's check finds nothing to refuse on any of them
    (a stray Mcp-Param header included), so the lookup may answer None and spare the walk."""
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    lookup = server._lowlevel_server.get_tool_input_schema
    assert lookup is not None
    for tool in server._tool_manager.list_tools():
        stray = {"mcp-param-region": "eu", "mcp-param-prompt": "other"}
        assert validate_mcp_param_headers(tool.parameters, {"prompt": "hi"}, stray) is None
        assert lookup(tool.name) is None
    assert lookup("no_such_tool") is None


def test_a_schema_with_an_annotation_is_still_checked(settings: ServerSettings, emulator: Starlette) -> None:
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))

    @server.tool()
    def regional(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]) -> str:
        return region

    lookup = server._lowlevel_server.get_tool_input_schema
    assert lookup is not None
    schema = lookup("regional")
    assert schema is not None and schema["properties"]["region"]["x-mcp-header"] == "Region"
    refused = validate_mcp_param_headers(schema, {"region": "eu"}, {"mcp-param-region": "us"})
    assert refused is not None and "does not match" in refused.message


def test_a_tool_registered_again_is_looked_at_afresh() -> None:
    schemas: dict[str, dict[str, Any]] = {"t": {"type": "object", "properties": {"a": {"type": "string"}}}}
    lookup = lean_sdk.annotated_schemas_only(schemas.get)
    assert lookup("t") is None
    schemas["t"] = {"type": "object", "properties": {"a": {"type": "string", "x-mcp-header": "A"}}}
    assert lookup("t") is schemas["t"]


TEXTS = [
    "conv_abc",
    "notes",
    "null",
    " \n null",
    "[1, 2]",
    '  {"a": 1}',
    "[",
    "{oops",
    "true",
    "false",
    "12",
    "1.5",
    "NaN",
    '"quoted"',
    "",
    "\ufeff[1]",
    "\u00a0[1]",
    "[" * 100_000,
]
"""Strings a client may send: ones that parse to what the SDK keeps, to what it leaves, and to nothing."""


def test_every_tool_has_the_lean_metadata(settings: ServerSettings, emulator: Starlette) -> None:
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    tools = server._tool_manager.list_tools()
    assert tools and all(isinstance(tool.fn_metadata, lean_sdk.LeanToolMetadata) for tool in tools)


def test_arguments_are_pre_parsed_and_validated_as_the_sdk_does(
    settings: ServerSettings, emulator: Starlette
) -> None:
    """Every string, given for every parameter of every tool (plus one with an alias), comes out as the
    SDK's own FuncMetadata makes it."""
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))

    @server.tool()
    def aliased(json: Annotated[list[str] | None, Field(description="shadows BaseModel.json")] = None) -> str:
        return str(json)

    for tool in server._tool_manager.list_tools():
        lean = tool.fn_metadata
        sdk = FuncMetadata(**{name: getattr(lean, name) for name in FuncMetadata.model_fields})
        keys = {
            key for name, info in lean.arg_model.model_fields.items() for key in (name, info.alias) if key
        }
        for key in keys:
            for text in TEXTS:
                data = {key: text, "not_a_parameter": text}
                assert lean.pre_parse_json(data) == sdk.pre_parse_json(data), (tool.name, key, text[:10])
    aliased_meta = server._tool_manager.get_tool("aliased")
    assert aliased_meta is not None
    assert any(info.alias == "json" for info in aliased_meta.fn_metadata.arg_model.model_fields.values())
    sdk = FuncMetadata(
        **{name: getattr(aliased_meta.fn_metadata, name) for name in FuncMetadata.model_fields}
    )
    for given in ({"json": '["a", "b"]'}, {"json": None}, {}):
        assert aliased_meta.fn_metadata.validate_arguments(given) == sdk.validate_arguments(given)
    assert aliased_meta.fn_metadata.validate_arguments({"json": '["a"]'}) == {"json": ["a"]}


async def test_a_call_gets_the_arguments_the_sdk_would_give(
    settings: ServerSettings, emulator: Starlette
) -> None:
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))

    @server.tool()
    def echo(items: list[str] | None = None, name: str | None = None, text: str = "") -> str:
        return repr((items, name, text))

    async with Client(server) as client:
        for arguments, seen in [
            ({"items": '["a", "b"]', "name": "null", "text": "null"}, (["a", "b"], None, "null")),
            ({"name": "conv_x", "text": "[1]"}, (None, "conv_x", "[1]")),
            ({"name": "nothing"}, (None, "nothing", "")),
        ]:
            result = await client.call_tool("echo", arguments)
            assert not result.is_error
            assert result.content[0].text == repr(seen)  # type: ignore[union-attr]


async def test_the_output_validator_is_the_sdks_own(settings: ServerSettings, emulator: Starlette) -> None:
    """Read where the SDK keeps it (fails if it stops keeping it there: the lookup would be slow again)."""
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server) as client:
        assert not (await client.call_tool("ask_gemini", {"prompt": "hi"})).is_error
    tool = server._tool_manager.get_tool("ask_gemini")
    assert tool is not None
    meta = tool.fn_metadata
    kept = (meta.__pydantic_private__ or {})[lean_sdk.OUTPUT_ADAPTER]
    assert kept[0] is meta.output_model
    assert meta._output_adapter(meta.output_model) is kept[1]
    assert FuncMetadata._output_adapter(meta, meta.output_model) is kept[1]
