"""The SSE event timeline of an interaction (section 8), and its wire framing.

Events are derived from the run plan, each stamped with the moment it happens; a stream sends those
whose moment has passed and waits for the rest. Because the list is a pure function of the plan (and
of a cancellation, which only cuts and appends), event ids are stable and resumption replays exactly
the events after `last_event_id`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import views
from .media import block_deltas
from .plan import JSON, PlannedStep
from .store import InteractionRecord

_TEXT_CHUNK = 48


@dataclass(frozen=True, slots=True)
class Timeline:
    """An interaction's stream in wire form: event `i` happens `at[i]` seconds after creation, has type
    `types[i]`, carries `ids[i]` as its `event_id` (None on streams that carry no ids: non-background
    requests, like the real service) and is sent as `frames[i]`.

    Each payload is serialised once, when the timeline is built, and not kept: every stream of the
    interaction (the first, resumptions, replays) sends the same bytes. Tuples of plain values are also
    what a stored interaction keeps cheapest: the garbage collector stops tracking them, where a dozen
    event objects and their payload dicts per stored interaction made every full collection longer.
    """

    at: tuple[float, ...]
    types: tuple[str, ...]
    ids: tuple[str | None, ...]
    frames: tuple[bytes, ...]

    def __len__(self) -> int:
        return len(self.frames)


_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""`json.dumps(..., ensure_ascii=False, separators=(",", ":"))` without building an encoder per call."""
DONE_FRAME = b"event: done\ndata: [DONE]\n\n"
_STEP_ONLY_FIELDS = ("search_type",)
_MCP_STEPS = ("mcp_server_tool_call", "mcp_server_tool_result")


def timeline(rec: InteractionRecord) -> Timeline:
    """Every event of the interaction in order (cut short and closed if it was cancelled).

    Computed once and kept on the record: a stream reads it for every event it sends, and the list
    only changes when a cancellation cuts it.
    """
    cached = rec.timeline_cache
    if cached is not None and cached[0] == rec.cancelled_at:
        events: Timeline = cached[1]
        return events
    events = _timeline(rec)
    rec.timeline_cache = (rec.cancelled_at, events)
    return events


def _timeline(rec: InteractionRecord) -> Timeline:
    status_update: JSON = {"event_type": "interaction.status_update", "interaction_id": rec.public_id}
    raw: list[tuple[float, JSON]] = [
        (0.0, {"event_type": "interaction.created", "interaction": views.header(rec, 0.0, "in_progress")}),
        (0.0, {**status_update, "status": "in_progress"}),
    ]
    for index, planned in enumerate(rec.run.steps):
        raw += _step_events(index, planned)
    end = rec.finish_offset()
    if end < rec.run.duration:
        raw = [(at, p) for at, p in raw if at <= end]
        raw += _close_open_step(raw, end)
        raw.append((end, {**status_update, "status": "cancelled"}))
    raw.append((end, {"event_type": "interaction.completed", "interaction": views.completed(rec, end)}))
    ids = [f"evt_{i:04d}" if rec.event_ids else None for i in range(len(raw))]
    frames: list[bytes] = []
    for (_, payload), event_id in zip(raw, ids, strict=True):
        if event_id is not None:
            payload["event_id"] = event_id  # each payload here is a fresh dict of its own
        frames.append(f"event: {payload['event_type']}\ndata: {_to_json(payload)}\n\n".encode())
    return Timeline(
        at=tuple(at for at, _ in raw),
        types=tuple(payload["event_type"] for _, payload in raw),
        ids=tuple(ids),
        frames=tuple(frames),
    )


def _step_events(index: int, planned: PlannedStep) -> list[tuple[float, JSON]]:
    shell, deltas = split_step(planned.step)
    times = [
        planned.start + (planned.end - planned.start) * (i + 1) / (len(deltas) + 1)
        for i in range(len(deltas))
    ]
    out: list[tuple[float, JSON]] = [
        (planned.start, {"event_type": "step.start", "index": index, "step": shell})
    ]
    out += [
        (at, {"event_type": "step.delta", "index": index, "delta": d})
        for at, d in zip(times, deltas, strict=True)
    ]
    out.append((planned.end, {"event_type": "step.stop", "index": index}))
    return out


def _close_open_step(raw: list[tuple[float, JSON]], end: float) -> list[tuple[float, JSON]]:
    open_index: Any = None
    for _, payload in raw:
        if payload["event_type"] == "step.start":
            open_index = payload["index"]
        elif payload["event_type"] == "step.stop":
            open_index = None
    return [] if open_index is None else [(end, {"event_type": "step.stop", "index": open_index})]


def split_step(step: JSON) -> tuple[JSON, list[JSON]]:
    """A step as a `step.start` shell plus the `step.delta` payloads that complete it."""
    kind = step["type"]
    if kind == "model_output":
        deltas: list[JSON] = []
        for block in step.get("content", []):
            if block.get("type") == "text":
                text = block["text"]
                deltas += [
                    {"type": "text", "text": text[i : i + _TEXT_CHUNK]}
                    for i in range(0, len(text), _TEXT_CHUNK)
                ]
                if block.get("annotations"):
                    deltas.append({"type": "text_annotation_delta", "annotations": block["annotations"]})
            else:
                deltas += block_deltas(block)
        shell: JSON = {"type": "model_output"}
        if "error" in step:
            shell["error"] = step["error"]
        return shell, deltas
    if kind == "thought":
        deltas = [{"type": "thought_summary", "content": block} for block in step.get("summary", [])]
        deltas.append({"type": "thought_signature", "signature": step.get("signature", "")})
        return {"type": "thought"}, deltas
    if kind == "function_call":
        args = json.dumps(step["arguments"])
        half = len(args) // 2
        pieces = [p for p in (args[:half], args[half:]) if p]
        shell = {"type": "function_call", "id": step["id"], "name": step["name"], "arguments": {}}
        return shell, [{"type": "arguments_delta", "arguments": p} for p in pieces]
    if kind in _MCP_STEPS:
        # Like a function call: the shell names the tool (arguments empty), the delta carries it all.
        key = "id" if kind == "mcp_server_tool_call" else "call_id"
        shell = {"type": kind, key: step[key], "name": step["name"], "server_name": step["server_name"]}
        if kind == "mcp_server_tool_call":
            shell["arguments"] = {}
        return shell, [{k: v for k, v in step.items() if k != key}]
    key = "id" if "id" in step else "call_id"
    # Step-only fields (e.g. a search call's `search_type`) ride on the shell: deltas carry payloads.
    shell = {"type": kind, key: step[key], "signature": ""}
    shell.update({k: step[k] for k in _STEP_ONLY_FIELDS if k in step})
    delta = {k: v for k, v in step.items() if k not in (key, *_STEP_ONLY_FIELDS)}
    return shell, [delta]
