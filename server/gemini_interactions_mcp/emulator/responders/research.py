"""Deep Research agents: a long background run that thinks aloud, then writes a cited report.

Thought summaries finish at evenly spaced moments over `research_seconds`, so a poller sees progress
grow; the report is one markdown text block whose sentences carry url_citation annotations. With
collaborative planning the first turn only proposes a plan and the next turn does the research.
"""

from __future__ import annotations

from ..plan import JSON, Run, sequential
from ..text import newest_user_text, parse_think, tokens, user_texts
from .common import CitedText, TurnContext, input_tokens, model_output, thought, usage

AGENTS = frozenset(
    {
        "deep-research-preview-04-2026",
        "deep-research-max-preview-04-2026",
        "deep-research-pro-preview-12-2025",
    }
)
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
    report = _report(topic, ctx.request.name)
    steps.append(model_output(report.block()))
    run_usage = usage(
        input_tokens(ctx) + 2000,
        tokens(report.text),
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
        asked = user_texts(ctx.history)
        if asked:
            return parse_think(asked[-1])[1]
    return prompt or "the requested topic"


def _progress(topic: str) -> list[str]:
    short = topic[:80]
    return [
        f"**Scoping the question**\n\nIdentifying what matters about {short}.",
        "**Searching sources**\n\nLooking for background and recent analyses.",
        "**Reading and comparing**\n\nCross-checking claims between sources.",
        "**Drafting the report**\n\nOrganising findings into sections.",
    ]


def _report(topic: str, agent: str) -> CitedText:
    report = CitedText()
    report.add(f"# Research report: {topic}\n\n## Summary\n")
    report.add(f"This report on {topic} was produced by the emulated agent {agent}. ")
    report.add(
        "Background sources describe the topic in general terms.", url=_SOURCES[0][0], title=_SOURCES[0][1]
    )
    report.add("\n\n## Findings\n\n### Background\n")
    report.add(
        "A survey of the literature identifies the main themes.", url=_SOURCES[1][0], title=_SOURCES[1][1]
    )
    report.add("\n\n### Recent developments\n")
    report.add("Recent analyses point to continuing change.", url=_SOURCES[2][0], title=_SOURCES[2][1])
    report.add("\n\n## Sources\n")
    for i, (url, title) in enumerate(_SOURCES, start=1):
        report.add(f"{i}. [{title}]({url})\n")
    return report
