"""Deep Research reports in full: every section in order, charts saved and linked where they stood."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from mcp import Client
from mcp.types import ImageContent, ResourceLink, TextResourceContents
from starlette.applications import Starlette

from tests.helpers.media import file_bytes, png_size
from tests.helpers.results import data, text_of

from .conftest import requests_log

pytestmark = pytest.mark.anyio
SECTIONS = ("# Research report", "## Summary", "### Background", "### Recent developments", "## Sources")


async def research(client: Client, query: str, **extra: Any) -> tuple[dict[str, Any], Any]:
    started = data(await client.call_tool("start_deep_research", {"query": query, **extra}))
    while True:
        polled = await client.call_tool(
            "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 10}
        )
        if data(polled)["done"]:
            return started, polled


async def test_a_report_with_two_charts_keeps_every_section_and_both_charts(
    client: Client, emulator: Starlette
) -> None:
    started, polled = await research(client, "Bicycle sales since 2000, with charts")
    [body] = [r["body"] for r in requests_log(emulator)]
    assert body["agent_config"]["visualization"] == "auto"
    report = text_of(polled)
    positions = [report.index(s) for s in SECTIONS]
    assert positions == sorted(positions), "all sections, in order"
    charts = [report.index("![chart 1](gemini://media/"), report.index("![chart 2](gemini://media/")]
    assert positions[2] < charts[0] < positions[3] < charts[1] < positions[4], "charts where they stood"
    media = data(polled)
    previews = [b for b in polled.content if isinstance(b, ImageContent)]
    links = [b for b in polled.content if isinstance(b, ResourceLink) and b.uri.startswith("gemini://media/")]
    assert len(previews) == 2 and len(links) == 2 and media["status"] == "completed"
    for link in links:
        assert link.uri in report and link.mime_type == "image/png"
        saved = report.split(link.uri, 1)[1].split("`")[1]
        assert png_size(file_bytes(saved)) == (640, 400)
    (resource,) = (await client.read_resource(started["resource"])).contents
    assert isinstance(resource, TextResourceContents) and resource.text.strip() in report
    for preview in previews:
        assert png_size(base64.b64decode(preview.data)) == (640, 400)


async def test_visualization_off_and_unasked_reports_have_no_charts(
    client: Client, emulator: Starlette
) -> None:
    _, off = await research(client, "Bicycle sales since 2000, with charts", visualization="off")
    _, plain = await research(client, "Bicycle sales since 2000")
    bodies = [r["body"] for r in requests_log(emulator)]
    assert [b["agent_config"]["visualization"] for b in bodies] == ["off", "auto"]
    for polled in (off, plain):
        assert "gemini://media/" not in text_of(polled)
        assert not [b for b in polled.content if isinstance(b, ImageContent)]
        assert all(s in text_of(polled) for s in SECTIONS)
