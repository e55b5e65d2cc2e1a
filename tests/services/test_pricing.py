"""Cost arithmetic against the shipped catalog's prices, and the catalog's price data itself."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gemini_interactions_mcp.gemini import Interaction
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.metering import usage_totals
from gemini_interactions_mcp.services.pricing import Metered, ModelPrice, RunPrice, estimate

CATALOG = Catalog.load()
PRICING = CATALOG.data.pricing
assert PRICING is not None


def cost(model: str, **counts: Any) -> float | None:
    metered = Metered(
        input_by_modality=counts.pop("input_by_modality", {}),
        output_by_modality=counts.pop("output_by_modality", {}),
        **counts,
    )
    assert PRICING is not None
    return estimate(CATALOG.price_of(model), metered, PRICING)


def test_flash_charges_input_and_output_with_thinking_at_the_output_rate() -> None:
    # $1.50 / $9.00 per 1M tokens: 1,000 in, 500 out + 200 thinking.
    flash = cost("gemini-3.5-flash", input_tokens=1000, output_tokens=500, thought_tokens=200)
    assert flash == pytest.approx((1000 * 1.50 + 700 * 9.00) / 1e6)


def test_tool_use_prompt_tokens_are_charged_as_input() -> None:
    plain = cost("gemini-3.5-flash", input_tokens=1000)
    with_tools = cost("gemini-3.5-flash", input_tokens=1000, tool_use_tokens=400)
    assert with_tools == pytest.approx(1400 * 1.50 / 1e6) and plain == pytest.approx(1000 * 1.50 / 1e6)


def test_pro_moves_to_long_context_rates_above_200k_input_tokens() -> None:
    short = cost("gemini-3.1-pro-preview", input_tokens=200_000, output_tokens=1000)
    long = cost("gemini-3.1-pro-preview", input_tokens=200_001, output_tokens=1000)
    assert short == pytest.approx((200_000 * 2.00 + 1000 * 12.00) / 1e6)
    assert long == pytest.approx((200_001 * 4.00 + 1000 * 18.00) / 1e6)


def test_flash_lite_audio_input_has_its_own_rate() -> None:
    mixed = cost("gemini-3.1-flash-lite", input_tokens=3000, input_by_modality={"text": 1000, "audio": 2000})
    assert mixed == pytest.approx((1000 * 0.25 + 2000 * 0.50) / 1e6)


@pytest.mark.parametrize(
    ("tokens", "documented"), [(747, 0.045), (1120, 0.067), (1680, 0.101), (2520, 0.151)]
)
def test_flash_image_output_matches_the_documented_price_per_image(tokens: int, documented: float) -> None:
    """$60 per 1M image tokens reproduces Google's per-image ladder (512 to 4K) within half a cent."""
    image = cost("gemini-3.1-flash-image", output_tokens=tokens, output_by_modality={"image": tokens})
    assert image == pytest.approx(documented, abs=0.0005)


def test_pro_image_output_matches_the_documented_price_per_image() -> None:
    one = cost("gemini-3-pro-image", output_tokens=1120 + 10, output_by_modality={"image": 1120, "text": 10})
    assert one == pytest.approx((1120 * 120.00 + 10 * 12.00) / 1e6)
    assert one == pytest.approx(0.134, abs=0.001)  # "$0.134 per 1K/2K image"


def test_speech_output_is_audio_at_twenty_dollars() -> None:
    spoken = cost(
        "gemini-3.1-flash-tts-preview", input_tokens=100, output_tokens=500, output_by_modality={"audio": 500}
    )
    assert spoken == pytest.approx((100 * 1.00 + 500 * 20.00) / 1e6)


def test_search_queries_are_charged_per_query() -> None:
    base = cost("gemini-3.5-flash", input_tokens=100)
    searched = cost("gemini-3.5-flash", input_tokens=100, search_queries=3)
    assert searched is not None and base is not None
    assert searched - base == pytest.approx(3 * 14.00 / 1000)


def test_service_tiers_scale_the_price() -> None:
    counts: dict[str, Any] = {"input_tokens": 10_000, "output_tokens": 2_000, "search_queries": 1}
    standard = cost("gemini-3.5-flash", **counts)
    assert standard is not None
    assert cost("gemini-3.5-flash", **counts, service_tier="flex") == pytest.approx(standard * 0.5)
    assert cost("gemini-3.5-flash", **counts, service_tier="priority") == pytest.approx(standard * 2.0)
    assert cost("gemini-3.5-flash", **counts, service_tier="deferred") == pytest.approx(standard)


def test_gemma_is_free_and_unknown_models_are_not_estimated() -> None:
    assert cost("gemma-4-31b-it", input_tokens=10_000, output_tokens=10_000) == 0.0
    assert cost("some-future-model", input_tokens=10) is None
    assert cost("antigravity-preview-05-2026", input_tokens=10) is None


def test_deep_research_counts_the_upper_end_of_a_completed_run() -> None:
    assert cost("deep-research-preview-04-2026", input_tokens=250_000) == 3.0
    assert cost("max", input_tokens=900_000) == 7.0
    assert cost("deep-research-preview-04-2026", completed=False) is None
    assert cost("deep-research-preview-04-2026", planning=True) is None


def test_every_catalog_price_says_where_and_when_it_was_taken() -> None:
    priced = [m.price for m in CATALOG.data.models] + [a.price for a in CATALOG.data.agents]
    for price in priced:
        if price is None:
            continue
        assert price.source.strip() and re.fullmatch(r"20\d\d-\d\d(-\d\d)?", price.taken)
    assert all(isinstance(m.price, ModelPrice) for m in CATALOG.data.models), "every model has a price"
    research = [a for a in CATALOG.data.agents if a.kind == "deep-research"]
    assert research and all(isinstance(a.price, RunPrice) for a in research)
    assert PRICING is not None and PRICING.search.source and PRICING.tiers.source


def interaction(**fields: Any) -> Interaction:
    return Interaction.model_validate({"id": "v1_x", "status": "completed", **fields})


def test_usage_totals_report_counts_and_cost_of_one_interaction() -> None:
    wire = {
        "total_input_tokens": 22,
        "total_output_tokens": 973,
        "total_thought_tokens": 249,
        "total_tool_use_tokens": 129,
        "total_cached_tokens": 0,
        "total_tokens": 1373,
        "grounding_tool_count": [{"type": "google_search", "count": 2}, {"type": "retrieval", "count": 5}],
    }
    counts = usage_totals(interaction(model="gemini-3.5-flash", usage=wire))
    expected = ((22 + 129) * 1.50 + (973 + 249) * 9.00) / 1e6 + 2 * 0.014
    assert counts == {
        "input_tokens": 22,
        "output_tokens": 973,
        "thought_tokens": 249,
        "total_tokens": 1373,
        "tool_use_tokens": 129,
        "search_queries": 2,
        "cost_usd": round(expected, 6),
    }


def test_usage_totals_price_the_echoed_tier_and_the_named_model() -> None:
    wire = {"total_input_tokens": 1_000_000, "total_tokens": 1_000_000}
    flex = usage_totals(interaction(usage=wire, service_tier="flex"), model="gemini-3.5-flash")
    assert flex["cost_usd"] == pytest.approx(0.75)
    unknown = usage_totals(interaction(agent="antigravity-preview-05-2026", usage=wire))
    assert unknown["unpriced"] == 1 and "cost_usd" not in unknown
    assert usage_totals(interaction(model="gemini-3.5-flash")) == {}, "no usage reported, nothing counted"


def test_a_collaborative_plan_is_not_counted_as_a_research_run() -> None:
    wire = {"total_input_tokens": 500, "total_tokens": 800}
    plan = interaction(
        agent="deep-research-preview-04-2026",
        agent_config={"type": "deep-research", "collaborative_planning": True},
        usage=wire,
    )
    run = interaction(
        agent="deep-research-preview-04-2026", agent_config={"type": "deep-research"}, usage=wire
    )
    assert usage_totals(plan)["unpriced"] == 1
    assert usage_totals(run)["cost_usd"] == 3.0


def test_the_models_page_shows_each_price() -> None:
    page = CATALOG.render_markdown()
    assert "(default): " in page and "[$1.50 in / $9.00 out per 1M tokens]" in page
    assert "($4.00/$18.00 over 200k input)" in page and "(image out $60.00)" in page
    assert "`gemma-4-31b-it`: Open-weights" in page and "[free]" in page
    assert "[~$1-3 per task]" in page and "[~$3-7 per task]" in page
