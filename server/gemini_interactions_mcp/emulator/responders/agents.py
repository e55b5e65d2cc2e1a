"""Managed agents (Antigravity and custom agents built on it): work inside a sandbox environment.

Each run writes a note file into its environment and lists the workspace, so a later turn that reuses
the environment id visibly sees the files of earlier turns. Agents call the interaction's tools as the
model does (`[[call NAME {...}]]`, services/calls.py): functions stop the run in `requires_action`,
and the run that receives their results quotes them.
"""

from __future__ import annotations

import shlex

from ..ids import call_id
from ..plan import JSON, Run, sequential
from ..text import newest_user_text, parse_think, tokens
from . import calls
from .common import TurnContext, input_tokens, model_output, thought, tool_pair, usage

AGENTS = frozenset({"antigravity-preview-05-2026", "antigravity-preview-09-2026"})


def note_path(turn: int) -> str:
    """The file a run at this turn writes (the service records it in the environment)."""
    return f"notes/turn-{turn}.txt"


def respond(ctx: TurnContext) -> Run:
    """Think, run one shell command in the environment, then summarise."""
    _, prompt = parse_think(newest_user_text(ctx.request.input_steps))
    tool_calls = calls.plan(ctx.request.tools, prompt, ctx.request.input_steps)
    task = tool_calls.prompt or "the task"
    duration = ctx.config.agent_seconds
    planning = thought(f"**Planning the work**\n\nBreaking down: {task[:80]}")
    if tool_calls.undeclared:
        failed_usage = usage(input_tokens(ctx), 0, 0)
        return calls.undeclared_run([planning], tool_calls.undeclared, duration, failed_usage)
    if tool_calls.functions:
        asking = [planning, *tool_calls.mcp_steps, *tool_calls.functions]
        asked = usage(input_tokens(ctx), 5 * len(tool_calls.functions), 60)
        return Run(sequential(asking, duration), duration, "requires_action", asked)
    path = note_path(ctx.turn)
    code = f"mkdir -p notes && echo {shlex.quote(task)} > {path} && ls notes"
    listing = "\n".join(sorted(f.removeprefix("notes/") for f in ctx.environment_files)) + "\n"
    lines = [f"[{ctx.request.name}] Emulated agent run in environment {ctx.environment_id}."]
    if ctx.system_instruction:
        lines.append(f"Following your instruction: {ctx.system_instruction}")
    lines += [
        f"This is turn {ctx.turn} of our conversation.",
        f"Task: {task}",
        f"Wrote {path}; the environment now holds {len(ctx.environment_files)} note file(s).",
        *calls.result_lines(ctx.history, ctx.request.input_steps),
        *tool_calls.mcp_results,
    ]
    summary = "\n".join(lines)
    steps: list[JSON] = [planning, *tool_calls.mcp_steps]
    steps += tool_pair("code_execution", call_id(), {"code": code, "language": "bash"}, listing)
    steps.append(model_output({"type": "text", "text": summary}))
    run_usage = usage(input_tokens(ctx), tokens(summary), 120, tool_use_count=tokens(code + listing))
    written = {f"workspace/{path}": task + "\n"}
    return Run(sequential(steps, duration), duration, "completed", run_usage, notes={"files": written})
