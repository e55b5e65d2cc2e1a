"""A finished interaction as markdown: the answer or report, its sources, and a short tool summary.

The report is the whole output in order: every text block, and each chart or image (saved as media by
the caller) linked where it stood, `![chart 1](gemini://media/…)` plus the saved path. Deep Research
marks its sources with `url_citation` annotations, File Search with `file_citation`; they become a
numbered "Sources" list so the report reads on its own (as a resource or in pages of a poll). Tool
steps (code execution, searches) are summarised in a line each instead of dumped.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from gemini_interactions_mcp.gemini import Interaction
from gemini_interactions_mcp.services.outputs import answer_blocks
from gemini_interactions_mcp.services.results import AnswerPart, Citation, SavedMedia

SUMMARY_LIMIT = 160


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
    """Unique sources of the output, in order of first appearance: web pages (`url_citation`) and
    documents of File Search stores (`file_citation`, by document)."""
    seen: dict[str, Citation] = {}
    for step in steps:
        for block in step.get("content") or []:
            for annotation in block.get("annotations") or [] if isinstance(block, dict) else []:
                kind = annotation.get("type")
                if kind == "url_citation":
                    url = annotation.get("url")
                    title = annotation.get("title") or url
                elif kind == "file_citation":
                    url = annotation.get("document_uri") or annotation.get("source")
                    title = annotation.get("file_name") or url
                else:
                    continue
                if url and url not in seen:
                    seen[url] = Citation(title=title, url=url)
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


def text_parts(interaction: Interaction) -> list[AnswerPart]:
    """The answer's parts without saving anything: its media are named, not linked."""
    return [
        AnswerPart(text=str(b.get("text") or "") if b.get("type") == "text" else f"\n\n[{b.get('type')}]\n\n")
        for b in answer_blocks(interaction.steps)
    ]


def media_markdown(media: SavedMedia, label: str) -> str:
    """A saved file where it stood in the report: an image inline, audio as a link, plus its path."""
    link = f"![{label}]({media.uri})" if media.kind == "image" else f"[{label}]({media.uri})"
    saved = f"\n*Saved to `{media.path}`*" if media.path else ""
    return f"\n\n{link}{saved}\n\n"


def render_report(interaction: Interaction, parts: list[AnswerPart] | None = None) -> Report:
    """The report in order; `parts` are the answer with its media saved (see MediaLibrary)."""
    steps = [_dump(s) for s in interaction.steps or []]
    noun = {"image": "chart" if interaction.agent else "image", "audio": "audio", "video": "video"}
    counts: dict[str, int] = {}
    body: list[str] = []
    for part in parts if parts is not None else text_parts(interaction):
        if part.media is None:
            body.append(part.text or "")
            continue
        kind = part.media.kind
        counts[kind] = counts.get(kind, 0) + 1
        body.append(media_markdown(part.media, f"{noun[kind]} {counts[kind]}"))
    text = re.sub(r"\n{3,}", "\n\n", "".join(body))
    citations = citations_of(steps)
    tools = summarise_tools(steps)
    parts_md = [text.strip()]
    missing = [c for c in citations if c.url not in text]
    if missing:
        heading = "## More sources" if "## Sources" in text else "## Sources"
        parts_md.append(
            heading + "\n" + "\n".join(f"{i}. [{c.title}]({c.url})" for i, c in enumerate(missing, 1))
        )
    if tools:
        parts_md.append("Tool steps:\n" + "\n".join(f"- {line}" for line in tools))
    return Report(markdown="\n\n".join(p for p in parts_md if p), citations=citations)
