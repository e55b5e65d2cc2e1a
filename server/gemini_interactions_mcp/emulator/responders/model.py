"""The deterministic model: answers reveal the state the emulator saw, so client tests can verify it.

An answer names the model, repeats the system instruction, counts the turns of the chain, recalls
"my X is Y" facts, and reports tool results, which makes lost history or dropped settings visible in a
plain string comparison.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .. import references
from ..ids import call_id
from ..plan import JSON, Run, sequential
from ..schema_gen import instance
from ..text import (
    asked_keys,
    facts,
    is_blocked,
    newest_user_text,
    parse_think,
    tokens,
    urls,
    user_texts,
)
from . import calls
from .common import CitedText, TurnContext, input_tokens, thought, tool_pair, usage

Finding = tuple[str, str | None, str | None]
"""A sentence a server tool contributes to the answer, with the URL it cites (if any)."""


def respond(ctx: TurnContext) -> Run:
    """Plan the output of one model turn."""
    req = ctx.request
    think, prompt = parse_think(newest_user_text(req.input_steps))
    duration = think if think is not None else ctx.config.model_seconds
    if is_blocked(prompt):
        blocked: JSON = {
            "type": "model_output",
            "error": {"code": 3, "message": "The response was blocked by safety filters (SAFETY)."},
        }
        return Run(sequential([blocked], duration), duration, "failed", usage(input_tokens(ctx), 0, 0))
    tool_calls = calls.plan(req.tools, prompt, req.input_steps)
    prompt = tool_calls.prompt
    steps: list[JSON] = []
    if req.generation_config.get("thinking_summaries") == "auto":
        count = 1 if think is None else max(1, min(5, math.ceil(think)))
        steps.extend(thought(s) for s in _summaries(prompt, count))
    elif thinks(req.name):
        steps.append(thought())
    thought_tokens = 40 + 20 * len(steps) + int(30 * (think or 0))
    if tool_calls.undeclared:
        return calls.undeclared_run(steps, tool_calls.undeclared, duration, usage(input_tokens(ctx), 0, 0))
    steps.extend(tool_calls.mcp_steps)
    if tool_calls.functions:
        steps.extend(tool_calls.functions)
        out = sum(tokens(json.dumps(c["arguments"])) + 5 for c in tool_calls.functions)
        return Run(
            sequential(steps, duration),
            duration,
            "requires_action",
            usage(input_tokens(ctx), out, thought_tokens, tool_use_count=30 * len(tool_calls.mcp_steps)),
        )
    server_steps, findings = _server_tools(req.tools, prompt)
    steps.extend(server_steps)
    findings = [(line, None, None) for line in tool_calls.mcp_results] + findings
    tool_steps = tool_calls.mcp_steps + server_steps
    cited: list[JSON] = []
    if _has(req.tools, "file_search"):
        search_steps, found = references.search(ctx.documents, prompt, references.top_k(req.tools))
        steps.extend(search_steps)
        cited.append(found)
    schema = _json_schema(req.response_format)
    if schema is not None:
        block: JSON = {"type": "text", "text": json.dumps(instance(schema), ensure_ascii=False)}
    else:
        block = _compose(ctx, prompt, findings).block()
    steps.append({"type": "model_output", "content": [block, *cited]})
    run_usage = usage(
        input_tokens(ctx),
        tokens(block["text"] + "".join(c["text"] for c in cited)),
        thought_tokens,
        tool_use_count=30 * len(tool_steps),
        grounding=[{"type": "google_search", "count": 1}] if _has(req.tools, "google_search") else None,
    )
    return Run(sequential(steps, duration), duration, "completed", run_usage)


def _compose(ctx: TurnContext, prompt: str, findings: list[Finding]) -> CitedText:
    """The visible-state answer: model, instruction, turn, function results, facts, echo, tool findings."""
    req = ctx.request
    lines = [f"[{req.name}] Emulated answer."]
    if ctx.system_instruction:
        lines.append(f"Following your instruction: {ctx.system_instruction}")
    lines.append(f"This is turn {ctx.turn} of our conversation.")
    lines += calls.result_lines(ctx.history, req.input_steps)
    asked = asked_keys(prompt)
    known = {**ctx.history.facts, **facts(user_texts(req.input_steps))} if asked else {}
    for key in asked:
        lines.append(f"Your {key} is {known[key]}." if key in known else f"I don't know your {key} yet.")
    for key, value in facts([prompt]).items():
        lines.append(f"Noted: your {key} is {value}.")
    if prompt:
        lines.append(f'You said: "{prompt}"')
    answer = CitedText()
    answer.add("\n".join(lines))
    for text, url, title in findings:
        answer.add("\n")
        answer.add(text, url=url, title=title)
    return answer


def thinks(model: str) -> bool:
    """Gemini text models think on every turn, and always return the thought's signature (its summary
    only on request); speech, music and open Gemma models do not."""
    return model.startswith("gemini-") and not any(k in model for k in ("tts", "lyria", "transcribe"))


def _summaries(prompt: str, count: int) -> list[str]:
    topic = prompt[:80] or "the request"
    base = [
        f"**Understanding the request**\n\nThe user asked about: {topic}",
        "**Recalling the conversation**\n\nChecking earlier turns for relevant facts.",
        "**Planning the answer**\n\nDeciding which details matter most.",
        "**Checking the details**\n\nVerifying the answer is consistent.",
        "**Finalising**\n\nWriting the response.",
    ]
    return base[:count]


def _server_tools(tools: list[JSON], prompt: str) -> tuple[list[JSON], list[Finding]]:
    """`*_call`/`*_result` steps for the declared server tools, and what each adds to the answer."""
    steps: list[JSON] = []
    findings: list[Finding] = []
    query = prompt[:100] or "query"
    if _has(tools, "google_search"):
        result = [{"search_suggestions": f"<div class='search'>{query}</div>"}]
        steps += tool_pair("google_search", call_id(), {"queries": [query]}, result, search_type="web_search")
        url = "https://example.org/search-result"
        findings.append((f'Search found a page about "{query}".', url, "Example search result"))
    if _has(tools, "code_execution"):
        code = f"text = {prompt!r}\nprint(len(text.split()))"
        output = f"{len(prompt.split())}\n"
        steps += tool_pair("code_execution", call_id(), {"code": code, "language": "python"}, output)
        findings.append((f"The code printed {output.strip()}.", None, None))
    if _has(tools, "url_context"):
        found = urls(prompt) or ["https://example.com/"]
        result = [{"url": u, "status": "success"} for u in found]
        steps += tool_pair("url_context", call_id(), {"urls": found}, result)
        findings.append((f"I read {len(found)} page(s): {', '.join(found)}.", None, None))
    return steps, findings


def _json_schema(response_format: Any) -> Any:
    items = response_format if isinstance(response_format, list) else [response_format]
    for item in items:
        if (
            isinstance(item, dict)
            and item.get("type") == "text"
            and item.get("mime_type") == "application/json"
        ):
            return item.get("schema", {"type": "object"})
    return None


def _has(tools: list[JSON], kind: str) -> bool:
    return any(t.get("type") == kind for t in tools)
