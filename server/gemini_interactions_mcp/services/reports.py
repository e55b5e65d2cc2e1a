"""A finished interaction as markdown: the answer or report, its sources, and a short tool summary.

Deep Research marks its sources with `url_citation` annotations on the report's text; they become a
numbered "Sources" list so the report reads on its own (as a resource or in pages of a poll). Tool
steps (code execution, searches) are summarised in a line each instead of dumped.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gemini_interactions_mcp.gemini import Interaction, output_text

SUMMARY_LIMIT = 160


class Citation(BaseModel):
    title: str
    url: str


class Report(BaseModel):
    markdown: str
    citations: list[Citation]


def _dump(obj: Any) -> dict[str, Any]:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", exclude_none=True)
    return dict(obj) if isinstance(obj, dict) else {}


def headline(text: str, limit: int = 200) -> str:
    """The first non-empty line of a note (thought summaries start with a bold title), cut to `limit`."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _short(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= SUMMARY_LIMIT else flat[: SUMMARY_LIMIT - 1] + "…"


def citations_of(steps: list[dict[str, Any]]) -> list[Citation]:
    """Unique url_citation sources of the output, in order of first appearance."""
    seen: dict[str, Citation] = {}
    for step in steps:
        for block in step.get("content") or []:
            for annotation in block.get("annotations") or [] if isinstance(block, dict) else []:
                url = annotation.get("url")
                if annotation.get("type") == "url_citation" and url and url not in seen:
                    seen[url] = Citation(title=annotation.get("title") or url, url=url)
    return list(seen.values())


def summarise_tools(steps: list[dict[str, Any]]) -> list[str]:
    """One line per server-side tool call: what ran, and whether it worked."""
    lines: list[str] = []
    for step in steps:
        kind = step.get("type", "")
        args = step.get("arguments") or {}
        if kind == "code_execution_call":
            lines.append(f"ran {args.get('language') or 'python'}: {_short(args.get('code') or '')}")
        elif kind == "code_execution_result":
            outcome = f"{'error' if step.get('is_error') else 'ok'}: {_short(str(step.get('result') or ''))}"
            if lines and lines[-1].startswith("ran "):
                lines[-1] += f" → {outcome}"
            else:
                lines.append(f"code result → {outcome}")
        elif kind == "google_search_call":
            lines.append(f"searched: {', '.join(args.get('queries') or [])}")
        elif kind == "url_context_call":
            lines.append(f"read: {', '.join(args.get('urls') or [])}")
        elif kind == "mcp_server_tool_call":
            lines.append(f"called {step.get('server_name')}.{step.get('name')}")
        elif kind == "function_call":
            lines.append(f"requested function {step.get('name')}({_short(str(args))})")
    return lines


def render_report(interaction: Interaction) -> Report:
    steps = [_dump(s) for s in interaction.steps or []]
    text = output_text(interaction.steps or []) or ""
    citations = citations_of(steps)
    tools = summarise_tools(steps)
    parts = [text.strip()]
    if citations and "## Sources" not in text:
        parts.append(
            "## Sources\n" + "\n".join(f"{i}. [{c.title}]({c.url})" for i, c in enumerate(citations, 1))
        )
    if tools:
        parts.append("Tool steps:\n" + "\n".join(f"- {line}" for line in tools))
    return Report(markdown="\n\n".join(p for p in parts if p), citations=citations)
