"""Rendering records as wire JSON (the Interaction, Environment resources) at a moment in time."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from .plan import JSON
from .store import EnvironmentRecord, InteractionRecord
from .text import step_texts, tokens

NOT_ECHOED_ON_CREATE = frozenset({"tools", "response_format", "previous_interaction_id"})


def rfc3339(epoch: float) -> str:
    """RFC 3339 UTC with whole seconds, the service's timestamp format."""
    return _rfc3339_seconds(int(epoch))


@lru_cache(maxsize=64)
def _rfc3339_seconds(seconds: int) -> str:
    """Cached: every interaction payload carries two timestamps, nearly always of the current second."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def header(rec: InteractionRecord, elapsed: float, status: str | None = None) -> JSON:
    """The fields every interaction payload starts with (also used by `interaction.created`)."""
    kind, name = rec.target
    done = min(elapsed, rec.finish_offset())
    return {
        "id": rec.public_id,
        "object": "interaction",
        "status": status or rec.status_at(elapsed),
        kind: name,
        "created": rfc3339(rec.created_wall),
        "updated": rfc3339(rec.created_wall + done),
    }


def interaction(
    rec: InteractionRecord,
    elapsed: float,
    *,
    timeline: bool,
    include_input: bool = False,
    with_steps: bool = True,
    status: str | None = None,
) -> JSON:
    """The Interaction resource.

    `timeline` selects GET semantics (input steps first) over POST semantics (output steps only, and
    no echo of the request's tools, response format or previous id, as the real service answers);
    `status` overrides the computed one (a background create reports `in_progress` before any work).
    A `store: false` interaction has no id at all.
    """
    body = header(rec, elapsed, status)
    if not body["id"]:
        del body["id"]
    body.update(
        rec.echo if timeline else {k: v for k, v in rec.echo.items() if k not in NOT_ECHOED_ON_CREATE}
    )
    body["service_tier"] = rec.echo.get("service_tier", "standard")
    if rec.environment_id is not None:
        body["environment_id"] = rec.environment_id
    if with_steps:
        output = [] if status == "in_progress" else rec.output_steps_at(elapsed)
        body["steps"] = [*rec.input_steps, *output] if timeline else output
    body["usage"] = usage_at(rec, elapsed, body["status"])
    if include_input and rec.input_value is not None:
        body["input"] = rec.input_value
    return body


def completed(rec: InteractionRecord, elapsed: float) -> JSON:
    """The `interaction.completed` payload: the documented summary fields only (section 8.2), no steps
    and no echoed request settings; clients read those from the resource."""
    body = header(rec, elapsed)
    body["service_tier"] = rec.echo.get("service_tier", "standard")
    body["usage"] = usage_at(rec, elapsed, body["status"])
    return body


def usage_at(rec: InteractionRecord, elapsed: float, status: str) -> JSON:
    """Final usage once the run stopped; while running, only the input is counted so far."""
    if status not in ("in_progress", "cancelled"):
        return rec.run.usage
    counted = rec.run.usage.get("total_input_tokens", 0)
    if status == "cancelled":
        counted += sum(tokens(t) for s in rec.output_steps_at(elapsed) for t in step_texts(s))
    return {
        "total_input_tokens": rec.run.usage.get("total_input_tokens", 0),
        "total_output_tokens": counted - rec.run.usage.get("total_input_tokens", 0),
        "total_tokens": counted,
    }


def environment(env: EnvironmentRecord) -> JSON:
    """The Environment resource (section 13); sizes are int64-as-string like the service."""
    body: JSON = {
        "id": env.id,
        "status": "active",
        "created": rfc3339(env.created_wall),
        "updated": rfc3339(env.last_accessed_wall),
        "last_accessed": rfc3339(env.last_accessed_wall),
        "file_count": len(env.files),
        "size_bytes": str(64 * len(env.files)),
        "sources": env.sources,
    }
    if env.network is not None:
        body["network"] = env.network
    return body
