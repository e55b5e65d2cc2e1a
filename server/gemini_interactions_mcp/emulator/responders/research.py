"""Deep Research agents: a long background run that thinks aloud, then writes a cited report.

Thought summaries finish at evenly spaced moments over `research_seconds`, so a poller sees progress
grow; the report is markdown whose sentences carry url_citation annotations. With collaborative
planning the first turn only proposes a plan and the next turn does the research.

Visuals follow the documented rule: `visualization` defaults to `auto`, and charts appear only when the
question asks for them. The report is then one model_output whose text blocks alternate with chart
images (text, chart, text, chart, text), each block's citations indexed within that block.
"""

from __future__ import annotations

import re

from .. import media, references
from ..plan import JSON, Run, sequential
from ..text import newest_user_text, parse_think, tokens
from .common import CitedText, TurnContext, input_tokens, model_output, thought, usage

AGENTS = frozenset(
    {
        "deep-research-preview-04-2026",
        "deep-research-max-preview-04-2026",
        "deep-research-pro-preview-12-2025",
    }
)
_ASKS_FOR_VISUALS = re.compile(r"\b(charts?|graphs?|plots?|visuali[sz]\w*|diagrams?|figures?)\b", re.I)
_CHART_VALUES = ((3.0, 5.0, 2.0, 8.0), (1.0, 2.5, 4.0, 6.5, 7.0))
CHART_TOKENS = 1120
_SOURCES = (
    ("https://en.wikipedia.org/wiki/Special:Search", "Encyclopedia overview"),
    ("https://scholar.example.org/papers/1", "Peer-reviewed survey"),
    ("https://news.example.com/analysis", "Recent analysis"),
)


def respond(ctx: TurnContext) -> Run:
    """A plan turn (collaborative planning) or a full research run."""
    config = ctx.request.agent_config or {}
    _, prompt = parse_think(newest_user_text(ctx.request.input_steps))
    if config.get("collaborative_planning") is True and ctx.previous_kind != "plan":
        return _plan(ctx, prompt)
    topic = _topic(ctx, prompt)
    duration = ctx.config.research_seconds
    steps: list[JSON] = []
    if config.get("thinking_summaries", "auto") != "none":
        steps += [thought(text) for text in _progress(topic)]
    sections = _report(topic, ctx.request.name)
    charts = config.get("visualization", "auto") != "off" and _ASKS_FOR_VISUALS.search(prompt) is not None
    content = _with_charts(sections) if charts else [_cited([p for s in sections for p in s])]
    if any(t.get("type") == "file_search" for t in ctx.request.tools):
        search_steps, found = references.search(ctx.documents, topic, references.top_k(ctx.request.tools))
        steps += search_steps
        content.insert(1, found)
    steps.append({"type": "model_output", "content": content})
    run_usage = usage(
        input_tokens(ctx) + 2000,
        sum(tokens(b.get("text", "")) for b in content) + CHART_TOKENS * (len(content) // 2),
        thought_count=1500,
        tool_use_count=4000,
        grounding=[{"type": "google_search", "count": len(_SOURCES)}],
    )
    return Run(sequential(steps, duration), duration, "completed", run_usage)


def _plan(ctx: TurnContext, prompt: str) -> Run:
    lines = [
        f"Here is my research plan for: {prompt}",
        "1. Survey background sources.",
        "2. Compare recent analyses.",
        "3. Summarise findings with citations.",
        "Reply to approve this plan or tell me what to change.",
    ]
    text = "\n".join(lines)
    duration = ctx.config.research_seconds / 4
    steps = [
        thought(f"**Planning**\n\nBreaking down the question: {prompt[:80]}"),
        model_output({"type": "text", "text": text}),
    ]
    return Run(
        sequential(steps, duration),
        duration,
        "completed",
        usage(input_tokens(ctx), tokens(text), 200),
        kind="plan",
    )


def _topic(ctx: TurnContext, prompt: str) -> str:
    """The research question: after a plan, the question the plan was made for."""
    if ctx.previous_kind == "plan":
        asked = ctx.history.newest_user_text()
        if asked is not None:
            return parse_think(asked)[1]
    return prompt or "the requested topic"


def _progress(topic: str) -> list[str]:
    short = topic[:80]
    return [
        f"**Scoping the question**\n\nIdentifying what matters about {short}.",
        "**Searching sources**\n\nLooking for background and recent analyses.",
        "**Reading and comparing**\n\nCross-checking claims between sources.",
        "**Drafting the report**\n\nOrganising findings into sections.",
    ]


Piece = tuple[str, str | None, str | None]
"""A run of report text and the source (URL, title) it cites, if any."""


def _report(topic: str, agent: str) -> list[list[Piece]]:
    """The report in three sections: summary and background; recent developments; sources."""
    opening: list[Piece] = [
        (f"# Research report: {topic}\n\n## Summary\n", None, None),
        (f"This report on {topic} was produced by the emulated agent {agent}. ", None, None),
        ("Background sources describe the topic in general terms.", *_SOURCES[0]),
        ("\n\n## Findings\n\n### Background\n", None, None),
        ("A survey of the literature identifies the main themes.", *_SOURCES[1]),
    ]
    developments: list[Piece] = [
        ("\n\n### Recent developments\n", None, None),
        ("Recent analyses point to continuing change.", *_SOURCES[2]),
    ]
    sources: list[Piece] = [("\n\n## Sources\n", None, None)]
    sources += [(f"{i}. [{title}]({url})\n", None, None) for i, (url, title) in enumerate(_SOURCES, start=1)]
    return [opening, developments, sources]


def _cited(pieces: list[Piece]) -> JSON:
    """One text block with url_citation annotations indexed within it."""
    text = CitedText()
    for part, url, title in pieces:
        text.add(part, url=url, title=title)
    return text.block()


def _with_charts(sections: list[list[Piece]]) -> list[JSON]:
    """Text blocks with a chart after each but the last: text, chart, text, chart, text."""
    content: list[JSON] = []
    for i, section in enumerate(sections):
        if i:
            content.append(media.image_block(media.bar_chart(_CHART_VALUES[(i - 1) % len(_CHART_VALUES)])))
        content.append(_cited(section))
    return content
