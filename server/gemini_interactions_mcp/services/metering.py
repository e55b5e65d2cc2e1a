"""What one finished interaction used: its token counts, search queries and estimated cost in USD.

Every turn and every job reports this (`usage` in results); conversations and the daily ledger sum it.
The price comes from the catalog (the model the interaction names, at the service tier it echoes), and
the arithmetic from `pricing.py`. An interaction without a known price counts as `unpriced` instead of
costing a made-up amount.
"""

from __future__ import annotations

from collections.abc import Sequence

from gemini_interactions_mcp.gemini import Interaction
from gemini_interactions_mcp.gemini.models import GroundingToolCount, ModalityTokens
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.pricing import Metered, estimate
from gemini_interactions_mcp.state import UsageCounts

COST_DIGITS = 6
"""Costs are kept to the micro-dollar: finer is noise next to an estimate."""
SEARCH = "google_search"


def _by_modality(counts: Sequence[ModalityTokens] | None) -> dict[str, int]:
    summed: dict[str, int] = {}
    for entry in counts or ():
        if entry.modality and entry.tokens:
            summed[entry.modality] = summed.get(entry.modality, 0) + entry.tokens
    return summed


def _searches(counts: Sequence[GroundingToolCount] | None) -> int:
    return sum(entry.count or 0 for entry in counts or () if entry.type == SEARCH)


def usage_totals(
    interaction: Interaction, *, model: str | None = None, catalog: Catalog | None = None
) -> UsageCounts:
    """The counts worth showing and summing, with `cost_usd` (or `unpriced: 1` when no price is known).

    `model` names what ran when the interaction itself does not (a stream's summary may omit it).
    Counters the API did not report, and the extra ones that are zero, are left out.
    """
    usage = interaction.usage
    if usage is None:
        return {}
    counts: UsageCounts = {}
    for key, value in (
        ("input_tokens", usage.total_input_tokens),
        ("output_tokens", usage.total_output_tokens),
        ("thought_tokens", usage.total_thought_tokens),
        ("total_tokens", usage.total_tokens),
    ):
        if value is not None:
            counts[key] = int(value)
    searches = _searches(usage.grounding_tool_count)
    for key, value in (
        ("cached_tokens", usage.total_cached_tokens),
        ("tool_use_tokens", usage.total_tool_use_tokens),
        ("search_queries", searches),
    ):
        if value:
            counts[key] = value
    catalog = catalog or Catalog.load()
    pricing = catalog.data.pricing
    ran = interaction.model or interaction.agent or model
    price = catalog.price_of(ran) if ran and pricing is not None else None
    cost = None
    if price is not None and pricing is not None:
        metered = Metered(
            input_by_modality=_by_modality(usage.input_tokens_by_modality),
            output_by_modality=_by_modality(usage.output_tokens_by_modality),
            input_tokens=usage.total_input_tokens or 0,
            output_tokens=usage.total_output_tokens or 0,
            thought_tokens=usage.total_thought_tokens or 0,
            tool_use_tokens=usage.total_tool_use_tokens or 0,
            search_queries=searches,
            service_tier=interaction.service_tier or "standard",
            completed=interaction.status == "completed",
            planning=bool((interaction.agent_config or {}).get("collaborative_planning")),
        )
        cost = estimate(price, metered, pricing)
    if cost is None:
        counts["unpriced"] = 1
    else:
        counts["cost_usd"] = round(cost, COST_DIGITS)
    return counts
