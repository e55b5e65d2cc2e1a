"""Limits, usage and cost through a real MCP client in both protocol eras, against the emulator."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.services.limits import LimitExceeded, Limits, Refusal
from gemini_interactions_mcp.state import StoreUnavailableError
from gemini_interactions_mcp.tools.limits import refusal
from tests.helpers.principals import ALICE, BOB, connect, http_server
from tests.helpers.results import data, text_of

from .conftest import requests_log

pytestmark = pytest.mark.anyio
ERAS = pytest.mark.parametrize("mode", ["auto", "legacy"])


@asynccontextmanager
async def serving(
    emulator: Starlette, folder: Path, mode: str, refused: list[Refusal] | None = None, **settings: Any
) -> AsyncIterator[Client]:
    config = ServerSettings(state="memory", allow_dirs=(folder,), **settings)
    server = build_server(
        config,
        transport=httpx2.ASGITransport(app=emulator),
        on_limit_refused=None if refused is None else refused.append,
    )
    async with Client(server, mode=mode, raise_exceptions=True) as client:
        yield client


async def usage_report(client: Client) -> dict[str, Any]:
    read = await client.read_resource("gemini://usage")
    return json.loads(read.contents[0].text)  # type: ignore[union-attr]


@ERAS
async def test_requests_over_the_rate_are_refused_with_when_to_retry(
    emulator: Starlette, tmp_path: Path, mode: str
) -> None:
    refused: list[Refusal] = []
    async with serving(emulator, tmp_path, mode, refused, requests_per_minute=2) as client:
        for _ in range(2):
            data(await client.call_tool("ask_gemini", {"prompt": "Hi"}))
        result = await client.call_tool("ask_gemini", {"prompt": "Hi again"})
        assert result.is_error
        assert "Rate limit reached: at most 2 requests per minute" in text_of(result)
        retry = re.search(r"Retry in (\d+) s\.", text_of(result))
        assert retry is not None and 0 < int(retry[1]) <= 30, "the next request is due 30 s after the first"
        assert result.structured_content == {
            "error": "limit_exceeded",
            "limit": "rate",
            "retry_after_seconds": int(retry[1]),
        }
        assert len(requests_log(emulator)) == 2, "a refused call sends nothing upstream"
        listed = await client.call_tool("list_conversations", {})
        assert not listed.is_error, "calls that start no Gemini work are not counted"
        assert (await usage_report(client))["limits"]["requests_per_minute"] == 2
    assert [(r.limit, r.tool) for r in refused] == [("rate", "ask_gemini")]
    assert refused[0].retry_after is not None and 0 < refused[0].retry_after <= 30


@ERAS
async def test_usd_budget_stops_new_work_once_today_is_spent(
    emulator: Starlette, tmp_path: Path, mode: str
) -> None:
    async with serving(emulator, tmp_path, mode, daily_usd_budget=0.000001) as client:
        first = data(await client.call_tool("ask_gemini", {"prompt": "Hello"}))
        assert first["usage"]["cost_usd"] > 0.000001
        refused = await client.call_tool("speak", {"text": "Hello"})
        assert refused.is_error and "Daily budget reached" in text_of(refused)
        assert "resets at 00:00 UTC" in text_of(refused)
        assert refused.structured_content and refused.structured_content["limit"] == "budget"
        report = await usage_report(client)
        assert report["limits"]["usd_left_today"] == 0


@ERAS
async def test_token_budget_counts_every_token_of_the_day(
    emulator: Starlette, tmp_path: Path, mode: str
) -> None:
    async with serving(emulator, tmp_path, mode, daily_token_budget=10) as client:
        data(await client.call_tool("ask_gemini", {"prompt": "Hello there, how are you today?"}))
        refused = await client.call_tool("generate_image", {"prompt": "a teal square"})
        assert refused.is_error and "Daily token budget reached" in text_of(refused)


@ERAS
async def test_running_jobs_limit_refuses_a_second_research_until_the_first_is_done(
    emulator: Starlette, tmp_path: Path, mode: str
) -> None:
    refused: list[Refusal] = []
    async with serving(emulator, tmp_path, mode, refused, max_running_jobs=1) as client:
        first = data(await client.call_tool("start_deep_research", {"query": "Teal"}))
        second = await client.call_tool("start_deep_research", {"query": "Cyan"})
        assert second.is_error
        assert "Too many background jobs: 1 of your 1 allowed are still running" in text_of(second)
        done = data(
            await client.call_tool(
                "poll_interaction", {"interaction_id": first["interaction_id"], "wait_seconds": 30}
            )
        )
        assert done["done"]
        data(await client.call_tool("start_deep_research", {"query": "Cyan"}))
        conversations = data(await client.call_tool("list_conversations", {}))
        assert len(conversations["conversations"]) == 2, "a refused start leaves no empty conversation"
    assert [r.limit for r in refused] == ["jobs"]


@ERAS
async def test_turns_report_tokens_and_cost_of_the_turn_and_the_conversation(
    emulator: Starlette, tmp_path: Path, mode: str
) -> None:
    async with serving(emulator, tmp_path, mode) as client:
        first = data(await client.call_tool("ask_gemini", {"prompt": "Hello", "conversation": "costs"}))
        second_result = await client.call_tool(
            "ask_gemini", {"prompt": "Search this", "conversation": "costs", "tools": ["google_search"]}
        )
        second = data(second_result)
        turn, total = second["usage"], second["conversation_usage"]
        assert turn["search_queries"] == 1, "the emulator's search turn ran one query"
        expected = (
            (turn["input_tokens"] + turn.get("tool_use_tokens", 0)) * 1.50
            + (turn["output_tokens"] + turn["thought_tokens"]) * 9.00
        ) / 1e6 + 0.014
        assert turn["cost_usd"] == pytest.approx(expected, abs=1e-6)
        assert total["cost_usd"] == pytest.approx(first["usage"]["cost_usd"] + turn["cost_usd"], abs=2e-6)
        assert total["total_tokens"] == first["usage"]["total_tokens"] + turn["total_tokens"]
        footer = next(
            line for line in text_of(second_result).splitlines() if line.startswith("[conversation")
        )
        assert f"{turn['total_tokens']:,} tokens · ~$" in footer and "(conversation ~$" in footer


@ERAS
async def test_a_research_job_reports_its_cost_and_the_day_is_recorded_by_model(
    emulator: Starlette, tmp_path: Path, mode: str
) -> None:
    async with serving(emulator, tmp_path, mode) as client:
        asked = data(await client.call_tool("ask_gemini", {"prompt": "Hello"}))
        started = data(await client.call_tool("start_deep_research", {"query": "Teal"}))
        polled = await client.call_tool(
            "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 30}
        )
        job = data(polled)
        assert job["usage"]["cost_usd"] == 3.0, "Deep Research: the upper end of Google's $1-3 per task"
        assert job["usage"]["search_queries"] > 0
        assert job["conversation_usage"]["cost_usd"] == 3.0
        assert "Usage: " in text_of(polled) and "~$3.00" in text_of(polled)
        report = await usage_report(client)
        today = report["today"]
        assert today["interactions"] == 2
        assert today["by_model"]["deep-research-preview-04-2026"]["cost_usd"] == 3.0
        flash = today["by_model"]["gemini-3.5-flash"]
        assert flash["total_tokens"] == asked["usage"]["total_tokens"]
        assert today["total"]["cost_usd"] == pytest.approx(3.0 + asked["usage"]["cost_usd"])
        assert report["last_30_days"]["total"] == today["total"]
        assert "estimate" in report["note"] and report["limits"] == {}


async def test_flex_tier_is_sent_on_every_create_and_halves_the_estimate(
    emulator: Starlette, tmp_path: Path
) -> None:
    async with serving(emulator, tmp_path, "auto") as client:
        standard = data(await client.call_tool("ask_gemini", {"prompt": "Same question"}))
    async with serving(emulator, tmp_path, "auto", service_tier="flex") as client:
        flex = data(await client.call_tool("ask_gemini", {"prompt": "Same question"}))
        data(await client.call_tool("start_deep_research", {"query": "Teal"}))
    bodies = [r["body"] for r in requests_log(emulator)]
    assert "service_tier" not in bodies[0]
    assert [b["service_tier"] for b in bodies[1:]] == ["flex", "flex"]
    assert flex["usage"]["total_tokens"] == standard["usage"]["total_tokens"]
    assert flex["usage"]["cost_usd"] == pytest.approx(standard["usage"]["cost_usd"] / 2, abs=1e-6)


async def test_usage_and_limits_are_per_principal_over_http(emulator_url: str, tmp_path: Path) -> None:
    with http_server(emulator_url, tmp_path, requests_per_minute=1) as server:
        async with connect(server, ALICE) as alice, connect(server, BOB, mode="legacy") as bob:
            data(await alice.call_tool("ask_gemini", {"prompt": "Alice's question"}))
            limited = await alice.call_tool("ask_gemini", {"prompt": "Again"})
            assert limited.is_error and "Rate limit reached" in text_of(limited)
            report = await usage_report(bob)
            assert report["principal"] == "bob"
            assert report["today"]["interactions"] == 0 and report["today"]["by_model"] == {}
            assert report["last_30_days"]["total"]["total_tokens"] == 0
            data(await bob.call_tool("ask_gemini", {"prompt": "Bob's own question"}))  # his own allowance
            mine = await usage_report(alice)
            assert mine["principal"] == "alice" and mine["today"]["interactions"] == 1


def test_a_refused_or_unchecked_call_is_a_tool_error_and_anything_else_is_not_the_gates_to_explain() -> None:
    refused = refusal(
        LimitExceeded("Rate limit reached.", Refusal(limit="rate", tool="ask_gemini", retry_after=1.2))
    )
    assert refused is not None and refused.is_error
    assert refused.structured_content == {
        "error": "limit_exceeded",
        "limit": "rate",
        "retry_after_seconds": 2,
    }
    unchecked = refusal(StoreUnavailableError("the disk is full"))
    assert unchecked is not None and unchecked.is_error and "the disk is full" in text_of(unchecked)
    assert refusal(RuntimeError("a bug")) is None
    assert Limits.meters("ask_gemini") and not Limits.meters("list_conversations") and not Limits.meters(None)
