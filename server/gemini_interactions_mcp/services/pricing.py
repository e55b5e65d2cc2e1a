"""Prices (as catalog data) and the arithmetic that turns one interaction's usage into an estimated cost.

Prices live in `catalog.json` next to the models they belong to, each with where it came from and when
it was taken, so a price change is a reviewed data change. This module holds their schema and the
arithmetic only; it never guesses a price: a model or agent without one is reported as not estimated.

The arithmetic, per interaction (USD per 1M tokens, paid tier, at the interaction's service tier):
- input: each input modality at its own rate (audio may differ), plus tool-use prompt tokens (search
  results fed back to the model) at the text input rate; cached tokens are charged as plain input,
  since no cached-input price for Gemini 3.x was found (an upper bound);
- output: text output and thinking at the output rate, image and audio output at their own rates;
- a prompt above `long_context.above_tokens` moves both to the long-context rates;
- Google Search grounding: each search query the model ran, at the per-query price (the monthly free
  allowance is shared by the whole project and unknown here, so it is not subtracted);
- agents priced per run (Deep Research) count their documented per-task range's upper end for a
  completed run; its token and search use is already inside that figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

PER_MILLION = 1_000_000
PER_THOUSAND = 1_000
TEXT = "text"


class _PriceData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(_PriceData):
    """Where a price came from and when it was read (ISO date, or year-month when only that is known)."""

    source: str
    taken: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")


class LongContext(_PriceData):
    """Higher rates once a prompt's input exceeds `above_tokens` (Gemini 3.1 Pro: 200k)."""

    above_tokens: int = Field(gt=0)
    input: float = Field(ge=0)
    output: float = Field(ge=0)


class ModelPrice(Provenance):
    """USD per 1M tokens. `free`: the API charges nothing for this model (Gemma on the Gemini API)."""

    input: float = Field(0.0, ge=0)
    output: float = Field(0.0, ge=0)
    """Text output and thinking."""
    input_by_modality: dict[str, float] = Field(default_factory=dict)
    """Rates that differ from `input` for one modality (e.g. audio)."""
    output_by_modality: dict[str, float] = Field(default_factory=dict)
    """Rates of non-text output (image, audio tokens)."""
    long_context: LongContext | None = None
    free: bool = False

    def summary(self) -> str:
        """The price in a few words, for the model catalog page."""
        if self.free:
            return "free"
        extras = [f"{m} in ${r:.2f}" for m, r in self.input_by_modality.items()]
        extras += [f"{m} out ${r:.2f}" for m, r in self.output_by_modality.items()]
        if self.long_context is not None:
            long = self.long_context
            extras.append(f"${long.input:.2f}/${long.output:.2f} over {long.above_tokens // 1000}k input")
        more = f" ({', '.join(extras)})" if extras else ""
        return f"${self.input:.2f} in / ${self.output:.2f} out per 1M tokens{more}"


class RunPrice(Provenance):
    """An agent billed as a whole run: the documented range of one task, in USD."""

    per_run_usd: tuple[float, float]

    def summary(self) -> str:
        low, high = self.per_run_usd
        return f"~${low:g}-{high:g} per task"


class SearchPrice(Provenance):
    per_thousand_queries: float = Field(ge=0)
    free_queries_per_month: int = Field(0, ge=0)


class TierPrices(Provenance):
    """Price multipliers per `service_tier` (standard 1.0)."""

    multipliers: dict[str, float]


class Pricing(_PriceData):
    """The catalog's prices that are not a single model's: search grounding and service tiers."""

    search: SearchPrice
    tiers: TierPrices


class Metered(NamedTuple):
    """What one interaction used, as the arithmetic needs it (counts straight from the API's usage).

    A named tuple: as immutable as a frozen dataclass, and made in a quarter of its time (every turn
    makes one: 2.1 -> 0.5 µs)."""

    input_by_modality: Mapping[str, int]
    output_by_modality: Mapping[str, int]
    """Non-text output only (image, audio); text output is what remains of `output_tokens`."""
    input_tokens: int = 0
    output_tokens: int = 0
    thought_tokens: int = 0
    tool_use_tokens: int = 0
    search_queries: int = 0
    service_tier: str = "standard"
    completed: bool = True
    planning: bool = False
    """A collaborative-planning turn of an agent priced per run: not a run of its own."""


def _input_cost(price: ModelPrice, metered: Metered, input_rate: float) -> float:
    by_modality = dict(metered.input_by_modality)
    listed = sum(by_modality.values())
    rest = max(0, metered.input_tokens - listed)
    cost = rest * input_rate + metered.tool_use_tokens * input_rate
    for modality, tokens in by_modality.items():
        rate = price.input_by_modality.get(modality, input_rate) if modality != TEXT else input_rate
        cost += tokens * rate
    return cost


def _output_cost(price: ModelPrice, metered: Metered, output_rate: float) -> float:
    special = {m: t for m, t in metered.output_by_modality.items() if m != TEXT}
    text = max(0, metered.output_tokens - sum(special.values()))
    cost = (text + metered.thought_tokens) * output_rate
    for modality, tokens in special.items():
        cost += tokens * price.output_by_modality.get(modality, output_rate)
    return cost


def model_cost(price: ModelPrice, metered: Metered, pricing: Pricing) -> float:
    """The estimated USD cost of one model interaction."""
    if price.free:
        return 0.0
    input_rate, output_rate = price.input, price.output
    if price.long_context is not None and metered.input_tokens > price.long_context.above_tokens:
        input_rate, output_rate = price.long_context.input, price.long_context.output
    tokens = _input_cost(price, metered, input_rate) + _output_cost(price, metered, output_rate)
    search = metered.search_queries * pricing.search.per_thousand_queries / PER_THOUSAND
    return (tokens / PER_MILLION + search) * tier_multiplier(pricing, metered.service_tier)


def run_cost(price: RunPrice, metered: Metered, pricing: Pricing) -> float | None:
    """A per-run agent's estimate: the upper end of its range for a completed run, else not estimated."""
    if metered.planning or not metered.completed:
        return None
    return price.per_run_usd[1] * tier_multiplier(pricing, metered.service_tier)


def tier_multiplier(pricing: Pricing, tier: str | None) -> float:
    """The tier's price factor; an unknown tier is priced as standard."""
    return pricing.tiers.multipliers.get(tier or "standard", 1.0)


def estimate(price: ModelPrice | RunPrice | None, metered: Metered, pricing: Pricing) -> float | None:
    """USD for one interaction, or None when no price is known for it."""
    if isinstance(price, ModelPrice):
        return model_cost(price, metered, pricing)
    if isinstance(price, RunPrice):
        return run_cost(price, metered, pricing)
    return None
