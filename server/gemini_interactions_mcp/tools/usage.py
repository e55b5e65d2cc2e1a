"""The caller's usage as a resource (`gemini://usage`), and the one-line cost summary results carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server.mcpserver import MCPServer

from gemini_interactions_mcp.tools._common import principal
from gemini_interactions_mcp.tools._wiring import LatestWiring

USAGE_URI = "gemini://usage"


def usd(amount: float) -> str:
    """Dollars to the cent, or to a hundredth of a cent below one cent (a turn often costs less)."""
    return f"${amount:.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"


def cost_text(usage: Mapping[str, int | float]) -> str:
    """ "~$0.0123", or what is known when some interaction had no known price."""
    cost = float(usage.get("cost_usd") or 0)
    unpriced = int(usage.get("unpriced") or 0)
    if not unpriced:
        return f"~{usd(cost)}"
    return f"≥{usd(cost)} (no price known for {unpriced} interaction(s))" if cost else "cost not estimated"


def usage_line(
    turn: Mapping[str, int | float], conversation: Mapping[str, int | float] | None = None
) -> str | None:
    """The footer part for usage: "1,234 tokens · ~$0.0021 (conversation ~$0.0150)"; None if none."""
    if not turn:
        return None
    line = f"{int(turn.get('total_tokens') or 0):,} tokens · {cost_text(turn)}"
    if conversation:
        line += f" (conversation {cost_text(conversation)})"
    return line


def register(server: MCPServer[Any], latest: LatestWiring) -> None:
    @server.resource(
        USAGE_URI,
        name="usage",
        description="Your Gemini use today and over the last 30 days, by model: tokens and estimated USD, "
        "and your limits.",
        mime_type="application/json",
    )
    async def usage() -> str:
        services = await latest.services()
        report = await services.usage.report(principal())
        limits = services.limits.describe(report.today.total)
        return report.model_copy(update={"limits": limits}).model_dump_json(indent=1)
